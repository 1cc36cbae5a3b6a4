"""The event list as an .xlsx workbook (the rows the list shows, all pages, scoped by the caller)."""

from __future__ import annotations

from governance import audit
from governance.listing import EXPORT_LIMIT, xlsx_bytes

HEADERS = ["编号", "标题", "类别", "发生区域", "当前处置层级", "状态", "紧急程度", "来源", "上报人", "上报时间",
           "发生时间", "承办部门", "超期", "地址", "纬度", "经度", "描述", "办理结果", "满意度"]


def export_events(events, *, by, progress=None) -> tuple[bytes, bool]:
    """Write the events to a workbook; returns (content, truncated). The export is audited.

    `progress`, when given, is called once per row written (a long export run as a job reports it)."""
    rows = ([  # times, coordinates and the overdue flag are made cells by governance.listing.cell_value
        event.pk, event.title, str(event.category), event.region.full_path,
        f"{event.handling_region.name}（{event.handling_region.tier.name}）", event.get_status_display(),
        event.get_urgency_display(), event.get_source_display(),
        event.reporter.get_full_name() or event.reporter.get_username(), event.created_at, event.occurred_at,
        event.department.name if event.department_id else "", event.is_overdue, event.address, event.latitude,
        event.longitude, event.description, event.result, event.rating,
    ] for event in events[: EXPORT_LIMIT + 1].iterator(chunk_size=2000))
    content, count, truncated = xlsx_bytes(rows=rows, headers=HEADERS, sheet_title="网格事件", limit=EXPORT_LIMIT,
                                           progress=progress)
    audit.record("event.export", actor=by, after={"rows": count, "truncated": truncated},
                 region_path=audit.actor_region_path(by))
    return content, truncated
