"""Orthogonal routing of a chart's flows: every flow is a path of horizontal and vertical segments on a
fine grid that goes around the nodes (and the labels under events), never runs along another flow
and crosses one only at a right angle; each flow leaves and enters its nodes at a port of its own.

Used by grid.flow_chart for both the SVG and the BPMN diagram (DI), so that the two agree."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

CELL = 10  # grid step in px
MARGIN = 6  # clearance around a node's box, in px
BEND = 6  # cost of a turn, in cells
PORT_OFF_CENTRE = 0.6  # cost per cell of a port away from the middle of its side
LABEL_H = 20  # text under an event

# direction index → (dx, dy)
DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))


@dataclass(frozen=True)
class Box:
    """A node as the router sees it: its box, its outline (rect, diamond, circle) and its label."""

    id: str
    shape: str
    x: float
    y: float
    w: float
    h: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def keep_out(self) -> tuple[float, float, float, float]:
        """The area no other flow may enter (the box with its clearance, and an event's label)."""
        x0, y0, x1, y1 = self.x - MARGIN, self.y - MARGIN, self.x + self.w + MARGIN, self.y + self.h + MARGIN
        if self.shape == "circle":
            x0, x1, y1 = min(x0, self.x + self.w / 2 - 34), max(x1, self.x + self.w / 2 + 34), y1 + LABEL_H
        return x0, y0, x1, y1

    def outline_point(self, px: float, py: float, direction: int) -> tuple[float, float] | None:
        """Where a line arriving from (px, py) against `direction` (the port's outward direction) meets
        the outline; None when it would miss it."""
        cx, cy = self.centre
        dx, dy = DIRS[direction]
        if dx:  # horizontal line at y = py
            off = abs(py - cy)
            half = self.h / 2
            if off > half:
                return None
            if self.shape == "diamond":
                reach = (self.w / 2) * (1 - off / half)
            elif self.shape == "circle":
                reach = math.sqrt(max(half * half - off * off, 0))
            else:
                reach = self.w / 2
            return (cx + reach * dx, py)
        off = abs(px - cx)
        half = self.w / 2
        if off > half:
            return None
        if self.shape == "diamond":
            reach = (self.h / 2) * (1 - off / half)
        elif self.shape == "circle":
            reach = math.sqrt(max(half * half - off * off, 0))
        else:
            reach = self.h / 2
        return (px, cy + reach * dy)


class Router:
    def __init__(self, boxes: list[Box], pad: float = 80):
        self.boxes = {box.id: box for box in boxes}
        areas = [box.keep_out() for box in boxes]
        self.x0 = math.floor((min(a[0] for a in areas) - pad) / CELL) * CELL
        self.y0 = math.floor((min(a[1] for a in areas) - pad) / CELL) * CELL
        self.cols = int((max(a[2] for a in areas) + pad - self.x0) / CELL) + 1
        self.rows = int((max(a[3] for a in areas) + pad - self.y0) / CELL) + 1
        self.owner: dict[tuple[int, int], str] = {}  # cell → node whose keep-out area covers it
        for box in boxes:
            ax0, ay0, ax1, ay1 = box.keep_out()
            for i in range(self.cols):
                cx = self.x0 + i * CELL
                if not ax0 <= cx <= ax1:
                    continue
                for j in range(self.rows):
                    if ay0 <= self.y0 + j * CELL <= ay1:
                        self.owner[(i, j)] = box.id
        self.horizontal: set[tuple[int, int]] = set()  # cells a flow runs through left-right
        self.vertical: set[tuple[int, int]] = set()
        self.taken: set[tuple[int, int]] = set()  # cells where a flow turns, starts or ends: no one else

    def point(self, cell: tuple[int, int]) -> tuple[float, float]:
        return self.x0 + cell[0] * CELL, self.y0 + cell[1] * CELL

    def ports(self, box: Box) -> list[tuple[tuple[int, int], int, float]]:
        """Free cells just outside the node's keep-out area, with their outward direction and a cost
        that prefers the middle of a side; an event's label side has none."""
        ports = []
        cx, cy = box.centre
        for (i, j), owner in self.owner.items():
            if owner != box.id:
                continue
            for direction, (dx, dy) in enumerate(DIRS):
                cell = (i + dx, j + dy)
                if (cell in self.owner or cell in self.taken or cell in self.horizontal or cell in self.vertical
                        or not self._inside(cell)):
                    continue
                if box.shape == "circle" and direction == 1:
                    continue
                px, py = self.point(cell)
                if box.outline_point(px, py, direction) is None:
                    continue
                off = abs(py - cy) if dx else abs(px - cx)
                weight = 3 * PORT_OFF_CENTRE if box.shape == "diamond" else PORT_OFF_CENTRE  # prefer its corners
                ports.append((cell, direction, weight * off / CELL))
        return ports

    def _inside(self, cell) -> bool:
        return 0 <= cell[0] < self.cols and 0 <= cell[1] < self.rows

    def _may_enter(self, cell, direction: int) -> bool:
        if cell in self.owner or cell in self.taken or not self._inside(cell):
            return False
        along = self.horizontal if direction % 2 == 0 else self.vertical
        return cell not in along

    def _crossing(self, cell, direction: int) -> bool:
        """The cell carries a flow across this one: go straight through, do not turn there."""
        across = self.vertical if direction % 2 == 0 else self.horizontal
        return cell in across

    def route(self, source: str, target: str) -> list[tuple[float, float]]:
        """The points of a flow from `source` to `target`, from outline to outline; the cells it uses
        are then closed to the flows routed after it."""
        source_box, target_box = self.boxes[source], self.boxes[target]
        goals = {(cell, (direction + 2) % 4): (direction, cost) for cell, direction, cost in self.ports(target_box)}
        goal_cells = {cell for cell, _direction in goals}
        tx, ty = target_box.centre
        tx, ty = (tx - self.x0) / CELL, (ty - self.y0) / CELL
        reach = (target_box.w + target_box.h) / 2 / CELL + 2 * MARGIN / CELL + 1  # from the centre to any port

        def estimate(cell) -> float:
            return max(abs(cell[0] - tx) + abs(cell[1] - ty) - reach, 0)

        frontier: list = []
        best: dict = {}
        came: dict = {}
        for cell, direction, cost in self.ports(source_box):
            if cell in goal_cells:
                continue
            state = (cell, direction)
            best[state] = cost
            came[state] = None
            heapq.heappush(frontier, (cost + estimate(cell), cost, state))
        end = None
        while frontier:
            _priority, cost, state = heapq.heappop(frontier)
            if cost > best.get(state, math.inf):
                continue
            cell, direction = state
            if state in goals:
                end = state
                break
            turns = (direction,) if self._crossing(cell, direction) else (direction, (direction + 1) % 4, (direction + 3) % 4)
            for new in turns:
                dx, dy = DIRS[new]
                nxt = (cell[0] + dx, cell[1] + dy)
                if nxt in goal_cells:
                    if (nxt, new) not in goals:
                        continue
                elif not self._may_enter(nxt, new):
                    continue
                if new != direction and (cell in self.horizontal or cell in self.vertical):
                    continue  # never turn on another flow's cell
                step = 1 + (BEND if new != direction else 0) + (goals[(nxt, new)][1] if (nxt, new) in goals else 0)
                nstate = (nxt, new)
                ncost = cost + step
                if ncost < best.get(nstate, math.inf):
                    best[nstate] = ncost
                    came[nstate] = state
                    heapq.heappush(frontier, (ncost + estimate(nxt), ncost, nstate))
        if end is None:  # no free way (a chart far denser than ours): a plain elbow rather than nothing
            (sx, sy), (ex, ey) = source_box.centre, target_box.centre
            return [(sx, sy), (sx, ey), (ex, ey)]
        states = []
        state = end
        while state is not None:
            states.append(state)
            state = came[state]
        states.reverse()
        cells = [cell for cell, _direction in states]
        self._occupy(states)
        first_cell, first_direction = states[0]
        # the start port's outward direction is the first state's direction
        start = source_box.outline_point(*self.point(first_cell), first_direction)
        last_cell, last_direction = states[-1]
        finish = target_box.outline_point(*self.point(last_cell), (last_direction + 2) % 4)
        points = [start] + [self.point(cell) for cell in cells] + [finish]
        return _corners(points)

    def _occupy(self, states) -> None:
        for index, (cell, direction) in enumerate(states):
            leaving = states[index + 1][1] if index + 1 < len(states) else direction
            for axis in (direction, leaving):
                (self.horizontal if axis % 2 == 0 else self.vertical).add(cell)
            if index == 0 or index == len(states) - 1 or leaving != direction:
                self.taken.add(cell)


def _corners(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The points where the path turns (and its two ends)."""
    kept = [points[0]]
    for index in range(1, len(points) - 1):
        (ax, ay), (bx, by), (cx, cy) = kept[-1], points[index], points[index + 1]
        if (abs(ax - bx) < 1e-6 and abs(bx - cx) < 1e-6) or (abs(ay - by) < 1e-6 and abs(by - cy) < 1e-6):
            continue
        kept.append(points[index])
    kept.append(points[-1])
    return kept
