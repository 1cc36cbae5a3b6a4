"""The big patrol's background jobs: imports from a file, the batch of circulars (the township's and
each village's), and the two ledgers exported as jobs when they are large.

Each village (居) gets its own circular: the township's document cut to that village's rank, score and
details, so the office can hand every village its own page.
"""

from __future__ import annotations

import copy
import datetime

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse

from governance import audit
from grid.access import scope
from grid.models import Region
from jobs.documents import Bundle, finish_bundle, one_document, render_all, unfinished_twin
from jobs.imports import import_in_job_transaction, require_perms, warnings_text
from jobs.models import Job
from jobs.runner import JobFailed, Progress, Result, register, start_job

from ..models import PatrolReport, VillagePatrol
from . import circulars
from .circular_access import circular_data, township_for
from .findings import visible_findings
from .imports import import_patrol_catalog, import_patrol_findings, import_patrol_reports
from .ledger_export import book_departments, export_department_book, export_village_ledger, ledger_villages

PATROL_IMPORT_PERMS = ("inspection.add_catalogitem", "inspection.register_patrolfinding")

# The big patrol's kinds of job (keys stored in jobs.Job.kind; labels registered below).
PATROL_CATALOG_IMPORT = "patrol_catalog_import"
PATROL_REPORTS_IMPORT = "patrol_reports_import"
PATROL_FINDINGS_IMPORT = "patrol_findings_import"
CIRCULAR_BATCH = "circular_batch"
CIRCULAR_DOCUMENT = "circular_document"
VILLAGE_LEDGER_EXPORT = "village_ledger_export"
DEPARTMENT_BOOK_EXPORT = "department_book_export"


# ---------------------------------------------------------------- imports


def run_patrol_import(job: Job, progress: Progress) -> Result:
    importer, what, url_name = {
        PATROL_CATALOG_IMPORT: (import_patrol_catalog, "巡查目录", "patrol:catalog"),
        PATROL_REPORTS_IMPORT: (import_patrol_reports, "村（居）历史上报", "patrol:reports"),
        PATROL_FINDINGS_IMPORT: (import_patrol_findings, "巡查发现问题", "patrol:findings"),
    }[job.kind]
    user, township = job.owner, job.region
    if township is None:
        raise JobFailed("乡镇已不存在，未导入任何数据。")
    require_perms(user, PATROL_IMPORT_PERMS, township, f"您已没有在{township.name}导入大巡查数据的权限，未导入任何数据。")

    def run(path) -> Result:
        result = importer(path, township=township, by=user)
        return Result(summary=f"{township.name}{what}导入完成：{result.summary}。{warnings_text(result)}",
                      url=reverse(url_name))

    return import_in_job_transaction(job, progress, run)


# ---------------------------------------------------------------- circulars


def village_circular(data: dict, village: str) -> dict:
    """The township's circular cut to one village: its rank and score, its details; township totals kept."""
    part = copy.deepcopy(data)
    part["title"] = f"{data['title']}（{village}）"
    if data["kind"] == "month":
        part["ranking"] = [row for row in data["ranking"] if row["village"] == village]
        part["details"] = [row for row in data["details"] if row["village"] == village]
        part["unchecked_villages"] = [name for name in data["unchecked_villages"] if name == village]
        part["tipped_reports"] = [row for row in data.get("tipped_reports", []) if row["village"] == village]
    else:
        part["rows"] = [row for row in data["rows"] if row["village"] == village]
    return part


def circular_villages(data: dict) -> list[str]:
    rows = data["ranking"] if data["kind"] == "month" else data["rows"]
    names = [row["village"] for row in rows]
    return sorted(set(names), key=names.index)


def run_circular_batch(job: Job, progress: Progress) -> Result:
    user, params = job.owner, job.params
    try:
        township, full = township_for(user, params["township"])
    except (Http404, PermissionDenied) as exc:
        raise JobFailed("乡镇不存在或您已无权查看其考评通报。") from exc
    if not full:
        raise JobFailed(f"您只能查看{township.name}已发布的通报，不能批量生成各村通报。")
    kind, fmt = params["kind"], params["format"]
    if kind == "month":
        period = datetime.date.fromisoformat(params["period"] + "-01")
    else:
        year, quarter = params["period"].split("Q")
        period = (int(year), int(quarter))
    data, _ = circular_data(township, full, kind, period)
    villages = circular_villages(data)
    documents = [(circulars.filename(data, fmt), data)]
    documents += [(circulars.filename(village_circular(data, name), fmt), village_circular(data, name))
                  for name in villages]
    progress.start(len(documents), f"生成{len(documents)}份{fmt.upper()}")
    bundle = Bundle()
    try:
        failures = render_all(progress, documents, lambda doc: circulars.render(doc, fmt), bundle)
    except BaseException:
        bundle.discard()
        raise
    audit.record("patrol_circular.export", actor=user, obj=township, object_repr=data["title"],
                 after={"kind": kind, "period": data["period"], "format": fmt, "batch": True,
                        "documents": len(bundle.written), "failed": [name for name, _ in failures]})
    return finish_bundle(progress, bundle, failures, zip_name=f"{data['title']}（各村）.zip", what="考评通报")


# ---------------------------------------------------------------- one circular (PDF or Word) with its progress

# Formats written as a job: laying out a PDF (and, on a busy machine, a Word file) takes seconds.
JOB_FORMATS = ("pdf", "docx")


def _period(params: dict):
    if params["kind"] == "month":
        return datetime.date.fromisoformat(params["period"] + "-01")
    year, quarter = params["period"].split("Q")
    return int(year), int(quarter)


def may_see_circular(user, job: Job) -> bool:
    """The circular's own rule, asked again while the job is open: the township is still the user's to see,
    with live figures, or only its published circular of that period."""
    try:
        township, full = township_for(user, job.params["township"])
    except (Http404, PermissionDenied):
        return False
    if full:
        return True
    period = _period(job.params)
    start = period if job.params["kind"] == "month" else circulars.quarter_months(*period)[0]
    return circulars.published_circular(township, job.params["kind"], start) is not None


def run_circular_document(job: Job, progress: Progress) -> Result:
    user, params = job.owner, job.params
    fmt = params["format"]
    township_ref = {}

    def build() -> dict:
        try:
            township, full = township_for(user, params["township"])
        except (Http404, PermissionDenied) as exc:
            raise JobFailed("乡镇不存在或您已无权查看其考评通报。") from exc
        data, _ = circular_data(township, full, params["kind"], _period(params))
        if data is None:
            raise JobFailed("本期考评通报尚未发布。")
        township_ref["township"] = township
        return data

    def render(data: dict, laid_out) -> bytes:
        return circulars.export_circular(data, fmt, by=user, township=township_ref["township"], laid_out=laid_out)

    return one_document(progress, build=build, render=render, filename=lambda data: circulars.filename(data, fmt))


def start_circular_document(user, township: Region, kind: str, period, fmt: str) -> Job:
    """The circular as a job (or the same one still running); the caller has checked that the user may see it."""
    period_text = f"{period:%Y-%m}" if kind == "month" else f"{period[0]}Q{period[1]}"
    params = {"township": township.pk, "kind": kind, "period": period_text, "format": fmt}
    twin = unfinished_twin(user, CIRCULAR_DOCUMENT, params)
    if twin is not None:
        return twin
    title = circulars.month_title(township, period) if kind == "month" else circulars.quarter_title(township, *period)
    return start_job(kind=CIRCULAR_DOCUMENT, owner=user, region=township, params=params,
                     title=f"生成{title}（{circulars.FORMAT_NAMES[fmt]}）")


# ---------------------------------------------------------------- ledgers


def _dates(params: dict) -> tuple[datetime.date, datetime.date]:
    return datetime.date.fromisoformat(params["start"]), datetime.date.fromisoformat(params["end"])


def village_ledger_size(user, village: Region, start, end) -> int:
    patrols = scope(user, VillagePatrol.objects.filter(village=village, date__gte=start, date__lte=end),
                    "inspection.view_villagepatrol").count()
    reports = scope(user, PatrolReport.objects.filter(village=village, reported_on__gte=start, reported_on__lte=end),
                    "inspection.view_patrolreport").count()
    return patrols + reports


def department_book_size(user, department, start, end) -> int:
    reports = scope(user, PatrolReport.objects.filter(item__lead_department=department, reported_on__gte=start,
                                                      reported_on__lte=end), "inspection.view_patrolreport").count()
    findings = visible_findings(user).filter(item__lead_department=department, registered_at__isnull=False,
                                             discovered_on__gte=start, discovered_on__lte=end).count()
    return reports + findings


def run_village_ledger_export(job: Job, progress: Progress) -> Result:
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
    user = job.owner
    department = book_departments(user).filter(pk=job.params["department"]).first()
    if department is None:
        raise JobFailed("部门不存在或您已无权查看其登记备案台账。")
    start, end = _dates(job.params)
    progress.start(department_book_size(user, department, start, end), "写入 Excel")
    content = export_department_book(department, start, end, by=user, progress=progress.step)
    return Result(summary=f"已导出{department.name}登记备案台账 {progress.done} 行。", content=content,
                  filename=f"{department.name}登记备案台账（{start:%Y%m%d}-{end:%Y%m%d}）.xlsx")


def start_village_ledger_export(user, village: Region, start: datetime.date, end: datetime.date) -> Job:
    return start_job(kind=VILLAGE_LEDGER_EXPORT, owner=user, region=village,
                     title=f"导出{village.name}巡查工作台账（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）",
                     params={"village": village.pk, "start": start.isoformat(), "end": end.isoformat()})


def start_department_book_export(user, department, start: datetime.date, end: datetime.date) -> Job:
    return start_job(kind=DEPARTMENT_BOOK_EXPORT, owner=user, region=department.region,
                     title=f"导出{department.name}登记备案台账（{start:%Y-%m-%d} 至 {end:%Y-%m-%d}）",
                     params={"department": department.pk, "start": start.isoformat(), "end": end.isoformat()})


register(PATROL_CATALOG_IMPORT, run_patrol_import, label="导入巡查目录")
register(PATROL_REPORTS_IMPORT, run_patrol_import, label="导入村（居）历史上报")
register(PATROL_FINDINGS_IMPORT, run_patrol_import, label="导入巡查发现问题")
register(CIRCULAR_BATCH, run_circular_batch, label="批量生成各村考评通报")
register(CIRCULAR_DOCUMENT, run_circular_document, label="生成考评通报", running_label="生成中",
         may_see=may_see_circular)
register(VILLAGE_LEDGER_EXPORT, run_village_ledger_export, label="导出村级巡查工作台账")
register(DEPARTMENT_BOOK_EXPORT, run_department_book_export, label="导出部门登记备案台账")
