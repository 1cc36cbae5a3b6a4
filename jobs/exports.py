"""Large exports run as jobs: the event list and the big patrol's two ledgers.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.http import QueryDict
from django.utils import timezone

from grid.access import scope
from grid.models import Region

from .models import Job
from .runner import JobFailed, Progress, Result

EVENT_EXPORT_PERM = "grid.export_event"


def export_threshold() -> int:
    return getattr(settings, "JOBS_EXPORT_THRESHOLD", 2000)


# ---------------------------------------------------------------- the event list


def scoped_events(user, query: QueryDict):
    """The rows the event list export shows to `user` for the list's query string."""
    from grid.event_forms import EventFilterForm
    from grid.event_lists import region_events, with_list_columns

    form = EventFilterForm(query or None)
    return with_list_columns(region_events(user, form.filters(), perm=EVENT_EXPORT_PERM))


def event_query(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.get("query", {}).items():
        query.setlist(key, values)
    return query


def run_event_export(job: Job, progress: Progress) -> Result:
    from grid.event_export import EXPORT_LIMIT, export_events

    user = job.owner
    if not user.has_perm(EVENT_EXPORT_PERM):
        raise JobFailed("您已没有导出网格事件的权限。")
    events = scoped_events(user, event_query(job.params))
    progress.start(min(events.count(), EXPORT_LIMIT), "写入 Excel")
    content, truncated = export_events(events, by=user, progress=progress.step)
    summary = f"已导出 {progress.done} 条网格事件。"
    if truncated:
        summary += f"超过 {EXPORT_LIMIT} 条，只导出了前 {EXPORT_LIMIT} 条，请缩小筛选范围后分批导出。"
    started = timezone.localtime(job.created_at)
    return Result(summary=summary, content=content, filename=f"网格事件_{started:%Y%m%d_%H%M}.xlsx")


# ---------------------------------------------------------------- big-patrol ledgers


def _dates(params: dict) -> tuple[datetime.date, datetime.date]:
    return datetime.date.fromisoformat(params["start"]), datetime.date.fromisoformat(params["end"])


def village_ledger_size(user, village: Region, start, end) -> int:
    from inspection.models import PatrolReport, VillagePatrol

    patrols = scope(user, VillagePatrol.objects.filter(village=village, date__gte=start, date__lte=end),
                    "inspection.view_villagepatrol").count()
    reports = scope(user, PatrolReport.objects.filter(village=village, reported_on__gte=start, reported_on__lte=end),
                    "inspection.view_patrolreport").count()
    return patrols + reports


def department_book_size(user, department, start, end) -> int:
    from inspection.findings import visible_findings
    from inspection.models import PatrolReport

    reports = scope(user, PatrolReport.objects.filter(item__lead_department=department, reported_on__gte=start,
                                                      reported_on__lte=end), "inspection.view_patrolreport").count()
    findings = visible_findings(user).filter(item__lead_department=department, registered_at__isnull=False,
                                             discovered_on__gte=start, discovered_on__lte=end).count()
    return reports + findings


def run_village_ledger_export(job: Job, progress: Progress) -> Result:
    from inspection.circular_views import ledger_villages
    from inspection.ledger_export import export_village_ledger

    user = job.owner
    village = ledger_villages(user).filter(pk=job.params["village"]).first()
    if village is None:
        raise JobFailed("村（居）不存在或您已无权查看其台账。")
    start, end = _dates(job.params)
    progress.start(village_ledger_size(user, village, start, end), "写入 Excel")
    content = export_village_ledger(village, start, end, by=user, progress=progress.step)
    return Result(summary=f"已导出{village.name}巡查工作台账 {progress.done} 行。", content=content,
                  filename=f"{village.name}巡查工作台账（{start:%Y%m%d}-{end:%Y%m%d}）.xlsx")


def run_department_book_export(job: Job, progress: Progress) -> Result:
    from inspection.circular_views import book_departments
    from inspection.ledger_export import export_department_book

    user = job.owner
    department = book_departments(user).filter(pk=job.params["department"]).first()
    if department is None:
        raise JobFailed("部门不存在或您已无权查看其登记备案台账。")
    start, end = _dates(job.params)
    progress.start(department_book_size(user, department, start, end), "写入 Excel")
    content = export_department_book(department, start, end, by=user, progress=progress.step)
    return Result(summary=f"已导出{department.name}登记备案台账 {progress.done} 行。", content=content,
                  filename=f"{department.name}登记备案台账（{start:%Y%m%d}-{end:%Y%m%d}）.xlsx")


# ---------------------------------------------------------------- starting (called by the export views)


def start_event_export(user, query: QueryDict) -> Job:
    from .runner import start_job

    params = {"query": {key: query.getlist(key) for key in query if key not in {"page", "csrfmiddlewaretoken"}}}
    return start_job(kind=Job.Kind.EVENT_EXPORT, owner=user, title="导出网格事件（Excel）", params=params)


def start_village_ledger_export(user, village: Region, start: datetime.date, end: datetime.date) -> Job:
    from .runner import start_job

    return start_job(kind=Job.Kind.VILLAGE_LEDGER_EXPORT, owner=user, region=village,
                     title=f"导出{village.name}巡查工作台账（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）",
                     params={"village": village.pk, "start": start.isoformat(), "end": end.isoformat()})


def start_department_book_export(user, department, start: datetime.date, end: datetime.date) -> Job:
    from .runner import start_job

    return start_job(kind=Job.Kind.DEPARTMENT_BOOK_EXPORT, owner=user, region=department.region,
                     title=f"导出{department.name}登记备案台账（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）",
                     params={"department": department.pk, "start": start.isoformat(), "end": end.isoformat()})
