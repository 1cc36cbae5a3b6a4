"""The event list as an .xlsx workbook (the rows the list shows, all pages, scoped by the caller)."""

from __future__ import annotations

from itertools import islice

from django.utils import timezone

from governance import audit
from governance.listing import EXPORT_LIMIT, xlsx_bytes

from .case_record import disposal_result, step_line, timelines
from .models import Event

# Events read per batch: their case records are read in three queries per batch.
BATCH = 500

HEADERS = ["编号", "标题", "类别", "发生区域", "当前处置层级", "状态", "紧急程度", "来源", "上报人", "上报时间",
           "发生时间", "承办部门", "超期", "地址", "纬度", "经度", "描述", "办理结果", "满意度",
           "办理经过"]


def export_events(events, *, by, progress=None) -> tuple[bytes, bool]:
    """Write the events to a workbook; returns (content, truncated). The export is audited.

    `progress`, when given, is called once per row written (a long export run as a job reports it)."""
    content, count, truncated = xlsx_bytes(rows=_rows(events), headers=HEADERS, sheet_title="网格事件",
                                           limit=EXPORT_LIMIT, progress=progress)
    audit.record("event.export", actor=by, after={"rows": count, "truncated": truncated},
                 region_path=audit.actor_region_path(by), about=Event)
    return content, truncated


def _rows(events):
    """One row per event, with its case record (every step with its opinion) as the last cell."""
    stream = events[: EXPORT_LIMIT + 1].iterator(chunk_size=2000)
    now = timezone.now()  # one moment for the whole workbook (its 超期 column)
    while batch := list(islice(stream, BATCH)):
        cases = timelines(batch)
        for event in batch:  # times, coordinates and the overdue state are made cells by governance.listing.cell_value
            yield [
                event.pk, event.title, str(event.category), event.region.full_path,
                f"{event.handling_region.name}（{event.handling_region.tier.name}）", event.get_status_display(),
                event.get_urgency_display(), event.get_source_display(),
                event.reporter.get_full_name() or event.reporter.get_username(), event.created_at, event.occurred_at,
                event.department.name if event.department_id else "", event.overdue_at(now), event.address, event.latitude,
                event.longitude, event.description, disposal_result(event), event.rating,
                "\n".join(step_line(step) for step in cases.get(event.pk, [])),
            ]
