"""The "three reports, four lists" (三报告四清单) of one inspection group and its township.
Design notes: docs/architecture/inspection.md."""

from __future__ import annotations

import contextvars
import datetime
import io
from collections import Counter, OrderedDict
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from governance import audit
from governance.chinese_dates import chinese_date
from governance.chinese_numerals import chinese_ordinal
from governance.docx_fonts import set_font
from governance.input_rules import printable_tree
from governance.pdf import html_to_pdf
from governance.spreadsheet_safety import xlsx_row
from grid.access import region_grants
from grid.models import Region

from ..models import FocusCategory, InspectionFinding, InspectionGroup, ProblemClue, RoundTarget, TalkRecord
from .onsite import groups_in_full, talk_groups, visible_clues, visible_talks
from .round_services import groups_visible

FORMATS = ("pdf", "docx", "xlsx")
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
# The seven documents, in the order of the round plan; the lists also come as xlsx.
KINDS = OrderedDict([
    ("situation", "巡察情况报告"),
    ("problems", "发现问题清单"),
    ("talks", "谈话情况报告"),
    ("clues", "问题线索报告"),
    ("villages", "巡察各村（社区）问题清单"),
    ("common", "共性问题清单"),
    ("secretary", "书记专题会点人点事点问题建议清单"),
])
LIST_KINDS = ("problems", "villages", "common", "secretary")
# The documents built from the group's working papers (问题底稿): their titles and descriptions, and in the
# situation report and the secretary's list the internal fields (onsite.INTERNAL_FINDING_FIELDS).
FINDING_KINDS = ("situation", "problems", "villages", "common", "secretary")
# The kind of record each document is read from, by that kind's own rule (governance.visibility).
DOCUMENT_KINDS = {"clues": ProblemClue, "talks": TalkRecord, **{kind: InspectionFinding for kind in FINDING_KINDS}}

VIEW_PERMS = ("inspection.view_inspectiongroup", "inspection.view_problemclue")
CLUE_PERM = "inspection.view_problemclue"


# ---------------------------------------------------------------- who may see


def may_view_reports(user, group: InspectionGroup) -> bool:
    """The office, the leading group and the group's own members see the group's reports (view on the
    group's township); discipline sees them too (it holds the clues of the township)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser or group.leader_id == user.pk:
        return True
    return any(user.has_perm(perm, group) for perm in VIEW_PERMS)


def may_view_clues(user, group: InspectionGroup) -> bool:
    """The clue report: the office and discipline (`inspection.view_problemclue` over the township), or
    the group's leader — the rule of inspection.rounds.onsite.visible_clues (no superuser bypass)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if group.leader_id is not None and group.leader_id == user.pk:
        return True
    return region_grants(user).covers(CLUE_PERM, group.township.path)


def may_view_talks(user, group: InspectionGroup) -> bool:
    """The talks report and the talk count: the rule of inspection.rounds.onsite.visible_talks (the group's own
    members, the office and the leading group; not the members of other groups, nor discipline)."""
    return talk_groups(user).filter(pk=group.pk).exists()


def may_view_findings(user, group: InspectionGroup) -> bool:
    """The documents built from the findings: the rule of inspection.rounds.onsite.findings_in_full over all
    the group's findings (onsite.groups_in_full) — the round's group members, the office, the leading group
    and discipline; not a group-role post at the township outside the round's groups, nor the inspected
    township. Asked once per page (shared_records)."""
    return _once(("in_full", group.pk, user.pk),
                 lambda: groups_in_full(user).filter(pk=group.pk).exists())


def may_view_document(user, group: InspectionGroup, kind: str) -> bool:
    """Whether `user` may open this document of the group: the reports' rule, narrowed for clues, talks and
    the documents built from the findings."""
    if not may_view_reports(user, group):
        return False
    if kind == "clues":
        return may_view_clues(user, group)
    if kind == "talks":
        return may_view_talks(user, group)
    if kind in FINDING_KINDS:
        return may_view_findings(user, group)
    return True


def visible_groups(user):
    """Groups whose reports the user may open, newest round first."""
    groups = InspectionGroup.objects.select_related("round", "township", "leader").order_by(
        "-round__arrival_date", "round_id", "number")
    if user.is_superuser:
        return groups
    condition = Q(leader=user) if user.is_authenticated else Q(pk__in=[])
    grants = region_grants(user)
    for perm in VIEW_PERMS:
        for prefix in grants.paths(perm):
            condition |= Q(township__path__startswith=prefix)
    return groups.filter(condition)


def groups_seen(user):
    """Every group the user may see anything of: its page (the groups of visible rounds) or its reports."""
    return InspectionGroup.objects.filter(Q(pk__in=groups_visible(user).values("pk"))
                                          | Q(pk__in=visible_groups(user).order_by().values("pk")))


# ---------------------------------------------------------------- the records


def _is_village(region: Region) -> bool:
    return region.tier.key == "village"


def finding_organisation(finding: InspectionFinding) -> Region:
    """The organisation a finding is about: the village it names, else its target."""
    return finding.village or finding.target.organisation


# Records read once and shared by every document built inside `shared_records()` (the group's page
# builds all seven documents; each would otherwise read the same findings and categories again).
_shared: contextvars.ContextVar[dict | None] = contextvars.ContextVar("round_report_records", default=None)


@contextmanager
def shared_records():
    token = _shared.set({})
    try:
        yield
    finally:
        _shared.reset(token)


def _once(key: tuple, read):
    memo = _shared.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def _findings(group: InspectionGroup) -> list[InspectionFinding]:
    return list(_once(("findings", group.pk), lambda: list(
        InspectionFinding.objects.filter(group=group)
        .select_related("target__organisation__tier", "village__tier", "focus__parent")
        .order_by("id")
    )))


def focus_order(round_) -> dict[int, tuple]:
    """pk → sort key of each focus category of the round, in taxonomy order (parent before children)."""
    return _once(("focus_order", round_.pk), lambda: _focus_order(round_))


def _focus_order(round_) -> dict[int, tuple]:
    categories = list(FocusCategory.objects.filter(round=round_).order_by("order", "id"))
    by_parent: dict[int | None, list[FocusCategory]] = {}
    for category in categories:
        by_parent.setdefault(category.parent_id, []).append(category)
    keys: dict[int, tuple] = {}

    def walk(parent_id, prefix):
        for position, category in enumerate(by_parent.get(parent_id, [])):
            keys[category.pk] = (*prefix, position)
            walk(category.pk, (*prefix, position))

    walk(None, ())
    for category in categories:  # an orphan (a parent from another round): last, in its own order
        keys.setdefault(category.pk, (len(categories), category.order, category.pk))
    return keys


def ordered_findings(group: InspectionGroup, findings: list[InspectionFinding] | None = None) -> list[InspectionFinding]:
    """The group's findings in focus order (taxonomy order, then recorded order): the order in which
    the problem list, the village lists and the rectification items number them."""
    findings = _findings(group) if findings is None else findings
    keys = focus_order(group.round)
    return sorted(findings, key=lambda f: (keys.get(f.focus_id, (999,)), f.pk))


def _top(category: FocusCategory) -> FocusCategory:
    seen = set()
    while category.parent_id and category.pk not in seen:
        seen.add(category.pk)
        category = category.parent
    return category


def _finding_row(number: int, finding: InspectionFinding, township: Region) -> dict:
    organisation = finding_organisation(finding)
    return {
        "number": number,
        "id": finding.pk,
        "title": finding.title,
        "description": finding.description,
        "organisation": organisation.name if _is_village(organisation) else f"{township.name}党委",
        "village": organisation.name if _is_village(organisation) else "",
        "focus": finding.focus.title,
        "people_involved": finding.people_involved,
        "suggestion": finding.suggestion,
    }


def focus_sections(findings: list[InspectionFinding], township: Region, round_) -> tuple[list[dict], int]:
    """Findings grouped by top-level focus (（一）（二）…), then by sub-heading, numbered 1, 2, 3… across
    all sections. Only categories with findings appear. Returns (sections, count)."""
    keys = focus_order(round_)
    ordered = sorted(findings, key=lambda f: (keys.get(f.focus_id, (999,)), f.pk))
    sections: OrderedDict[int, dict] = OrderedDict()
    number = 0
    for finding in ordered:
        top = _top(finding.focus)
        section = sections.get(top.pk)
        if section is None:
            section = sections[top.pk] = {"title": top.title, "groups": OrderedDict(), "count": 0}
        heading = "" if finding.focus.pk == top.pk else finding.focus.title
        group = section["groups"].setdefault(finding.focus.pk, {"heading": heading, "items": []})
        number += 1
        group["items"].append(_finding_row(number, finding, township))
        section["count"] += 1
    result = []
    for index, section in enumerate(sections.values(), start=1):
        result.append({"label": f"（{chinese_ordinal(index)}）", "title": section["title"], "count": section["count"],
                       "groups": list(section["groups"].values())})
    return result, number


def _village_targets(group: InspectionGroup) -> list[RoundTarget]:
    return list(RoundTarget.objects.filter(group=group, organisation__tier__key="village")
                .select_related("organisation").order_by("organisation__path"))


def _header(group: InspectionGroup, kind: str, title: str, today: datetime.date) -> dict:
    round_ = group.round
    return {
        "kind": kind,
        "kind_label": KINDS[kind],
        "title": title,
        "group_id": group.pk,
        "group": group.name,
        "round": round_.name,
        "township": group.township.name,
        "arrival": round_.arrival_date.isoformat(),
        "withdrawal": round_.withdrawal_date.isoformat(),
        "period_label": f"{chinese_date(round_.arrival_date)}至{chinese_date(round_.withdrawal_date)}",
        "date": today.isoformat(),
        "date_label": chinese_date(today),
        "signature": f"{round_.name}{group.name}",
    }


# ---------------------------------------------------------------- the documents


def build_problem_list(group: InspectionGroup, today: datetime.date | None = None) -> dict:
    """发现问题清单: all findings of the township and its villages under the focus taxonomy."""
    today = today or timezone.localdate()
    township = group.township
    findings = _findings(group)
    sections, count = focus_sections(findings, township, group.round)
    data = _header(group, "problems", f"巡察{township.name}党委发现问题清单", today)
    township_count = sum(1 for f in findings if not _is_village(finding_organisation(f)))
    data.update(sections=sections, totals={"findings": count, "township": township_count,
                                           "villages": count - township_count})
    return data


def build_situation_report(group: InspectionGroup, *, user, today: datetime.date | None = None) -> dict:
    """巡察情况报告（附发现问题清单）. The number of talks only for those who may see the group's talks."""
    today = today or timezone.localdate()
    township = group.township
    problems = build_problem_list(group, today)
    targets = _village_targets(group)
    findings = _findings(group)
    talks = visible_talks(user).filter(group=group).count() if may_view_talks(user, group) else None
    by_village = Counter(finding_organisation(f).name for f in findings if _is_village(finding_organisation(f)))
    villages = [{"name": t.organisation.name, "class": t.get_village_class_display(), "mode": t.mode,
                 "mobile": t.is_mobile, "findings": by_village.get(t.organisation.name, 0)} for t in targets]
    suggestions = [{"number": row["number"], "title": row["title"], "suggestion": row["suggestion"]}
                   for section in problems["sections"] for g in section["groups"] for row in g["items"]
                   if row["suggestion"]]
    data = _header(group, "situation", f"关于巡察中共{township.name}委员会的情况报告", today)
    data.update(
        sections=problems["sections"],
        villages=villages,
        suggestions=suggestions,
        totals={
            **problems["totals"],
            "village_targets": len(targets),
            "mobile": sum(1 for t in targets if t.is_mobile),
            "talks": talks,
            "sections": len(problems["sections"]),
            "secretary": sum(1 for f in findings if f.for_secretary_meeting),
        },
    )
    return data


# Position kinds of interviewees, by keywords of the recorded post (谈话对象类别).
POSITION_KINDS = (
    ("乡镇党委领导班子成员", ("党委书记", "镇长", "乡长", "副书记", "党委委员", "纪委书记", "人大主席", "副镇长", "副乡长",
                             "组织委员", "宣传委员", "武装部长")),
    ("乡镇站所及机关干部", ("站长", "所长", "主任科员", "办主任", "中心主任", "干部", "办公室", "站", "所")),
    ("村（社区）“两委”干部", ("支部书记", "村书记", "村主任", "社区书记", "社区主任", "村委", "两委", "文书",
                             "监委会", "会计", "书记", "主任", "委员")),
    ("党员", ("党员",)),
    ("群众", ("群众", "村民", "居民")),
)
OTHER_POSITION = "其他人员"


def position_kind(position: str, organisation: Region) -> str:
    """The kind of an interviewee, from the recorded post; on a village target a 书记/主任 is a village cadre."""
    text = (position or "").strip()
    if not text:
        return OTHER_POSITION
    kinds = POSITION_KINDS
    if _is_village(organisation):  # in a village, 书记/主任/委员 are the village's two committees
        kinds = (POSITION_KINDS[2], POSITION_KINDS[3], POSITION_KINDS[4], POSITION_KINDS[0], POSITION_KINDS[1])
    for label, words in kinds:
        if any(word in text for word in words):
            return label
    return OTHER_POSITION


def build_talk_report(group: InspectionGroup, *, user, today: datetime.date | None = None) -> dict:
    """谈话情况报告: talks counted by position kind, with the key points of each talk; only for those who
    may see the group's talks."""
    if not may_view_talks(user, group):
        raise PermissionDenied("谈话情况报告仅限本巡察组、巡察办和领导小组查看。")
    today = today or timezone.localdate()
    township = group.township
    talks = list(visible_talks(user).filter(group=group).select_related("target__organisation__tier")
                 .order_by("held_on", "id"))
    counts = Counter(position_kind(t.position, t.target.organisation) for t in talks)
    order = [label for label, _ in POSITION_KINDS] + [OTHER_POSITION]
    by_kind = [{"kind": label, "count": counts[label]} for label in order if counts[label]]
    points = [{"number": index, "date": t.held_on.isoformat(), "organisation": t.target.organisation.name,
               "interviewee": t.interviewee, "position": t.position,
               "kind": position_kind(t.position, t.target.organisation), "summary": t.summary}
              for index, t in enumerate(talks, start=1)]
    data = _header(group, "talks", f"巡察{township.name}党委谈话情况报告", today)
    data.update(by_kind=by_kind, points=points, totals={
        "talks": len(talks), "organisations": len({t.target.organisation_id for t in talks}),
        "kinds": len(by_kind),
    })
    return data


def build_clue_report(group: InspectionGroup, *, user, today: datetime.date | None = None) -> dict:
    """问题线索报告: only for the office, discipline and the group's leader."""
    if not may_view_clues(user, group):
        raise PermissionDenied("问题线索报告仅限巡察组组长、巡察办和纪检监察机关查看。")
    today = today or timezone.localdate()
    township = group.township

    clues = list(visible_clues(user).filter(group=group).select_related("target__organisation")
                 .order_by("recorded_at", "id"))
    rows = [{"number": index, "organisation": c.target.organisation.name, "people_involved": c.people_involved,
             "description": c.description, "source": c.source, "disposal": c.disposal or "待研究"}
            for index, c in enumerate(clues, start=1)]
    disposals = Counter(row["disposal"] for row in rows)
    data = _header(group, "clues", f"关于巡察{township.name}党委发现问题线索的报告", today)
    data.update(clues=rows, by_disposal=[{"disposal": k, "count": v} for k, v in disposals.most_common()],
                totals={"clues": len(rows), "people": len({row["people_involved"] for row in rows})})
    return data


def build_village_lists(group: InspectionGroup, today: datetime.date | None = None) -> dict:
    """巡察各村（社区）问题清单: one list per inspected village (numbered from 1 in each list)."""
    today = today or timezone.localdate()
    township = group.township
    findings = [f for f in _findings(group) if _is_village(finding_organisation(f))]
    villages: OrderedDict[int, dict] = OrderedDict()
    for target in _village_targets(group):
        villages[target.organisation_id] = {"name": target.organisation.name, "path": target.organisation.path,
                                            "findings": []}
    for finding in findings:
        village = finding_organisation(finding)
        villages.setdefault(village.pk, {"name": village.name, "path": village.path, "findings": []})
        villages[village.pk]["findings"].append(finding)
    lists = []
    for entry in sorted(villages.values(), key=lambda v: v["path"]):
        sections, count = focus_sections(entry["findings"], township, group.round)
        lists.append({"village": entry["name"], "title": f"巡察{entry['name']}党组织发现问题清单",
                      "sections": sections, "count": count})
    data = _header(group, "villages", f"巡察{township.name}各村（社区）问题清单", today)
    data.update(lists=lists, totals={"villages": len(lists), "findings": sum(v["count"] for v in lists),
                                     "with_findings": sum(1 for v in lists if v["count"])})
    return data


def build_common_list(group: InspectionGroup, today: datetime.date | None = None) -> dict:
    """所巡 XX 个村（社区）共性问题清单: a focus category (sub-heading) found in two or more villages."""
    today = today or timezone.localdate()
    township = group.township
    keys = focus_order(group.round)
    village_count = len(build_village_lists(group, today)["lists"])
    by_focus: OrderedDict[int, dict] = OrderedDict()
    for finding in ordered_findings(group):
        village = finding_organisation(finding)
        if not _is_village(village):
            continue
        entry = by_focus.setdefault(finding.focus_id, {"focus": finding.focus, "villages": OrderedDict(), "titles": []})
        entry["villages"].setdefault(village.pk, village)
        entry["titles"].append(f"{village.name}：{finding.title}")
    rows = []
    for entry in sorted(by_focus.values(), key=lambda e: keys.get(e["focus"].pk, (999,))):
        if len(entry["villages"]) < 2:
            continue
        top = _top(entry["focus"])
        villages = sorted(entry["villages"].values(), key=lambda v: v.path)
        rows.append({"number": len(rows) + 1, "focus": entry["focus"].title,
                     "parent": top.title if top.pk != entry["focus"].pk else "",
                     "villages": [v.name for v in villages], "village_count": len(villages),
                     "findings": len(entry["titles"]), "examples": entry["titles"]})
    data = _header(group, "common", f"巡察{township.name}所巡{village_count}个村（社区）共性问题清单", today)
    data.update(rows=rows, totals={"villages": village_count, "common": len(rows),
                                   "findings": sum(row["findings"] for row in rows)})
    return data


def build_secretary_list(group: InspectionGroup, today: datetime.date | None = None) -> dict:
    """书记专题会点人点事点问题建议清单: findings marked for the secretary's meeting."""
    today = today or timezone.localdate()
    township = group.township
    rows = []
    for finding in ordered_findings(group):
        if not finding.for_secretary_meeting:
            continue
        row = _finding_row(len(rows) + 1, finding, township)
        rows.append(row)
    data = _header(group, "secretary", f"巡察{township.name}书记专题会点人点事点问题建议清单", today)
    data.update(rows=rows, totals={"items": len(rows), "people": sum(1 for r in rows if r["people_involved"])})
    return data


BUILDERS = {
    "problems": build_problem_list,
    "villages": build_village_lists,
    "common": build_common_list,
    "secretary": build_secretary_list,
}


def build(group: InspectionGroup, kind: str, *, user, today: datetime.date | None = None) -> dict:
    if kind in FINDING_KINDS and not may_view_findings(user, group):
        raise PermissionDenied(f"{KINDS[kind]}载有问题底稿，仅限本轮巡察组成员、巡察办、领导小组和纪检监察机关查看。")
    if kind == "clues":
        return build_clue_report(group, user=user, today=today)
    if kind == "talks":
        return build_talk_report(group, user=user, today=today)
    if kind == "situation":
        return build_situation_report(group, user=user, today=today)
    if kind not in BUILDERS:
        raise ValueError(f"unknown document {kind!r}")
    return BUILDERS[kind](group, today)


def formats_of(kind: str) -> tuple[str, ...]:
    return ("docx", "pdf", "xlsx") if kind in LIST_KINDS else ("docx", "pdf")


# ---------------------------------------------------------------- summaries (page, PDF and DOCX share them)


def opening(data: dict) -> str:
    """The first paragraph of a report, with its counts from the data."""
    t = data["totals"]
    kind = data["kind"]
    if kind == "situation":
        text = (f"根据县委巡察工作统一部署，{data['signature']}于{data['period_label']}对中共{data['township']}委员会"
                f"及所辖 {t['village_targets']} 个村（社区）党组织开展了常规巡察"
                + (f"（其中机动巡察 {t['mobile']} 个）" if t["mobile"] else "")
                + "。巡察期间，巡察组"
                + (f"共开展个别谈话 {t['talks']} 人次，" if t["talks"] is not None else "")
                + f"发现问题 {t['findings']} 个，"
                f"其中乡镇党委 {t['township']} 个、村（社区）{t['villages']} 个，涉及“三个聚焦”中的 {t['sections']} 个方面；"
                f"拟提交书记专题会点人点事点问题 {t['secretary']} 项。现将巡察情况报告如下。")
        return text
    if kind == "problems":
        return (f"{data['signature']}巡察{data['township']}期间共发现问题 {t['findings']} 个，其中乡镇党委 {t['township']} 个、"
                f"村（社区）{t['villages']} 个，按巡察监督重点分类列示如下。")
    if kind == "talks":
        kinds = "，".join(f"{row['kind']} {row['count']} 人次" for row in data["by_kind"])
        return (f"{data['signature']}于{data['period_label']}巡察{data['township']}期间，共开展个别谈话 {t['talks']} 人次，"
                f"涉及 {t['organisations']} 个党组织" + (f"，其中{kinds}" if kinds else "") + "。现将谈话情况报告如下。")
    if kind == "clues":
        disposals = "，".join(f"{row['disposal']} {row['count']} 条" for row in data["by_disposal"])
        return (f"{data['signature']}巡察{data['township']}期间，共发现问题线索 {t['clues']} 条，涉及 {t['people']} 名（组）人员"
                + (f"，拟处置意见：{disposals}" if disposals else "") + "。现报告如下。")
    if kind == "villages":
        return (f"本轮巡察{data['township']}共巡察 {t['villages']} 个村（社区），其中 {t['with_findings']} 个发现问题，"
                f"共计 {t['findings']} 个，分村列示如下。")
    if kind == "common":
        return (f"所巡 {t['villages']} 个村（社区）中，在两个及以上村（社区）发现的同类问题共 {t['common']} 类、"
                f"{t['findings']} 个，列示如下。")
    if kind == "secretary":
        return (f"经巡察组研究，建议提交县委书记专题会研究的点人点事点问题共 {t['items']} 项，"
                f"其中点人 {t['people']} 项。")
    return ""


def filename(data: dict, fmt: str) -> str:
    return f"{data['title']}.{fmt}"


# ---------------------------------------------------------------- renderers


def render_html(data: dict) -> str:
    template = "documents/round_list.html" if data["kind"] in LIST_KINDS else "documents/round_report.html"
    return render_to_string(template, {"data": data, "opening": opening(data)})


def render_pdf(data: dict, *, laid_out=None) -> bytes:
    """A4, title in Noto Serif CJK (song style), fonts embedded (subset), "第 X 页 共 Y 页"."""
    return html_to_pdf(render_html(data), laid_out=laid_out)


def _list_rows(data: dict) -> tuple[list[str], list[list], list[int]]:
    """Headers, rows and column widths of a list document's table."""
    kind = data["kind"]
    if kind == "problems":
        rows = [[row["number"], section["title"], g["heading"], row["organisation"], row["title"], row["description"]]
                for section in data["sections"] for g in section["groups"] for row in g["items"]]
        return ["序号", "巡察监督重点", "具体方面", "涉及党组织", "问题", "具体表现"], rows, [6, 30, 24, 16, 36, 50]
    if kind == "villages":
        rows = [[v["village"], row["number"], section["title"], g["heading"], row["title"], row["description"]]
                for v in data["lists"] for section in v["sections"] for g in section["groups"] for row in g["items"]]
        return ["村（社区）", "序号", "巡察监督重点", "具体方面", "问题", "具体表现"], rows, [14, 6, 30, 24, 36, 50]
    if kind == "common":
        rows = [[row["number"], row["parent"], row["focus"], row["village_count"], "、".join(row["villages"]),
                 row["findings"], "；".join(row["examples"])] for row in data["rows"]]
        return ["序号", "巡察监督重点", "问题类别", "村（社区）数", "涉及村（社区）", "问题数", "具体问题"], rows, \
            [6, 30, 30, 10, 30, 8, 60]
    rows = [[row["number"], row["organisation"], row["title"], row["people_involved"], row["suggestion"]]
            for row in data["rows"]]
    return ["序号", "涉及党组织", "问题（点事点问题）", "涉及人员（点人）", "处理建议"], rows, [6, 16, 40, 20, 40]


def render_xlsx(data: dict) -> bytes:
    """The list as one sheet (the village lists: one sheet per village plus the combined sheet)."""
    data = printable_tree(data)

    if data["kind"] not in LIST_KINDS:
        raise ValueError("只有清单提供 xlsx 格式。")
    workbook = Workbook()
    workbook.remove(workbook.active)

    def sheet(name: str, title: str, headers, rows, widths):
        ws = workbook.create_sheet(name[:31])
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=14)
        ws.append(headers)
        for cell in ws[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for row in rows:
            ws.append(xlsx_row(ws, row))
        for row in ws.iter_rows(min_row=3):
            for cell in row:
                cell.alignment = Alignment(vertical="top", wrap_text=True)
        for index, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(row=2, column=index).column_letter].width = width
        ws.freeze_panes = "A3"

    headers, rows, widths = _list_rows(data)
    sheet(data["kind_label"].replace("（", "(").replace("）", ")")[:31] if data["kind"] != "villages" else "全部村（社区）",
          data["title"], headers, rows, widths)
    if data["kind"] == "villages":
        for village in data["lists"]:
            village_rows = [[row["number"], section["title"], g["heading"], row["title"], row["description"]]
                            for section in village["sections"] for g in section["groups"] for row in g["items"]]
            sheet(village["village"], village["title"], ["序号", "巡察监督重点", "具体方面", "问题", "具体表现"],
                  village_rows, [6, 30, 24, 36, 50])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_docx(data: dict) -> bytes:
    """GB/T 9704-like Word document: 小标宋 title, 黑体/楷体 headings, 仿宋 body, tables for the lists."""
    data = printable_tree(data)
    # Deferred: python-docx is loaded only where a Word file is written
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.orientation = WD_ORIENT.PORTRAIT
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)

    def paragraph(text: str, *, family="仿宋_GB2312", size=16, bold=False, indent=True, align=None):
        para = document.add_paragraph()
        if indent:
            para.paragraph_format.first_line_indent = Pt(size * 2)
        if align is not None:
            para.alignment = align
        set_font(para.add_run(text), size=size, bold=bold, family=family)
        return para

    def table(headers: list[str], rows: list[list]):
        grid = document.add_table(rows=1, cols=len(headers))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, headers, strict=True):
            cell.text = ""
            set_font(cell.paragraphs[0].add_run(text), bold=True, size=10.5, family="黑体")
        for row in rows:
            for cell, value in zip(grid.add_row().cells, row, strict=True):
                cell.text = ""
                set_font(cell.paragraphs[0].add_run(str(value)), size=10.5, family="仿宋_GB2312")
        return grid

    paragraph(data["title"], family="方正小标宋简体", size=22, indent=False, align=WD_ALIGN_PARAGRAPH.CENTER)
    paragraph(opening(data))

    def sections_text(sections):
        for sec in sections:
            paragraph(f"{sec['label']}{sec['title']}（{sec['count']} 个问题）", family="楷体_GB2312")
            for g in sec["groups"]:
                if g["heading"]:
                    paragraph(g["heading"], bold=True)
                for row in g["items"]:
                    who = f"（{row['organisation']}）" if row["organisation"] else ""
                    paragraph(f"{row['number']}. {row['title']}{who}。{row['description']}")

    kind = data["kind"]
    if kind == "situation":
        paragraph("一、基本情况", family="黑体")
        villages = "、".join(f"{v['name']}" + (f"（{v['class']}，{v['mode']}）" if v["class"] else "")
                            + ("（机动巡察）" if v["mobile"] else "") for v in data["villages"])
        paragraph(f"本轮巡察对象为中共{data['township']}委员会及{villages or '所辖村（社区）党组织'}。")
        paragraph("二、发现的主要问题", family="黑体")
        sections_text(data["sections"]) if data["sections"] else paragraph("巡察未发现问题。")
        paragraph("三、意见建议", family="黑体")
        for row in data["suggestions"]:
            paragraph(f"针对第 {row['number']} 个问题（{row['title']}）：{row['suggestion']}")
        if not data["suggestions"]:
            paragraph("建议被巡察党组织对照发现问题清单逐项整改。")
        paragraph("附件：发现问题清单", indent=False)
        headers, rows, _ = _list_rows({**data, "kind": "problems"})
        table(headers[:5], [row[:5] for row in rows])
    elif kind == "talks":
        paragraph("一、谈话基本情况", family="黑体")
        table(["谈话对象类别", "人次"], [[row["kind"], row["count"]] for row in data["by_kind"]]
              + [["合计", data["totals"]["talks"]]])
        paragraph("二、谈话反映的主要情况", family="黑体")
        for row in data["points"]:
            paragraph(f"{row['number']}. {row['position'] or row['kind']}（{row['organisation']}，{row['kind']}）：{row['summary']}")
    elif kind == "clues":
        paragraph("一、问题线索情况", family="黑体")
        for row in data["clues"]:
            paragraph(f"{row['number']}. 涉及{row['people_involved']}（{row['organisation']}）：{row['description']}"
                      + (f" 线索来源：{row['source']}。" if row["source"] else "") + f" 处置建议：{row['disposal']}。")
        if not data["clues"]:
            paragraph("巡察期间未发现问题线索。")
    elif kind == "problems":
        headers, rows, _ = _list_rows(data)
        table(headers, rows)
    elif kind == "villages":
        for village in data["lists"]:
            paragraph(f"{village['title']}（{village['count']} 个问题）", family="黑体", indent=False)
            if not village["count"]:
                paragraph("巡察未发现问题。")
                continue
            table(["序号", "巡察监督重点", "问题", "具体表现"],
                  [[row["number"], g["heading"] or sec["title"], row["title"], row["description"]]
                   for sec in village["sections"] for g in sec["groups"] for row in g["items"]])
    elif kind == "common":
        headers, rows, _ = _list_rows(data)
        table(headers[:6], [row[:6] for row in rows])
    elif kind == "secretary":
        headers, rows, _ = _list_rows(data)
        table(headers, rows)
    paragraph(data["signature"], indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    paragraph(data["date_label"], indent=False, align=WD_ALIGN_PARAGRAPH.RIGHT)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


RENDERERS = {"pdf": render_pdf, "docx": render_docx, "xlsx": render_xlsx}


def render(data: dict, fmt: str) -> bytes:
    if fmt not in formats_of(data["kind"]):
        raise ValueError(f"{data['kind_label']}不提供 {fmt} 格式。")
    return RENDERERS[fmt](data)


def export(group: InspectionGroup, kind: str, fmt: str, *, by, laid_out=None) -> tuple[bytes, dict]:
    """Build and render one document for `by`; the download goes to the audit trail (laid_out: governance.pdf)."""
    if not may_view_reports(by, group):
        raise PermissionDenied("您没有查看该巡察组报告的权限。")
    data = build(group, kind, user=by)
    content = render_pdf(data, laid_out=laid_out) if fmt == "pdf" else render(data, fmt)
    # Filed under the kind the document is read from (clues, talks, working papers), not under the group:
    # that kind's rule keeps the entry, whose size says how much there is, to the reader who downloaded it.
    audit.record("inspection_report.export", actor=by, about=DOCUMENT_KINDS[kind], region_path=group.township.path,
                 after={"group": group.pk, "kind": kind, "format": fmt, "bytes": len(content)}, object_repr=data["title"])
    return content, data
