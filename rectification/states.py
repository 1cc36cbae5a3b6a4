"""The states of a rectification item and the figures built from them, read from stored facts only.

Every page, export, API answer, chart, notice and job that counts items calls this module, so that the
same plan gives the same numbers everywhere, from the day a deadline passes, whether or not any
periodic job ran. "Today" is always a parameter (default: the local date), so that tests can move the
clock.

The facts are the item's `status` (what the committee reports), `closed_at` (the office's 销号),
`deadline` and `new_deadline`:

- 已销号 (closed): `closed_at` is set — verified by the office, closed on the committee's claim where
  the item's flow policy version lets the claim suffice, or closed as the import of a paper plan that
  reported the item done (rectification.imports);
- 待验收 (awaiting): not closed, claimed 已整改 or 长期坚持 and waiting for the office's verification;
- 未整改 / 正在整改中: not closed and reported so;
- 已整改: reported 已整改 or 已整改到位 (closed or awaiting); 已整改到位: reported so; 长期坚持: reported so.
  未整改 + 正在整改中 + 已整改 + 长期坚持 = all items (the notice's summary sentence);
- 已逾期 (overdue): not closed, not awaiting verification (the committee has done its part), and its
  effective deadline (the new deadline, else the deadline) is before today;
- 无整改时限 (no deadline): not closed and without any deadline — shown and counted, never left out;
- 整改率: (已整改 + 长期坚持) / all items; 销号率: 已销号 / all items (one decimal, "—" for no items).

The stored `is_overdue` column is kept for the letter job (rectification.tasks) only; no page reads it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import RectificationItem

Status = RectificationItem.Status

DONE_STATUSES = (Status.DONE, Status.FULLY_DONE)
FINISHED_STATUSES = (Status.DONE, Status.FULLY_DONE, Status.ONGOING)
UNFINISHED_STATUSES = (Status.PENDING, Status.IN_PROGRESS)
AWAITING_STATUSES = (Status.DONE, Status.ONGOING)
# The reported statuses' words, longest first, so that "已整改到位" is not taken for "已整改".
STATUS_WORDS = sorted(dict(Status.choices).values(), key=len, reverse=True)


def today_or(today: datetime.date | None) -> datetime.date:
    return today or timezone.localdate()


# ---------------------------------------------------------------- Q objects (prefix "items__" from a plan)


def q_closed(prefix: str = "") -> Q:
    return Q(**{f"{prefix}closed_at__isnull": False})


def q_open(prefix: str = "") -> Q:
    return Q(**{f"{prefix}closed_at__isnull": True})


def q_awaiting(prefix: str = "") -> Q:
    return q_open(prefix) & Q(**{f"{prefix}status__in": AWAITING_STATUSES})


def q_status(statuses, prefix: str = "") -> Q:
    return Q(**{f"{prefix}status__in": list(statuses)})


def effective_deadline_expression(prefix: str = "") -> Coalesce:
    """The deadline in force (new deadline, else deadline) as a database expression, to order or filter on."""
    return Coalesce(f"{prefix}new_deadline", f"{prefix}deadline")


def q_past_due(today: datetime.date, prefix: str = "") -> Q:
    """The effective deadline (new deadline, else deadline) is before `today`."""
    return (Q(**{f"{prefix}new_deadline__lt": today})
            | Q(**{f"{prefix}new_deadline__isnull": True, f"{prefix}deadline__lt": today}))


def q_overdue(today: datetime.date | None = None, prefix: str = "") -> Q:
    """已逾期: not closed, not awaiting verification, effective deadline before today."""
    return q_open(prefix) & ~Q(**{f"{prefix}status__in": AWAITING_STATUSES}) & q_past_due(today_or(today), prefix)


def q_no_deadline(prefix: str = "") -> Q:
    return q_open(prefix) & Q(**{f"{prefix}deadline__isnull": True, f"{prefix}new_deadline__isnull": True})


# key → (label, Q builder taking (today, prefix)); the order is the order of the board's tags.
FIGURES: dict[str, tuple[str, object]] = {
    "pending": ("未整改", lambda today, p: q_status([Status.PENDING], p)),
    "in_progress": ("正在整改中", lambda today, p: q_status([Status.IN_PROGRESS], p)),
    "done": ("已整改", lambda today, p: q_status(DONE_STATUSES, p)),
    "fully_done": ("已整改到位", lambda today, p: q_status([Status.FULLY_DONE], p)),
    "ongoing": ("长期坚持", lambda today, p: q_status([Status.ONGOING], p)),
    "awaiting": ("待验收", lambda today, p: q_awaiting(p)),
    "closed": ("已销号", lambda today, p: q_closed(p)),
    "overdue": ("已逾期", lambda today, p: q_overdue(today, p)),
    "no_deadline": ("无整改时限", lambda today, p: q_no_deadline(p)),
}
LABELS = {key: label for key, (label, _q) in FIGURES.items()}


def q_figure(key: str, today: datetime.date | None = None, prefix: str = "") -> Q:
    return FIGURES[key][1](today_or(today), prefix)


# ---------------------------------------------------------------- figures


@dataclass(frozen=True)
class Figures:
    """The counts of a set of items and their two rates."""

    total: int = 0
    pending: int = 0
    in_progress: int = 0
    done: int = 0
    fully_done: int = 0
    ongoing: int = 0
    awaiting: int = 0
    closed: int = 0
    overdue: int = 0
    no_deadline: int = 0

    @property
    def rectified(self) -> int:
        """已整改 + 长期坚持: what the 整改率 counts."""
        return self.done + self.ongoing

    @property
    def open(self) -> int:
        """未销号: every item not closed, those awaiting verification included (the list's 未销号, q_open)."""
        return self.total - self.closed

    @property
    def unfinished(self) -> int:
        return self.pending + self.in_progress

    @property
    def rectified_rate(self) -> float | None:
        return rate(self.rectified, self.total)

    @property
    def closed_rate(self) -> float | None:
        return rate(self.closed, self.total)

    def as_dict(self) -> dict:
        return {**{key: getattr(self, key) for key in ("total", *FIGURES)},
                "rectified": self.rectified, "rectified_rate": self.rectified_rate, "closed_rate": self.closed_rate}


def rate(part: int, total: int) -> float | None:
    """`part` of `total` in per cent to one decimal, rounded half up (四舍五入: 1 of 16 is 6.3, not 6.2)."""
    if not total:
        return None
    return float((Decimal(100 * part) / Decimal(total)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def aggregates(today: datetime.date | None = None, prefix: str = "") -> dict:
    """Count(...) expressions of every figure, for `.aggregate()` on items or `.annotate()` on plans
    (prefix "items__"; the plan annotations are named `<key>_count`)."""
    today = today_or(today)
    target = f"{prefix}id" if prefix else "id"
    return {"total": Count(target), **{key: Count(target, filter=q(today, prefix)) for key, (_label, q) in FIGURES.items()}}


def figures(items: QuerySet, today: datetime.date | None = None) -> Figures:
    """The figures of a queryset of items: one aggregate query."""
    return Figures(**items.order_by().aggregate(**aggregates(today)))


def figures_of(items, today: datetime.date | None = None) -> Figures:
    """The same figures of items already in memory (a plan's page, the notice), by the per-object rules."""
    today = today_or(today)
    items = list(items)
    counts = {key: 0 for key in FIGURES}
    for item in items:
        for key in keys_of(item, today):
            counts[key] += 1
    return Figures(total=len(items), **counts)


def with_plan_figures(plans: QuerySet, today: datetime.date | None = None) -> QuerySet:
    """Plans annotated with `item_count` and `<key>_count` for every figure (one query with the list).
    The plans' only multi-valued join is their items, so plain counts are exact (no DISTINCT to sort)."""
    exprs = aggregates(today, "items__")
    return plans.annotate(item_count=exprs.pop("total"), **{f"{key}_count": expr for key, expr in exprs.items()})


def plan_figures(plan) -> Figures:
    """The Figures of a plan annotated by `with_plan_figures`."""
    return Figures(total=plan.item_count, **{key: getattr(plan, f"{key}_count") for key in FIGURES})


def with_overdue(items: QuerySet, today: datetime.date | None = None) -> QuerySet:
    """Items annotated with `overdue_now` (the derived 已逾期), for lists that show or sort on it."""
    return items.annotate(overdue_now=ExpressionWrapper(q_overdue(today), output_field=BooleanField()))


# ---------------------------------------------------------------- one item


def effective_deadline(item) -> datetime.date | None:
    return item.new_deadline or item.deadline


def is_closed(item) -> bool:
    return item.closed_at is not None


def is_awaiting(item) -> bool:
    return item.closed_at is None and item.status in AWAITING_STATUSES


def is_overdue(item, today: datetime.date | None = None) -> bool:
    due = effective_deadline(item)
    return (item.closed_at is None and item.status not in AWAITING_STATUSES and due is not None
            and due < today_or(today))


def has_no_deadline(item) -> bool:
    return item.closed_at is None and effective_deadline(item) is None


def keys_of(item, today: datetime.date | None = None) -> list[str]:
    """Every figure the item counts in (the per-object twin of FIGURES)."""
    today = today_or(today)
    keys = {Status.PENDING: ["pending"], Status.IN_PROGRESS: ["in_progress"], Status.DONE: ["done"],
            Status.FULLY_DONE: ["done", "fully_done"], Status.ONGOING: ["ongoing"]}.get(item.status, [])[:]
    if is_awaiting(item):
        keys.append("awaiting")
    if is_closed(item):
        keys.append("closed")
    if is_overdue(item, today):
        keys.append("overdue")
    if has_no_deadline(item):
        keys.append("no_deadline")
    return keys


def closed_on(item) -> datetime.date | None:
    """The day the item was closed (销号), in local time."""
    return timezone.localtime(item.closed_at).date() if item.closed_at else None


def phase_label(item) -> str:
    """已销号 / 待验收 / the reported status: the word a list shows beside the status."""
    if is_closed(item):
        return "已销号"
    if is_awaiting(item):
        return "待验收"
    return ""
