"""SLA deadlines of waiting event tasks (rules in the admin: hours per tier × urgency [× category])."""

from __future__ import annotations

import datetime

from django.utils import timezone

from governance.process_cache import ProcessCache

from .models import Holiday, SLARule, TaskDeadline

DEFAULT_HOURS = {"normal": 72, "urgent": 24, "critical": 4}


def _rules_by_tier_and_urgency() -> dict[tuple[int, str], list[SLARule]]:
    rules: dict[tuple[int, str], list[SLARule]] = {}
    for rule in SLARule.objects.all():
        rules.setdefault((rule.tier_id, rule.urgency), []).append(rule)
    return rules


# All SLA rules (a few dozen rows): every report and every step opens a deadline, and reading the rules
# each time was a query on the intake path. An edited rule governs tasks opened after it.
rule_cache = ProcessCache(_rules_by_tier_and_urgency, seconds_setting="SLA_RULE_CACHE_SECONDS", models=[SLARule])


def rule_for(event) -> SLARule | None:
    """The event's category rule if there is one, else the tier's default."""
    rules = rule_cache.get().get((event.handling_region.tier_id, event.urgency), [])
    return (next((rule for rule in rules if rule.category_id == event.category_id), None)
            or next((rule for rule in rules if rule.category_id is None), None))


def _is_working_day(day: datetime.date, calendar: dict[datetime.date, bool]) -> bool:
    if day in calendar:
        return calendar[day]
    return day.weekday() < 5


def working_day_calendar(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    """The calendar's entries from `start` to `end` (inclusive): holidays (False) and weekend days worked
    (调休上班, True); one query, for count_working_days over any spans inside it."""
    return dict(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_working_day"))


def count_working_days(start: datetime.date, end: datetime.date, calendar: dict[datetime.date, bool]) -> int:
    """Working days from `start` to `end` inclusive: weekdays except holidays, and weekend days worked."""
    return sum(1 for n in range((end - start).days + 1)
               if _is_working_day(start + datetime.timedelta(days=n), calendar))


def add_working_hours(start: datetime.datetime, hours: int) -> datetime.datetime:
    """`hours` counted only on working days (weekends and holidays skipped; 调休 days count)."""
    local = timezone.localtime(start)
    horizon = local.date() + datetime.timedelta(days=hours // 24 * 3 + 30)
    calendar = working_day_calendar(local.date(), horizon)
    remaining = datetime.timedelta(hours=hours)
    cursor = local
    while True:
        day_end = (cursor + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        if _is_working_day(cursor.date(), calendar):
            available = day_end - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = day_end


def due_in_hours(hours: int, *, working: bool, start: datetime.datetime | None = None) -> datetime.datetime:
    """`hours` from `start`, natural or counted on working days only."""
    start = start or timezone.now()
    if working:
        return add_working_hours(start, hours)
    return start + datetime.timedelta(hours=hours)


def due_at_for(event, start: datetime.datetime | None = None) -> datetime.datetime:
    start = start or timezone.now()
    rule = rule_for(event)
    hours = rule.hours if rule else DEFAULT_HOURS.get(event.urgency, 72)
    if rule and rule.clock == SLARule.Clock.WORKING:
        return add_working_hours(start, hours)
    return start + datetime.timedelta(hours=hours)


def deadline_for(task, event) -> TaskDeadline:
    """The SLA deadline of a task just created, not saved (event intake writes it with other rows)."""
    return TaskDeadline(task=task, due_at=due_at_for(event, task.created))


def close_deadline(task) -> None:
    TaskDeadline.objects.filter(task=task, is_open=True).update(is_open=False)
