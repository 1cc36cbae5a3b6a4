"""The grid's background jobs: the event list exported as a job when it is large.

The job keeps the list's query string, never a queryset: the task re-runs the owner's scoped query
through the same list functions the page uses, so the file holds exactly the rows that user may export.
"""

from __future__ import annotations

from django.http import QueryDict
from django.utils import timezone

from jobs.models import Job
from jobs.runner import JobFailed, Progress, Result, register, start_job

from .event_export import EXPORT_LIMIT, export_events
from .event_forms import EventFilterForm
from .event_lists import region_events, with_list_columns

EVENT_EXPORT_PERM = "grid.export_event"
EVENT_EXPORT = "event_export"  # the kind of job (jobs.Job.kind); its label is registered below


def scoped_events(user, query: QueryDict):
    """The rows the event list export shows to `user` for the list's query string."""
    form = EventFilterForm(query or None)
    return with_list_columns(region_events(user, form.filters(), perm=EVENT_EXPORT_PERM))


def event_query(params: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, values in params.get("query", {}).items():
        query.setlist(key, values)
    return query


def run_event_export(job: Job, progress: Progress) -> Result:
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


def start_event_export(user, query: QueryDict) -> Job:
    params = {"query": {key: query.getlist(key) for key in query if key not in {"page", "csrfmiddlewaretoken"}}}
    return start_job(kind=EVENT_EXPORT, owner=user, title="导出网格事件（Excel）", params=params)


register(EVENT_EXPORT, run_event_export, label="导出网格事件")
