"""An event's case record (办理经过): every step with who, when, where, the decision, the opinion and its
evidence, read from the event's audit rows and attachments (no copy is kept on the event).

The audit rows are the record: each step's service writes one, with the opinion (the reason, result or
dispatch instructions) and the ids of the files stored with it. Older rows, written before the opinion
was kept in the row, are read from their before/after snapshots (the escalation reason was appended to
the event's result as "[上报] …"), and their files are matched to the step of the same person at the
same time. The detail page, the API and the export show the same timeline.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.db.models import F
from django.utils import timezone

from governance.audit_labels import action_label
from governance.kept_sql import KeptQuery
from governance.models import Attachment, AuditEntry

from .flow_policy import policy_of, step_name
from .models import Department, Event
from .region_memo import regions_by_id

# action → the name of its opinion on the page (a step without one shows only its decision)
OPINION_LABELS = {
    "event.report": "事件描述",
    "event.resolve": "处置结果",
    "event.escalate": "上报理由",
    "event.auto_escalate": "上报理由",
    "event.dispatch": "派单意见",
    "event.merge": "合并说明",
    "event.reject": "驳回理由",
    "event.department.resolve": "办理结果",
    "event.department.send_back": "退回理由",
    "event.verify.satisfied": "核实意见",
    "event.verify.return": "不满意的理由",
    "event.verify.return_to_department": "不满意的理由",
    "event.rate": "评价",
    "event.supervised": "督办",
}
# Steps whose files show the scene before handling (上报) and after it (处置).
BEFORE_ACTIONS = {"event.report"}
AFTER_ACTIONS = {"event.resolve", "event.department.resolve"}
STEP_ACTIONS = set(OPINION_LABELS)
# Files stored this long before the audit row of the same person belong to that step (older rows).
MATCH_SECONDS = 5


@dataclass
class Evidence:
    attachment: Attachment
    role: str  # 上报照片, 处置照片, 上报材料, 处置佐证, 佐证材料


@dataclass
class CaseStep:
    at: datetime.datetime
    actor: str
    action: str
    label: str
    where: str = ""  # the region handling the event when the step was taken
    opinion_label: str = ""
    opinion: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)  # (名称, 内容): 承办部门, 办理要求, 办理时限
    evidence: list[Evidence] = field(default_factory=list)


def evidence_role(action: str, attachment: Attachment) -> str:
    image = attachment.kind == "image"
    if action in BEFORE_ACTIONS:
        return "上报照片" if image else "上报材料"
    if action in AFTER_ACTIONS:
        return "处置照片" if image else "处置佐证"
    return "佐证材料"


def _actor(entry: AuditEntry, actors: dict) -> str:
    """The actor's current name; the name kept in the row when the account is gone."""
    actor = actors.get(entry.actor_id)
    if actor is not None:
        return actor.get_full_name() or actor.get_username()
    return entry.actor_name or "系统"


def _text(value) -> str:
    return str(value).strip() if value not in (None, "") else ""


def _opinion(entry: AuditEntry) -> str:
    """The step's opinion: kept in the row since it was recorded there, else derived from the snapshots."""
    before, after = entry.before or {}, entry.after or {}
    if _text(after.get("opinion")):
        return _text(after["opinion"])
    action = entry.action
    if action in ("event.escalate", "event.auto_escalate"):
        old, new = _text(before.get("result")), _text(after.get("result"))
        tail = new[len(old):].strip() if new.startswith(old) else new
        for prefix in ("[自动上报]", "[上报]"):
            tail = tail.replace(prefix, "")
        return tail.strip()
    if action in ("event.resolve", "event.department.resolve"):
        return _text(after.get("result"))
    if action in ("event.reject", "event.department.send_back", "event.verify.return",
                  "event.verify.return_to_department"):
        return _text(after.get("rejection_reason"))
    if action == "event.merge" and after.get("duplicate_of"):
        return f"与事件 #{after['duplicate_of']} 重复"
    if action == "event.verify.satisfied":
        return "满意"
    if action == "event.rate" and after.get("rating"):
        return f"{after['rating']} 分" + (f"，{_text(after.get('comment'))}" if _text(after.get("comment")) else "")
    if action == "event.supervised":
        return "超过办理时限，已向办理人及其上级发出督办"
    return ""


def _details(entry: AuditEntry, departments: dict[int, str]) -> list[tuple[str, str]]:
    after = entry.after or {}
    rows = []
    if entry.action == "event.dispatch" and after.get("department") in departments:
        rows.append(("承办部门", departments[after["department"]]))
    if _text(after.get("requirements")):
        rows.append(("办理要求", _text(after["requirements"])))
    if _text(after.get("due_on")):
        try:
            day = datetime.date.fromisoformat(_text(after["due_on"]))
        except ValueError:
            rows.append(("办理时限", _text(after["due_on"])))
        else:
            rows.append(("办理时限", f"{day.year}年{day.month}月{day.day}日"))
    return rows


def timelines(events: list[Event]) -> dict[int, list[CaseStep]]:
    """The case record of each event, oldest step first: three queries for any number of events."""
    return _timelines_and_files(events)[0]


def timeline_and_files(event: Event) -> tuple[list[CaseStep], list[Attachment]]:
    """The event's case record and all its files in upload order (the detail page shows both)."""
    steps, files = _timelines_and_files([event])
    return steps[event.pk], files.get(event.pk, [])


def _actors(entries: list[AuditEntry]) -> dict:
    """The entries' actors as accounts built from the names read with the entries (the other fields are
    deferred: read if asked for); an account that is gone is not among them."""
    user_model = Event.reporter.field.related_model
    return {entry.actor_id: user_model.from_db(entry._state.db, ACTOR_FIELDS,
                                               [entry.actor_id, entry.actor_username, entry.actor_first_name,
                                                entry.actor_last_name])
            for entry in entries if entry.actor_id is not None and entry.actor_username is not None}


def _attach_reporters(events: list[Event], actors: dict) -> None:
    """Each event's reporter from its case record's actors, when one of them is the reporter: the page
    names the reporter, and this spares a query per event."""
    for event in events:
        if event.reporter_id in actors and not Event.reporter.is_cached(event):
            event.reporter = actors[event.reporter_id]


# The two reads of every case record, compiled once per process (governance.kept_sql); the actor's
# name is read with each entry.
ACTOR_FIELDS = ["id", "username", "first_name", "last_name"]
STEP_ENTRIES = KeptQuery(lambda event_ids: AuditEntry.objects.filter(
    object_type=Event._meta.label, object_id__in=event_ids, action__in=sorted(STEP_ACTIONS),
).annotate(**{f"actor_{name}": F(f"actor__{name}") for name in ACTOR_FIELDS[1:]}).order_by("id"))
EVENT_FILES = KeptQuery(lambda type_id, event_ids: Attachment.objects.filter(
    owner_type_id=type_id, owner_id__in=event_ids).order_by("id"))


def _timelines_and_files(events: list[Event]) -> tuple[dict[int, list[CaseStep]], dict[int, list[Attachment]]]:
    if not events:
        return {}, {}
    entries = list(STEP_ENTRIES([str(event.pk) for event in events]))
    files = list(EVENT_FILES(ContentType.objects.get_for_model(Event).pk, [event.pk for event in events]))
    region_ids = {entry.before.get("handling_region") for entry in entries if entry.before} | {
        entry.after.get("handling_region") for entry in entries if entry.after}
    region_ids.discard(None)
    regions, tiers = {}, {}
    if region_ids:  # an empty IN list still costs Django a compile before it gives up
        for pk, region in regions_by_id(region_ids).items():
            regions[pk], tiers[pk] = region.name, region.tier.key
    policies = {event.pk: policy_of(event) for event in events}
    department_ids = {entry.after.get("department") for entry in entries
                      if entry.action == "event.dispatch" and entry.after} - {None}
    departments = (dict(Department.objects.filter(pk__in=department_ids).values_list("pk", "name"))
                   if department_ids else {})
    actors = _actors(entries)
    _attach_reporters(events, actors)
    by_event: dict[int, list[tuple[AuditEntry, CaseStep]]] = defaultdict(list)
    for entry in entries:
        where_pk = (entry.before or {}).get("handling_region") or (entry.after or {}).get("handling_region")
        step = CaseStep(
            at=entry.created_at, actor=_actor(entry, actors), action=entry.action,
            label=_label(entry.action, tiers.get(where_pk, ""), policies.get(int(entry.object_id))),
            where=regions.get(where_pk, ""), opinion_label=OPINION_LABELS.get(entry.action, ""),
            opinion=_opinion(entry), details=_details(entry, departments),
        )
        by_event[int(entry.object_id)].append((entry, step))
    files_by_event: dict[int, list[Attachment]] = defaultdict(list)
    for attachment in files:
        files_by_event[attachment.owner_id].append(attachment)
    for event in events:
        _attach_files(by_event.get(event.pk, []), files_by_event.get(event.pk, []), reporter_id=event.reporter_id)
    return {event.pk: [step for _entry, step in by_event.get(event.pk, [])] for event in events}, files_by_event


def _label(action: str, tier_key: str, policy) -> str:
    """The decision, followed by the step it was taken at, named by tier: 上报上一级（网格处置）."""
    label = action_label(action)
    if action.startswith("event.department."):
        step = "department"
    elif action.startswith("event.verify."):
        step = "verify"
    elif action in ("event.resolve", "event.escalate", "event.dispatch", "event.merge", "event.reject",
                    "event.auto_escalate"):
        step = "handle"
    else:
        return label
    return f"{label}（{step_name(step, tier_key, policy)}）"


def _attach_files(steps: list[tuple[AuditEntry, CaseStep]], files: list[Attachment], *, reporter_id) -> None:
    """Give each file to the step that stored it: by the ids the row keeps, else by person and time."""
    claimed: set[int] = set()
    by_id = {attachment.pk: attachment for attachment in files}
    for entry, step in steps:
        for pk in (entry.after or {}).get("evidence") or []:
            if pk in by_id and pk not in claimed:
                step.evidence.append(Evidence(by_id[pk], evidence_role(step.action, by_id[pk])))
                claimed.add(pk)
    slack = datetime.timedelta(seconds=MATCH_SECONDS)
    for attachment in files:
        if attachment.pk in claimed:
            continue
        owner = next(((entry, step) for entry, step in steps
                      if entry.actor_id == attachment.uploaded_by_id and entry.created_at >= attachment.created_at - slack
                      and (entry.action in BEFORE_ACTIONS | AFTER_ACTIONS)), None)
        if owner is None and steps and attachment.uploaded_by_id == reporter_id and steps[0][1].action in BEFORE_ACTIONS:
            owner = steps[0]
        if owner is not None:
            owner[1].evidence.append(Evidence(attachment, evidence_role(owner[1].action, attachment)))
            claimed.add(attachment.pk)


def disposal_result(event: Event) -> str:
    """The event's result without the escalation reasons older versions appended to it ("[上报] …"):
    those are read from the case record."""
    lines = [line for line in (event.result or "").splitlines()
             if not line.startswith(("[上报]", "[自动上报]"))]
    return "\n".join(lines).strip()


def timeline(event: Event) -> list[CaseStep]:
    return timelines([event])[event.pk]


def step_line(step: CaseStep) -> str:
    """One step as a line of text (the export's 办理经过 column)."""
    text = f"{timezone.localtime(step.at):%Y-%m-%d %H:%M} {step.actor} {step.label}"
    if step.where:
        text += f"（{step.where}）"
    if step.opinion:
        text += f"：{step.opinion_label}：{step.opinion}" if step.opinion_label else f"：{step.opinion}"
    for name, value in step.details:
        text += f"；{name}：{value}"
    if step.evidence:
        counts: dict[str, int] = defaultdict(int)
        for item in step.evidence:
            counts[item.role] += 1
        text += "；" + "、".join(f"{role} {count} 份" for role, count in counts.items())
    return text
