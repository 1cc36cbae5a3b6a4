"""Charts drawn on the server as plain SVG: bar, horizontal bar, stacked bar and line.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from urllib.parse import quote
from xml.sax.saxutils import escape

from django.http import HttpResponse

PALETTE = ["#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#546e7a",
           "#c2185b", "#9e9d24"]
FONT = "Noto Sans CJK SC, Source Han Sans SC, PingFang SC, Microsoft YaHei, sans-serif"
KINDS = ("bar", "hbar", "stacked", "line")


@dataclass
class Series:
    name: str
    values: list[float]
    colour: str = ""


@dataclass
class Figure:
    """One chart's data: what the dashboard shows, the SVG draws and the download names."""

    key: str
    title: str
    kind: str
    labels: list[str]
    series: list[Series]
    unit: str = ""
    caption: str = ""
    y_max: float | None = None  # a fixed top (100 for percentages and scores); else from the data
    links: list[str] = field(default_factory=list)  # per label, a page listing what the bar counts
    # Horizontal bars of one series may also carry, per label, their own colour and the text written
    # after the bar (instead of the value), and one marked value drawn as a dashed line (a pass mark).
    colours: list[str] = field(default_factory=list)
    value_labels: list[str] = field(default_factory=list)
    reference: float | None = None
    reference_label: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown chart kind {self.kind!r}")
        for number, series in enumerate(self.series):
            series.colour = series.colour or PALETTE[number % len(PALETTE)]

    @property
    def is_empty(self) -> bool:
        if self.value_labels:  # every row says something, even at zero ("否决 0", "0/12 0%")
            return not self.labels
        return not self.labels or not any(value for series in self.series for value in series.values)

    @property
    def total(self) -> float:
        return sum(value for series in self.series for value in series.values)

    def rows(self) -> list[tuple[str, list[float]]]:
        """The data as a table (label, one value per series), for the page's accessible table view."""
        return [(label, [series.values[i] for series in self.series]) for i, label in enumerate(self.labels)]


def _text(x, y, text, *, size=12, anchor="start", colour="#333", weight="normal", extra="") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="{weight}"{extra}>{escape(str(text))}</text>')


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def _axis(peak: float, fixed: float | None = None) -> tuple[float, list[float]]:
    """The axis top and its ticks: round steps (1, 2, 2.5, 5 × 10^n; whole numbers for counts)."""
    if fixed:
        return fixed, [fixed * i / 4 for i in range(5)]
    if peak <= 0:
        return 1, [0, 1]
    rough = peak / 4
    exponent = math.floor(math.log10(rough)) if rough >= 1 else 0
    step = next(s * 10 ** exponent for s in (1, 2, 2.5, 5, 10) if s * 10 ** exponent >= rough)
    if step < 1:
        step = 1
    count = math.ceil(peak / step)
    return step * count, [step * i for i in range(count + 1)]


def _frame(figure: Figure, width: int, height: int) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(figure.title, {chr(34): "&quot;"})}" font-family="{FONT}" class="gv-svg-chart">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        _text(16, 24, figure.title, size=15, weight="bold", colour="#222"),
    ]
    if figure.caption:
        parts.append(_text(width - 12, height - 8, figure.caption, size=10, anchor="end", colour="#888"))
    return parts


def _legend(figure: Figure, x: float, y: float) -> list[str]:
    if len(figure.series) < 2:
        return []
    parts = []
    for series in figure.series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" rx="2" fill="{series.colour}"/>')
        parts.append(_text(x + 14, y, series.name, size=11))
        x += 26 + 12 * len(series.name)
    return parts


def _empty(parts: list[str], width: int, height: int) -> str:
    parts.append(_text(width / 2, height / 2, "暂无数据", size=13, anchor="middle", colour="#999"))
    parts.append("</svg>")
    return "".join(parts)


def _label_lines(label: str, room: float) -> list[str]:
    """Split a long label over two lines when it would not fit under its bar (12 px a character)."""
    fits = max(2, int(room // 12))
    if len(label) <= fits:
        return [label]
    if len(label) <= 2 * fits:
        return [label[:fits], label[fits:]]
    return [label[:fits], label[fits:2 * fits - 1] + "…"]


def _vertical(figure: Figure, width: int, height: int) -> str:
    """Grouped bars (kind "bar"), stacked bars ("stacked") or lines ("line") over the labels."""
    left, right, top, bottom = 52, 16, 70, 58
    parts = _frame(figure, width, height)
    parts += _legend(figure, left, 46)
    if figure.is_empty:
        return _empty(parts, width, height)
    plot_w, plot_h = width - left - right, height - top - bottom
    count = len(figure.labels)
    if figure.kind == "stacked":
        peak = max(sum(series.values[i] for series in figure.series) for i in range(count))
    else:
        peak = max(max(series.values) for series in figure.series)
    axis_top, ticks = _axis(peak, figure.y_max)
    for tick in ticks:
        y = top + plot_h * (1 - tick / axis_top)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(_text(left - 6, y + 4, _number(tick), size=10, anchor="end", colour="#777"))
    if figure.unit:
        parts.append(_text(left - 6, top - 10, f"（{figure.unit}）", size=10, anchor="end", colour="#777"))
    slot = plot_w / count

    def y_of(value: float) -> float:
        return top + plot_h * (1 - min(value, axis_top) / axis_top)

    if figure.kind == "line":
        for series in figure.series:
            points = [(left + slot * (i + 0.5), y_of(v)) for i, v in enumerate(series.values)]
            parts.append('<polyline fill="none" stroke="{}" stroke-width="2.5" points="{}"/>'.format(
                series.colour, " ".join(f"{x:.1f},{y:.1f}" for x, y in points)))
            for (x, y), label, value in zip(points, figure.labels, series.values, strict=True):
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{series.colour}">'
                             f'<title>{escape(series.name)} {escape(label)}：{_number(value)}{escape(figure.unit)}</title></circle>')
            if len(figure.series) == 1 or count <= 12:
                x, y = points[-1]
                parts.append(_text(x, y - 8, _number(series.values[-1]), size=10, anchor="middle", colour=series.colour))
    else:
        bar_w = min(slot * 0.62, 64) if figure.kind == "stacked" else min(slot * 0.7 / len(figure.series), 48)
        for i in range(count):
            x0 = left + slot * i + (slot - (bar_w if figure.kind == "stacked" else bar_w * len(figure.series))) / 2
            base = 0.0
            for number, series in enumerate(figure.series):
                value = series.values[i]
                if figure.kind == "stacked":
                    y1, y2 = y_of(base + value), y_of(base)
                    x = x0
                    base += value
                else:
                    y1, y2 = y_of(value), y_of(0)
                    x = x0 + bar_w * number
                if value:
                    parts.append(f'<rect x="{x:.1f}" y="{y1:.1f}" width="{bar_w:.1f}" height="{max(y2 - y1, 0.5):.1f}" '
                                 f'fill="{series.colour}"><title>{escape(figure.labels[i])} {escape(series.name)}：'
                                 f'{_number(value)}{escape(figure.unit)}</title></rect>')
                if figure.kind == "bar" and value and (len(figure.series) == 1 or bar_w >= 18):
                    parts.append(_text(x + bar_w / 2, y1 - 4, _number(value), size=10, anchor="middle", colour="#444"))
            if figure.kind == "stacked" and base:
                parts.append(_text(x0 + bar_w / 2, y_of(base) - 4, _number(base), size=10, anchor="middle", colour="#444"))
    step = max(1, math.ceil(count / max(1, plot_w // 36)))  # thin out crowded labels (e.g. 30 days)
    for i, label in enumerate(figure.labels):
        if i % step and i != count - 1:
            continue
        for line_no, line in enumerate(_label_lines(label, slot * step)):
            parts.append(_text(left + slot * (i + 0.5), top + plot_h + 16 + 13 * line_no, line, size=11, anchor="middle",
                               colour="#555"))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#999"/>')
    parts.append("</svg>")
    return "".join(parts)


def _horizontal(figure: Figure, width: int) -> str:
    """One bar per label, top to bottom (rankings, many or long names); several series stack."""
    legend = len(figure.series) > 1
    row_h, top, bottom = 22, 62 if legend else 44, 46
    label_w = min(170, 14 + 12 * max((len(label) for label in figure.labels), default=2))
    height = top + bottom + row_h * max(len(figure.labels), 2)
    left, right = label_w + 8, max(56, 10 + 11 * max((len(text) for text in figure.value_labels), default=0))
    parts = _frame(figure, width, height)
    parts += _legend(figure, left, 46)
    if figure.is_empty:
        return _empty(parts, width, height)
    plot_w = width - left - right
    sums = [sum(series.values[i] for series in figure.series) for i in range(len(figure.labels))]
    axis_top, ticks = _axis(max(sums), figure.y_max)
    for tick in ticks:
        x = left + plot_w * tick / axis_top
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - bottom}" stroke="#eeeeee"/>')
        parts.append(_text(x, height - bottom + 14, _number(tick), size=10, anchor="middle", colour="#777"))
    if figure.reference is not None:
        x = left + plot_w * min(figure.reference, axis_top) / axis_top
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - bottom + 2}" stroke="#c0392b" '
                     f'stroke-dasharray="4 3"/>')
        if figure.reference_label:
            parts.append(_text(x, top - 8, figure.reference_label, size=10, anchor="middle", colour="#c0392b"))
    for i, label in enumerate(figure.labels):
        y = top + row_h * i
        parts.append(_text(left - 8, y + row_h / 2 + 4, label, size=11, anchor="end", colour="#444"))
        x = float(left)
        for series in figure.series:
            value = series.values[i]
            bar = plot_w * min(value, axis_top) / axis_top
            colour = figure.colours[i] if figure.colours else series.colour
            if value or len(figure.series) == 1:
                parts.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{max(bar, 0.5):.1f}" height="{row_h - 8}" '
                             f'fill="{colour}"><title>{escape(label)} {escape(series.name)}：'
                             f'{_number(value)}{escape(figure.unit)}</title></rect>')
            x += bar
        text = figure.value_labels[i] if figure.value_labels else f"{_number(sums[i])}{figure.unit}"
        parts.append(_text(x + 4, y + row_h / 2 + 4, text, size=10, colour="#444"))
    parts.append("</svg>")
    return "".join(parts)


def render_svg(figure: Figure, width: int = 600, height: int = 300) -> str:
    if figure.kind == "hbar":
        return _horizontal(figure, width)
    return _vertical(figure, width, height)


def svg_download(figure: Figure, filename: str) -> HttpResponse:
    """The chart as a standalone .svg file (with the XML declaration) to save or paste into a report."""
    content = '<?xml version="1.0" encoding="UTF-8"?>\n' + render_svg(figure)
    response = HttpResponse(content, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename + '.svg')}"
    return response
