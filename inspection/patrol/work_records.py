"""The big patrol's monthly work meetings and 简讯 (a register, and the month's check on the oversight page).
Design notes: docs/architecture/inspection.md.

The township big patrol plan: 四、(十) the office 每月牵头组织相关职能部门召开一次工作会议; 六、(六) 至少每月
… 召开一次分析研判工作会议; 四、(十五) the 宣传办 publishes 每月不少于2篇简讯.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import audit
from grid.models import Region

from ..models import PatrolWorkRecord
from .scoring import month_start, next_month

Kind = PatrolWorkRecord.Kind
MONTHLY_MINIMUM = {Kind.MEETING: 1, Kind.BRIEFING: 2}
FIELDS = ["township", "kind", "date", "title", "note"]


@dataclass
class WorkCheck:
    kind: str
    label: str
    required: int
    records: list[PatrolWorkRecord]

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def missing(self) -> int:
        return max(0, self.required - self.count)

    @property
    def met(self) -> bool:
        return self.count >= self.required


def month_work(township: Region, month: datetime.date) -> list[WorkCheck]:
    """Each kind's records of the month against the plan's minimum: one query."""
    start = month_start(month)
    records = list(PatrolWorkRecord.objects.filter(township=township, date__gte=start, date__lt=next_month(start))
                   .order_by("date", "id"))
    return [WorkCheck(kind, Kind(kind).label, required, [r for r in records if r.kind == kind])
            for kind, required in MONTHLY_MINIMUM.items()]


def record_work(*, by, township: Region, kind: str, date: datetime.date, title: str, note: str = "") -> PatrolWorkRecord:
    """The office registers a meeting or a 简讯. Audited."""
    if not by.has_perm("inspection.add_patrolworkrecord", township):
        raise PermissionDenied("只有镇综合办可以登记大巡查会议与简讯。")
    errors: dict[str, list[str]] = {}
    if kind not in Kind.values:
        errors["kind"] = ["请选择类型。"]
    if date is None or date > timezone.localdate():
        errors["date"] = ["日期不能为空，也不能晚于今天。"]
    if not (title or "").strip():
        errors["title"] = ["请填写标题或议题。"]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        record = PatrolWorkRecord.objects.create(township=township, kind=kind, date=date, title=title.strip(),
                                                 note=(note or "").strip(), recorded_by=by)
        audit.record("patrol_work_record.create", actor=by, obj=record, after=audit.snapshot(record, FIELDS))
    return record
