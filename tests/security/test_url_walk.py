"""Every URL, walked by everyone who must not see county A: one user per role posted in the unrelated
county B, a user without any post, and an anonymous visitor.

For each URL pattern of config.urls, CASES says how to fill its parameters from the county A
world (every variant of a document download, every action of a record) and what kind of page it is:

- OBJECT: the URL names a county A record. GET and POST must be refused: 302 to the login page for
  the anonymous visitor, 403 or 404 for everyone else (405 for a POST a view does not take).
- PAGE: a list, a form, a dashboard. A county B user may open it (it shows their own county), but
  no county A text may appear, clues and draft notices above all; the anonymous visitor is sent to
  the login page.
- PUBLIC / OPEN: pages meant for everyone (the published notices; login and health); the draft
  notice must stay invisible.

Every POST is checked to have changed nothing: no row added or removed in any table of the project
and no field of a county A record changed. A pattern without a CASES entry fails the test with its
name, so a new URL cannot go unwalked. The admin site is covered in bulk: staff only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from governance.evidence import attachments_of

from .world import CLUE_SECRET, DAY, DRAFT_SECRET, SECRET, TALK_SECRET, UNRELEASED_SECRET, World, build_world

OBJECT, PAGE, PUBLIC, OPEN = "object", "page", "public", "open"
LOGIN_PREFIXES = ("/accounts/login/", "/admin/login/")


@dataclass
class Case:
    kind: str
    variants: Callable[[World], list[tuple[dict, str]]] = lambda w: [({}, "")]
    post: bool | None = None  # also POST to it (default: records yes; pages only where marked)
    note: str = ""
    get_is_harmless: bool = False  # a GET only sends the user on (to a page that leaks nothing); POST acts
    markers: tuple = field(default=(SECRET, CLUE_SECRET, DRAFT_SECRET, UNRELEASED_SECRET, TALK_SECRET))


def pk(name: str, **extra):
    return lambda w: [({"pk": w.a[name].pk, **extra}, "")]


def each(name: str, key: str, values):
    return lambda w: [({"pk": w.a[name].pk, key: value}, "") for value in values]


def query(text: Callable[[World], str]):
    """The page with county A's records named in its query string (filters, township, village)."""
    return lambda w: [({}, text(w))]


def month() -> str:
    return timezone.localdate().strftime("%Y-%m")


def _evidence(w: World, owner: str):
    return [({"pk": attachment.pk}, "") for attachment in attachments_of(w.a[owner])]


def _owned_evidence(w: World, owner: str, attachment_owner: str | None = None):
    source = w.a[attachment_owner or owner]
    return [({"pk": w.a[owner].pk, "attachment_pk": a.pk}, "") for a in attachments_of(source)]


# Every kind of record that has evidence in the world (each has its own route too; see DEDICATED_EVIDENCE).
EVIDENCE_OWNERS = ("event", "patrol_report", "finding_with_photo", "unreleased_finding", "progress", "visit")


def _round_documents(w: World):
    from inspection.rounds import group_reports as round_reports

    return [({"pk": w.a["group"].pk, "kind": kind, "fmt": fmt}, "")
            for kind in round_reports.KINDS for fmt in round_reports.formats_of(kind)]


def _circular_downloads(w: World):
    township = w.county.taiping.pk
    return [({"fmt": fmt}, f"township={township}&kind=month&month={month()}") for fmt in ("pdf", "xlsx", "docx")] + [
        ({"fmt": fmt}, f"township={township}&kind=quarter&quarter={timezone.localdate().year}Q1") for fmt in ("pdf", "xlsx")]


def _circular_query(w: World) -> str:
    return f"township={w.county.taiping.pk}&kind=month&month={month()}"


def _jobs(w: World):
    return [({"pk": w.a["job"].pk}, "")] if "job" in w.a else []


CASES: dict[str, Case] = {
    # ---- site-wide
    "index": Case(PAGE),
    "healthz": Case(OPEN, post=False),
    "login": Case(OPEN), "logout": Case(OPEN),
    "password_change": Case(PAGE), "password_change_done": Case(PAGE),  # one's own password only
    "session_ping": Case(PAGE, post=False),  # 204 for anyone signed in, nothing else
    # (password reset exists only where mail is configured: not in the tests, see test_account_recovery)
    "two_factor_setup": Case(PAGE, post=True), "two_factor_verify": Case(PAGE, post=True),
    "inbox": Case(PAGE, lambda w: [({}, ""), ({}, "unread=on&q=整改")], post=True),
    "evidence": Case(OBJECT, lambda w: [v for owner in EVIDENCE_OWNERS for v in _evidence(w, owner)]),
    "evidence_thumb": Case(OBJECT, lambda w: [v for owner in EVIDENCE_OWNERS for v in _evidence(w, owner)]),
    "public_notices:list": Case(PUBLIC, lambda w: [({}, ""), ({}, "q=整改&sort=oldest")], markers=(DRAFT_SECRET,)),
    "public_notices:detail": Case(OBJECT, pk("draft_notice"), note="草稿通报对所有人 404"),
    "public_notices:pdf": Case(OBJECT, pk("draft_notice"), note="草稿通报对所有人 404"),
    "dashboard_chart_svg": Case(PAGE, lambda w: [({"key": key}, "") for key in ("events", "rectification", "patrol")]),
    "flow_charts": Case(PAGE),
    "flow_chart_file": Case(PAGE, lambda w: [({"key": key, "fmt": fmt}, "") for key in ("event", "patrol_report")
                                             for fmt in ("svg", "bpmn")]),
    "jobs:list": Case(PAGE, lambda w: [({}, ""), ({}, "status=succeeded&sort=oldest")]),
    "jobs:detail": Case(OBJECT, _jobs), "jobs:status": Case(OBJECT, _jobs), "jobs:result": Case(OBJECT, _jobs),
    # ---- grid
    "grid:index": Case(PAGE), "grid:my_tasks": Case(PAGE, lambda w: [({}, ""), ({}, "q=事件标题&step=handle&sort=deadline")]),
    "grid:events": Case(PAGE, query(lambda w: f"region={w.county.grid1.pk}&q=事件标题")),
    "grid:event_export": Case(PAGE, query(lambda w: f"region={w.county.grid1.pk}"), post=False),
    # a county A region asked for by a county B user: their own area's map instead, nothing of county A
    "grid:map": Case(PAGE, query(lambda w: f"region={w.county.grid1.pk}")),
    "grid:event_report": Case(PAGE, post=True), "grid:event_chart": Case(PAGE),
    "grid:event_detail": Case(OBJECT, pk("event")),
    "grid:event_process_chart": Case(OBJECT, lambda w: [({"pk": w.a["event"].pk}, ""), ({"pk": w.a["event"].pk}, "format=bpmn")]),
    "grid:event_action": Case(OBJECT, each("event", "action", ["handle", "department", "verify", "rate"])),
    "grid:patrols": Case(PAGE, lambda w: [({}, ""), ({}, f"region={w.county.grid1.pk}&q=巡查&sort=oldest")]),
    "grid:patrol_export": Case(PAGE, query(lambda w: f"region={w.county.grid1.pk}"), post=False),
    "grid:patrol_new": Case(PAGE, post=True),
    "grid:patrol_detail": Case(OBJECT, pk("patrol_log")),
    "grid:diaries": Case(PAGE, lambda w: [({}, ""), ({}, f"region={w.county.grid1.pk}&reviewed=no&sort=oldest")]),
    "grid:diary_export": Case(PAGE, query(lambda w: f"region={w.county.grid1.pk}"), post=False),
    "grid:diary_write": Case(PAGE, post=True),
    "grid:diary_detail": Case(OBJECT, pk("diary")), "grid:diary_review": Case(OBJECT, pk("diary")),
    "grid:households": Case(PAGE, post=True), "grid:household_detail": Case(OBJECT, pk("household")),
    "grid:visit_photo": Case(OBJECT, lambda w: _owned_evidence(w, "visit")),
    "grid:flow_policies": Case(PAGE),
    "grid:flow_policy_new": Case(OBJECT, lambda w: [({"region_pk": w.county.county.pk}, ""), ({"region_pk": w.county.louxing.pk}, "")]),
    "grid:compliance": Case(PAGE, query(lambda w: f"month={month()}&region={w.county.grid1.pk}")),
    "grid:compliance_export": Case(PAGE, query(lambda w: f"month={month()}"), post=False),
    "grid:staff_assessment": Case(PAGE, lambda w: [({}, ""), ({}, f"period={timezone.localdate().year}")]),
    "grid:staff_assessment_export": Case(PAGE, query(lambda w: f"period={timezone.localdate().year}Q1"), post=False),
    "grid:mobile": Case(PAGE), "grid:mobile_report": Case(PAGE, post=True), "grid:mobile_diary": Case(PAGE, post=True),
    # ---- big patrol
    "patrol:index": Case(PAGE), "patrol:catalog": Case(PAGE), "patrol:groups": Case(PAGE),
    "patrol:findings": Case(PAGE), "patrol:finding_new": Case(PAGE, post=True),
    "patrol:finding_export": Case(PAGE, query(lambda w: f"village={w.county.louxing.pk}&q=村"), post=False),
    "patrol:finding_detail": Case(OBJECT, pk("patrol_finding")),
    "patrol:finding_register": Case(OBJECT, pk("patrol_finding")),
    "patrol:finding_fraud": Case(OBJECT, pk("patrol_finding")),
    "patrol:checks": Case(PAGE), "patrol:check_new": Case(PAGE, post=True),
    "patrol:check_export": Case(PAGE, query(lambda w: f"village={w.county.louxing.pk}"), post=False),
    "patrol:oversight": Case(PAGE, query(lambda w: f"township={w.county.taiping.pk}&month={month()}")),
    "patrol:oversight_confirm": Case(PAGE, post=True),
    "patrol:oversight_work": Case(PAGE, post=True),
    "patrol:ledger": Case(PAGE), "patrol:ledger_new": Case(PAGE, post=True),
    "patrol:ledger_list_export": Case(PAGE, query(lambda w: f"village={w.county.louxing.pk}"), post=False),
    "patrol:reports": Case(PAGE), "patrol:report_new": Case(PAGE, post=True), "patrol:report_flow_chart": Case(PAGE),
    "patrol:verify_queue": Case(PAGE), "patrol:review_queue": Case(PAGE),
    "patrol:report_export": Case(PAGE, query(lambda w: f"village={w.county.louxing.pk}"), post=False),
    "patrol:report_detail": Case(OBJECT, pk("patrol_report")),
    "patrol:report_chart": Case(OBJECT, pk("patrol_report")),
    "patrol:report_evidence": Case(OBJECT, lambda w: _owned_evidence(w, "patrol_report")),
    "patrol:report_action": Case(OBJECT, each("patrol_report", "action", ["verify", "follow_up", "fraud"])),
    "patrol:circulars": Case(PAGE, query(_circular_query)),
    "patrol:circular_publish": Case(PAGE, post=True, variants=query(_circular_query)),
    "patrol:circular_download": Case(PAGE, _circular_downloads, post=False),
    "patrol:incentive_download": Case(PAGE, lambda w: [
        ({"fmt": fmt}, f"township={w.county.taiping.pk}&quarter={timezone.localdate().year}Q1") for fmt in ("docx", "xlsx")],
        post=False),
    "patrol:year_summary_download": Case(PAGE, lambda w: [
        ({"fmt": fmt}, f"township={w.county.taiping.pk}&year={timezone.localdate().year}") for fmt in ("docx", "xlsx")],
        post=False),
    "patrol:circular_batch": Case(PAGE, post=True, variants=query(_circular_query)),
    "patrol:patrol_import": Case(PAGE, post=True),
    "patrol:ledger_exports": Case(PAGE),
    "patrol:ledger_export": Case(PAGE, query(lambda w: f"village={w.county.louxing.pk}"), post=False),
    "patrol:book_export": Case(PAGE, query(lambda w: f"department={w.county.agriculture.pk}"), post=False),
    # ---- county inspection
    "inspection:index": Case(PAGE), "inspection:rounds": Case(PAGE), "inspection:round_new": Case(PAGE, post=True),
    "inspection:round_export": Case(PAGE, query(lambda w: f"term={w.a['round'].term}&sort=oldest")),
    "inspection:round_detail": Case(OBJECT, pk("round")),
    "inspection:township_rounds": Case(PAGE),
    "inspection:township_round_detail": Case(OBJECT, pk("round")),
    "inspection:round_group_new": Case(OBJECT, pk("round")),
    "inspection:round_group": Case(OBJECT, pk("group")),
    "inspection:proposal_new": Case(OBJECT, pk("current_group")),
    "inspection:proposal_flow_chart": Case(PAGE),
    "inspection:proposal_detail": Case(OBJECT, pk("proposal")),
    "inspection:proposal_chart": Case(OBJECT, pk("proposal")),
    "inspection:coverage": Case(PAGE, query(lambda w: f"county={w.county.county.pk}")),
    "inspection:onsite_findings": Case(PAGE), "inspection:onsite_finding_new": Case(PAGE, post=True),
    "inspection:onsite_finding_export": Case(PAGE, query(lambda w: f"round={w.a['round'].pk}&group={w.a['group'].pk}")),
    "inspection:onsite_finding_detail": Case(OBJECT, pk("inspection_finding")),
    "inspection:onsite_finding_evidence": Case(OBJECT, lambda w: _owned_evidence(w, "finding_with_photo")),
    "inspection:onsite_talks": Case(PAGE), "inspection:onsite_talk_new": Case(PAGE, post=True),
    "inspection:onsite_talk_export": Case(PAGE, query(lambda w: f"round={w.a['round'].pk}&q=谈话")),
    "inspection:onsite_clues": Case(PAGE, query(lambda w: "q=涉及人员"), note="问题线索"),
    "inspection:onsite_clue_export": Case(PAGE, query(lambda w: f"q=涉及人员&group={w.a['group'].pk}"), note="问题线索"),
    "inspection:onsite_clue_new": Case(PAGE, post=True),
    "inspection:onsite_clue_detail": Case(OBJECT, pk("clue"), note="问题线索"),
    "inspection:onsite_lookbacks": Case(PAGE), "inspection:onsite_lookback_new": Case(PAGE, post=True),
    "inspection:onsite_lookback_export": Case(PAGE, query(lambda w: f"round={w.a['round'].pk}")),
    "inspection:onsite_lookback_result": Case(OBJECT, pk("look_back")),
    "inspection:letters": Case(PAGE), "inspection:letter_new": Case(PAGE, post=True),
    "inspection:letter_export": Case(PAGE, query(lambda w: f"round={w.a['round'].pk}&sort=due")),
    "inspection:letter_detail": Case(OBJECT, pk("letter")),
    "inspection:letter_reply": Case(OBJECT, pk("letter")),
    "inspection:letter_download": Case(OBJECT, each("letter", "fmt", ["pdf", "docx"])),
    "inspection:round_report_list": Case(PAGE),
    "inspection:round_reports": Case(OBJECT, pk("group")),
    "inspection:round_report_download": Case(OBJECT, _round_documents, note="含问题线索报告"),
    "inspection:round_timeline": Case(OBJECT, pk("group")),
    "inspection:round_feedback": Case(OBJECT, pk("group")),
    # ---- rectification
    "rectification:index": Case(PAGE), "rectification:dashboard": Case(PAGE),
    "rectification:plans": Case(PAGE, query(lambda w: f"organisation={w.county.taiping.pk}&q=整改&sort=overdue")),
    "rectification:items": Case(PAGE, query(lambda w: f"plan={w.a['plan'].pk}&status=open&sort=deadline")),
    "rectification:plan_export": Case(PAGE, query(lambda w: f"organisation={w.county.taiping.pk}"), post=False),
    "rectification:item_export": Case(PAGE, query(lambda w: f"plan={w.a['plan'].pk}&organisation={w.county.taiping.pk}"),
                                      post=False),
    "rectification:plan_import": Case(PAGE, post=True), "rectification:notice_batch": Case(PAGE, post=True),
    "rectification:plan_detail": Case(OBJECT, pk("plan")),
    "rectification:plan_action": Case(OBJECT, each("plan", "action", ["header", "meeting", "measure", "recovery",
                                                                      "petition", "accountability"])),
    "rectification:item_detail": Case(OBJECT, pk("item")),
    "rectification:item_evidence": Case(OBJECT, lambda w: _owned_evidence(w, "item", "progress")),
    "rectification:item_action": Case(OBJECT, each("item", "action", ["update", "progress", "claim", "verify",
                                                                      "unfinished"])),
    "rectification:plan_notices": Case(OBJECT, pk("plan")),
    "rectification:notice_preview": Case(OBJECT, pk("draft_notice"), note="草稿通报"),
    "rectification:notice_download": Case(OBJECT, each("draft_notice", "fmt", ["pdf", "html", "docx"]), note="草稿通报"),
    "rectification:notice_edit": Case(OBJECT, pk("draft_notice"), note="草稿通报"),
    "rectification:notice_template": Case(PAGE, post=True),
    "rectification:notice_template_county": Case(OBJECT, lambda w: [({"county_pk": w.county.county.pk}, "")]),
    "rectification:notice_action": Case(OBJECT, lambda w: [({"pk": w.a["plan"].pk, "action": "draft"}, ""),
                                                           ({"pk": w.a["draft_notice"].pk, "action": "approve"}, ""),
                                                           ({"pk": w.a["draft_notice"].pk, "action": "publish"}, "")]),
    # ---- system
    "system:index": Case(PAGE), "system:regions": Case(PAGE, query(lambda w: f"q={w.county.louxing.name}")),
    "system:region_detail": Case(OBJECT, lambda w: [({"pk": w.county.louxing.pk}, ""), ({"pk": w.county.county.pk}, "")]),
    "system:posts": Case(PAGE), "system:audit": Case(PAGE), "system:admin": Case(PAGE),
    "system:post_export": Case(PAGE, query(lambda w: f"region={w.county.louxing.name}&sort=name"), post=False),
    "system:audit_export": Case(PAGE, query(lambda w: "object_type=rectification.RectificationPlan&sort=oldest"),
                                post=False),
    # ---- open API (session or device token) and Open311 (API key)
    "api:me": Case(PAGE), "api:categories": Case(PAGE),
    "api:regions": Case(PAGE, query(lambda w: f"parent={w.county.county.pk}")),
    "api:region_detail": Case(OBJECT, lambda w: [({"pk": w.county.louxing.pk}, "")]),
    "api:events": Case(PAGE, post=True, variants=query(lambda w: f"region={w.county.grid1.pk}")),
    "api:event_detail": Case(OBJECT, pk("event")),
    "api:event_handle": Case(OBJECT, pk("event")), "api:event_department": Case(OBJECT, pk("event")),
    "api:event_verify": Case(OBJECT, pk("event")), "api:event_rate": Case(OBJECT, pk("event")),
    "api:event_attachment": Case(OBJECT, lambda w: _owned_evidence(w, "event")),
    "api:tasks": Case(PAGE),
    "api:patrol_reports": Case(PAGE, post=True, variants=query(lambda w: f"village={w.county.louxing.pk}")),
    "api:patrol_report_detail": Case(OBJECT, pk("patrol_report")),
    "api:patrol_report_attachment": Case(OBJECT, lambda w: _owned_evidence(w, "patrol_report")),
    "api:patrol_scores": Case(PAGE, query(lambda w: f"township={w.county.taiping.pk}&month={month()}")),
    "api:plans": Case(PAGE), "api:plan_detail": Case(OBJECT, pk("plan")),
    "api:items": Case(PAGE), "api:item_detail": Case(OBJECT, pk("item")),
    "api:item_progress": Case(OBJECT, pk("item")), "api:item_claim": Case(OBJECT, pk("item")),
    "api:item_attachment": Case(OBJECT, lambda w: _owned_evidence(w, "item", "progress")),
    "api:notices": Case(PUBLIC, markers=(DRAFT_SECRET,)),  # published notices are public
    "api:notice_detail": Case(OBJECT, pk("draft_notice"), note="草稿通报"),
    "api_schema": Case(OPEN, post=False), "api_docs": Case(OPEN, post=False),
    "api_tokens": Case(PAGE, post=True),
    "api_token_revoke": Case(OBJECT, lambda w: [({"pk": w.a["device_token"].pk}, "")] if "device_token" in w.a else [],
                             get_is_harmless=True),
    "open311:services": Case(OPEN, lambda w: [({"fmt": "json"}, ""), ({"fmt": "xml"}, "")], post=False),
    "open311:service_definition": Case(OPEN, lambda w: [({"code": "S01", "fmt": "json"}, "")], post=False),
    "open311:discovery": Case(OPEN, lambda w: [({"fmt": "json"}, ""), ({"fmt": "xml"}, "")], post=False),
    # Without a key: the events of public categories only (the world's category is private: none of
    # it shows), and no report may be made.
    "open311:requests": Case(PUBLIC, lambda w: [({"fmt": fmt}, f"service_request_id={w.a['event'].pk}")
                                                for fmt in ("json", "xml")], post=True,
                             note="无 api_key 只看公开类别、不许报"),
    "open311:request_detail": Case(OBJECT, lambda w: [({"request_id": str(w.a["event"].pk), "fmt": fmt}, "")
                                                      for fmt in ("json", "xml")]),
}

POST_DATA = {"action": "x", "decision": "close", "result": "越权办理", "reason": "越权", "note": "越权", "text": "越权",
             "summary": "越权", "satisfied": "1", "accept": "1", "verdict": "true", "token": "123456",
             "comment": "越权", "rating": "5", "kind": "follow_up"}


# ---------------------------------------------------------------- enumerating the URLconf


def all_patterns(patterns=None, prefix: str = "", namespace: str = ""):
    """(full name or route, route, pattern) for every URL pattern, resolvers included."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            ns = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from all_patterns(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield (namespace + entry.name) if entry.name else route, route, entry


def walked_names() -> tuple[list[str], list[str]]:
    """(names to walk, names of admin patterns)."""
    names, admin_names = [], []
    for name, route, _ in all_patterns():
        (admin_names if route.startswith("admin/") else names).append(name)
    return sorted(set(names)), sorted(set(admin_names))


def test_every_url_pattern_has_a_case():
    names, _ = walked_names()
    missing = [name for name in names if name not in CASES]
    assert not missing, "这些网址没有越权访问用例（请在 tests/security/test_url_walk.py 的 CASES 中补上）：\n" + "\n".join(missing)
    stale = [name for name in CASES if name not in names]
    assert not stale, f"CASES 中有已不存在的网址：{stale}"


# ---------------------------------------------------------------- the world, once per module


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    from django.conf import settings

    media = tmp_path_factory.mktemp("media")
    old_media = settings.MEDIA_ROOT
    settings.MEDIA_ROOT = media
    with django_db_blocker.unblock():
        with transaction.atomic():
            import config.urls  # noqa: F401 — viewflow's Node.reverse() needs the URLconf

            w = build_world()
            if apps.is_installed("jobs"):
                from django.core.files.base import ContentFile

                from jobs.models import Job

                job = Job.objects.create(kind="event_export", title=f"{SECRET}导出任务", owner=w.insiders["county_office"],
                                         region=w.county.county, status="succeeded", summary=f"{SECRET}结果摘要")
                job.result_file.save("result.xlsx", ContentFile(SECRET.encode()), save=True)
                w.a["job"] = job
            if apps.is_installed("api"):
                from api.models import DeviceToken

                w.a["device_token"] = DeviceToken.objects.create(
                    user=w.insiders["county_office"], name=f"{SECRET}手机", prefix="sec", key_hash="0" * 64)
            yield w
            transaction.set_rollback(True)
    settings.MEDIA_ROOT = old_media


COUNTED_APPS = {"governance", "grid", "inspection", "rectification", "workflows", "jobs", "api", "viewflow.workflow",
                "guardian", "auth"}
NOT_COUNTED = {"auditentry", "auditchainhead", "notification"}  # a refused request may still be logged


def fingerprint(w: World) -> dict:
    """Row counts of the project's tables (one query) and the fields of every county A record."""
    from django.db import connection

    tables = [model._meta.db_table for config in apps.get_app_configs() if config.name in COUNTED_APPS
              for model in config.get_models() if model._meta.model_name not in NOT_COUNTED and model._meta.managed]
    sql = " UNION ALL ".join(f"SELECT '{table}', COUNT(*) FROM {connection.ops.quote_name(table)}" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        counts = dict(cursor.fetchall())
    records = {}
    for name, obj in w.a.items():
        if hasattr(obj, "_meta") and obj.pk:
            records[name] = list(type(obj)._default_manager.filter(pk=obj.pk).values())
    return {"counts": counts, "records": records}


def diff(before: dict, after: dict) -> str:
    tables = sorted(k for k in after["counts"] if after["counts"][k] != before["counts"].get(k))
    records = sorted(k for k in after["records"] if after["records"][k] != before["records"].get(k))
    return f"表 {tables} 记录 {records}"


VISITORS = ["anonymous", "no_post", *[
    "grid_member", "grid_leader", "grid_instructor", "village_cadre", "township_office", "department",
    "supervision_group", "township_committee", "county_office", "inspection_group", "leading_group", "discipline"]]


def _refusal(response, anonymous: bool) -> bool:
    if response.status_code in (400, 401, 403, 404, 405):
        return True
    return response.status_code in (301, 302) and anonymous and response["Location"].startswith(LOGIN_PREFIXES)


def _refused_or_sent_on(client, url: str, response, anonymous: bool) -> bool:
    """Refused, or sent on (an action's GET, an area's index page) to a page of this site that refuses."""
    if _refusal(response, anonymous):
        return True
    if response.status_code != 302:
        return False
    target = urljoin(url, response["Location"])
    return target.startswith("/") and _refusal(client.get(target), anonymous)


def _body(response) -> str:
    """The response as text; an .xlsx/.docx/.zip is unpacked and its XML entities resolved (openpyxl
    writes Chinese as &#...; references inside compressed parts: a marker would be invisible)."""
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    if content.startswith(b"PK\x03\x04"):
        import html
        import io
        import zipfile

        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "\n".join(html.unescape(archive.read(name).decode("utf-8", "replace")) for name in archive.namelist())
    return content.decode("utf-8", "replace")


def walk(client, w: World, visitor: str, names: list[str] | None = None, *, get_only: bool = False) -> list[str]:
    anonymous = visitor == "anonymous"
    names = names or walked_names()[0]
    problems = []
    before = fingerprint(w)
    for name in names:
        case = CASES.get(name)
        if case is None:
            continue  # reported by test_every_url_pattern_has_a_case
        if case.kind in (OPEN, PUBLIC) and visitor not in ("anonymous", "no_post"):
            continue  # the same page for everybody
        posts = not get_only and (case.post if case.post is not None else case.kind == OBJECT)
        for kwargs, query_string in case.variants(w):
            url = reverse(name, kwargs=kwargs) + (f"?{query_string}" if query_string else "")
            for method in ("GET", "POST") if posts else ("GET",):
                response = client.get(url) if method == "GET" else client.post(url, POST_DATA)
                body = _body(response) if response.status_code in (200, 422) else ""
                leaked = [marker for marker in case.markers if marker in body]
                if leaked:
                    problems.append(f"{method} {url} ({name}): 页面出现甲县内容 {leaked}")
                refused = _refused_or_sent_on(client, url, response, anonymous)
                if not refused and method == "GET" and case.get_is_harmless and response.status_code == 302:
                    followed = client.get(urljoin(url, response["Location"]))
                    refused = not [marker for marker in case.markers if marker in _body(followed)]
                if case.kind == OBJECT and not refused:
                    problems.append(f"{method} {url} ({name}): {response.status_code}，应拒绝（403/404/登录）")
                elif case.kind == PAGE and anonymous and not refused:
                    problems.append(f"{method} {url} ({name}): 匿名访问得到 {response.status_code}，应转到登录页")
                if method == "POST" and not _refusal(response, anonymous):
                    after = fingerprint(w)
                    if after != before:
                        problems.append(f"POST {url} ({name}): 改动了数据 {diff(before, after)}")
                        before = after
    after = fingerprint(w)
    if after != before:
        problems.append(f"遍历后数据有改动：{diff(before, after)}")
    return problems


@pytest.mark.django_db
@pytest.mark.parametrize("visitor", VISITORS)
def test_outsiders_and_anonymous_visitors_see_and_change_nothing_of_county_a(world, visitor):
    # One address per visitor: the API's write throttle counts per address, and the walk wants the
    # access rule's answer, not 429.
    client = Client(REMOTE_ADDR=f"10.9.0.{VISITORS.index(visitor) + 1}")
    anonymous = visitor == "anonymous"
    if not anonymous:
        client.force_login(world.outsiders[visitor])
    started = time.monotonic()
    problems = walk(client, world, visitor)
    elapsed = time.monotonic() - started
    assert not problems, f"{visitor}：\n" + "\n".join(problems)
    assert elapsed < 120, f"{visitor} 的遍历用了 {elapsed:.0f} 秒"


@pytest.mark.django_db
def test_the_world_is_what_the_walk_assumes(world):
    """The walk proves something only if the records exist and their owners do see them."""
    insider = Client()
    insider.force_login(world.insiders["grid_leader"])
    assert SECRET in insider.get(reverse("grid:event_detail", args=[world.a["event"].pk])).content.decode()
    office = Client()
    office.force_login(world.insiders["county_office"])
    assert CLUE_SECRET in office.get(reverse("inspection:onsite_clue_detail", args=[world.a["clue"].pk])).content.decode()
    # The exports are .xlsx (zip): the walk reads inside them, so an export that leaks is seen.
    assert CLUE_SECRET in _body(office.get(reverse("inspection:onsite_clue_export")))
    assert SECRET in _body(insider.get(reverse("grid:event_export")))
    committee = Client()
    committee.force_login(world.insiders["township_committee"])
    preview = committee.get(reverse("rectification:notice_preview", args=[world.a["draft_notice"].pk]))
    assert preview.status_code == 200 and DRAFT_SECRET in preview.content.decode()
    assert Client().get(reverse("public_notices:detail", args=[world.a["published_notice"].pk])).status_code == 200
    assert attachments_of(world.a["event"]).exists() and attachments_of(world.a["progress"]).exists()


# ---------------------------------------------------------------- admin: staff only


def admin_urls() -> list[str]:
    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse("admin:app_list", kwargs={"app_label": opts.app_label}))
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls += [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
        urls += [reverse(f"{base}_{view}", args=[1]) for view in ("change", "delete", "history")]
    return sorted(set(urls))


@pytest.mark.django_db
@pytest.mark.parametrize("visitor", ["anonymous", "county_office", "discipline", "grid_member"])
def test_the_admin_is_for_staff_only(world, visitor):
    client = Client()
    if visitor != "anonymous":
        client.force_login(world.outsiders[visitor])
    _, admin_names = walked_names()
    assert len(admin_names) > 50  # the registry below covers these pattern names
    refused = []
    for url in admin_urls():
        for method in (client.get, client.post):
            response = method(url)
            if not (response.status_code == 302 and response["Location"].startswith("/admin/login/")):
                refused.append(f"{method.__name__.upper()} {url}: {response.status_code}")
    assert not refused, "\n".join(refused)


@pytest.mark.django_db
def test_the_walk_reports_what_insiders_may_see(world):
    """The same walk, as county A's own people, must complain: it can fail."""
    office = Client()
    office.force_login(world.insiders["county_office"])
    problems = walk(office, world, "county_office", ["inspection:onsite_clue_detail", "inspection:onsite_clues"],
                    get_only=True)  # (the shared world must stay as it is)
    assert any("onsite_clue_detail" in p and "应拒绝" in p for p in problems), problems
    assert any("onsite_clues" in p and CLUE_SECRET in p for p in problems), problems
    leader = Client()
    leader.force_login(world.insiders["grid_leader"])
    problems = walk(leader, world, "grid_leader", ["grid:event_detail", "grid:events"], get_only=True)
    assert any("event_detail" in p for p in problems) and any(SECRET in p for p in problems), problems


def test_clues_and_draft_notices_are_walked_as_records_nobody_outside_may_open():
    """The two things the plans guard most: problem clues (only the group leader, the inspection
    office and the discipline office) and notices not yet published (never public)."""
    for name in ("inspection:onsite_clue_detail", "rectification:notice_preview", "rectification:notice_download",
                 "public_notices:detail", "public_notices:pdf", "api:notice_detail"):
        assert CASES[name].kind == OBJECT, name
    for name in ("inspection:onsite_clues", "inspection:onsite_clue_export", "inspection:round_report_download",
                 "public_notices:list", "api:notices"):
        assert CLUE_SECRET in CASES[name].markers or DRAFT_SECRET in CASES[name].markers, name
    names, _ = walked_names()
    assert {"inspection:onsite_clue_detail", "inspection:onsite_clue_export", "public_notices:detail"} <= set(names)


# ---------------------------------------------------------------- insiders excluded by a record's own rule

# Markers of the records each visitor of county A must not see, though the records lie in a region
# where the visitor may read the audit log: the inspected township's committee and office (the current
# round's working papers before feedback, talks, clues), and a group member who is also a leading-group
# cadre (clues: only the group leader, the inspection office and discipline). "inspection_clue.record"
# and "问题线索 #" mark a clue's entry, which keeps no content (only that it exists, where, and who).
CLUE_ENTRY = ("inspection_clue.record", "问题线索 #", CLUE_SECRET)
PAPERS = (UNRELEASED_SECRET, TALK_SECRET, "inspection_talk.record", *CLUE_ENTRY)
EXCLUDED_INSIDERS = {
    "township_committee": PAPERS,
    "township_office": PAPERS,
    "a_member": CLUE_ENTRY,
    "leading_group": CLUE_ENTRY,
}
AUDIT_QUERIES = ("", "action=inspection", "action=inspection_clue", "object_type=inspection.InspectionFinding",
                 "object_type=inspection.TalkRecord", "object_type=inspection.ProblemClue", "actor=a_", "sort=oldest")


def _insider(world, visitor: str) -> Client:
    client = Client(REMOTE_ADDR="10.9.1.1")
    client.force_login(world.insiders[visitor])
    return client


def _audit_views(w: World) -> list[str]:
    """The audit log, its export, its search and filters, and the latest entries of the regions involved."""
    urls = [reverse(name) + (f"?{q}" if q else "") for name in ("system:audit", "system:audit_export") for q in AUDIT_QUERIES]
    return urls + [reverse("system:region_detail", args=[region.pk])
                   for region in (w.county.county, w.county.taiping, w.county.louxing)]


def _evidence_urls(w: World, owner: str) -> list[str]:
    return [reverse(name, args=[attachment.pk]) for attachment in attachments_of(w.a[owner])
            for name in ("evidence", "evidence_thumb")]


@pytest.mark.django_db
@pytest.mark.parametrize("visitor", list(EXCLUDED_INSIDERS))
def test_insiders_excluded_by_a_records_own_rule_find_it_nowhere(world, visitor):
    client = _insider(world, visitor)
    hidden = EXCLUDED_INSIDERS[visitor]
    problems = []
    for url in _audit_views(world):
        response = client.get(url)
        if response.status_code != 200:
            if url.startswith("/system/audit"):  # a region page above the visitor's is 404: it shows nothing
                problems.append(f"{url}: {response.status_code}（应能打开本区域的审计日志）")
            continue
        leaked = [marker for marker in hidden if marker in _body(response)]
        if leaked:
            problems.append(f"{url}: 出现了无权查看的记录 {leaked}")
    if UNRELEASED_SECRET in hidden:  # the working paper's photo, before feedback
        for url in _evidence_urls(world, "unreleased_finding"):
            response = client.get(url)
            if response.status_code != 404:
                problems.append(f"{url}: {response.status_code}，未反馈问题底稿的照片应为 404")
    assert not problems, f"{visitor}：\n" + "\n".join(problems)


@pytest.mark.django_db
def test_the_excluded_records_are_in_the_audit_log_for_those_who_may_see_them(world):
    """The check above can fail: the office reads every marker there, the member the round's papers."""
    office = _insider(world, "county_office")
    body = _body(office.get(reverse("system:audit_export")))
    assert all(marker in body for marker in (UNRELEASED_SECRET, TALK_SECRET, "inspection_talk.record", "inspection_clue.record"))
    member = _insider(world, "a_member")
    body = _body(member.get(reverse("system:audit")))
    assert UNRELEASED_SECRET in body and TALK_SECRET in body and "inspection_clue.record" not in body
    for url in _evidence_urls(world, "unreleased_finding"):
        assert member.get(url).status_code == 200, url
    leader = _insider(world, "group_leader")
    assert leader.get(reverse("inspection:onsite_clue_detail", args=[world.a["current_clue"].pk])).status_code == 200


def _dedicated_evidence(w: World, owner: str, attachment) -> str:
    """The evidence route of the owner's own kind, for the same file."""
    record = w.a[owner]
    if owner == "event":
        return reverse("api:event_attachment", kwargs={"pk": record.pk, "attachment_pk": attachment.pk})
    if owner == "patrol_report":
        return reverse("patrol:report_evidence", kwargs={"pk": record.pk, "attachment_pk": attachment.pk})
    if owner == "progress":
        return reverse("rectification:item_evidence", kwargs={"pk": record.item_id, "attachment_pk": attachment.pk})
    if owner == "visit":
        return reverse("grid:visit_photo", kwargs={"pk": record.pk, "attachment_pk": attachment.pk})
    return reverse("inspection:onsite_finding_evidence", kwargs={"pk": record.pk, "attachment_pk": attachment.pk})


@pytest.mark.django_db
def test_the_evidence_route_answers_as_the_owners_own_route_for_everyone(world):
    """/evidence/<id>/ (and its thumbnail) serves a file exactly to those whom the route of the
    record's own kind serves it: every kind of owner, every persona of county A and an outsider."""
    visitors = [*world.insiders, "outsider"]
    disagreements = []
    for visitor in visitors:
        client = Client(REMOTE_ADDR="10.9.1.2")
        client.force_login(world.outsiders["county_office"] if visitor == "outsider" else world.insiders[visitor])
        for owner in EVIDENCE_OWNERS:
            for attachment in attachments_of(world.a[owner]):
                own = client.get(_dedicated_evidence(world, owner, attachment)).status_code == 200
                for name in ("evidence", "evidence_thumb"):
                    generic = client.get(reverse(name, args=[attachment.pk])).status_code == 200
                    if generic != own:
                        disagreements.append(f"{visitor} {owner} {name}: 通用路由 {'给看' if generic else '拒绝'}，"
                                             f"本类路由 {'给看' if own else '拒绝'}")
    assert not disagreements, "\n".join(disagreements)


# An export is audited with its row count and its filters (search words included). Filed under the kind
# it lists, the entry follows that kind's own rule: of a working paper, talk or clue list, only the
# exporter reads it; the inspected township, the leading group and a member with an auditing post do not
# learn how many rows there were nor what was searched.
EXPORT_SEARCH = "搜索词EX7"
LIST_EXPORTS = {"inspection:onsite_clue_export": "inspection.clue.export",
                "inspection:onsite_finding_export": "inspection.finding.export",
                "inspection:onsite_talk_export": "inspection.talk.export"}


@pytest.mark.django_db
def test_an_export_of_a_list_kept_by_its_own_rule_is_audited_for_the_exporter_alone(world):
    leader = _insider(world, "group_leader")
    office = _insider(world, "county_office")
    for name in LIST_EXPORTS:
        assert leader.get(reverse(name), {"q": EXPORT_SEARCH}).status_code == 200, name
    assert office.get(reverse("inspection:onsite_clue_export"), {"q": EXPORT_SEARCH}).status_code == 200
    # The office's export of the clues' audit entries: its filters name the office (no visitor's do).
    assert office.get(reverse("system:audit_export"),
                      {"object_type": "inspection.ProblemClue", "actor": "county_office"}).status_code == 200
    from urllib.parse import quote_plus
    searched = quote_plus(EXPORT_SEARCH)
    hidden = (*LIST_EXPORTS.values(), "actor=county_office", searched)
    problems = []
    for visitor in ("township_committee", "township_office", "leading_group", "a_member"):
        client = _insider(world, visitor)
        for url in _audit_views(world):
            response = client.get(url)
            leaked = [marker for marker in hidden if response.status_code == 200 and marker in _body(response)]
            if leaked:
                problems.append(f"{visitor} {url}: {leaked}")
    assert not problems, "\n".join(problems)
    # The exporter still reads his own export's entry.
    body = _body(office.get(reverse("system:audit_export")))
    assert "inspection.clue.export" in body and searched in body and "actor=county_office" in body


@pytest.mark.django_db
def test_a_document_or_ledger_download_is_audited_under_the_records_it_is_read_from(world):
    """The clue report's download (its size tells how many clues) is the leader's alone; a village ledger's
    download (how many patrols and reports) is read where the ledger is (inspection.view_villagepatrol), a
    department's book (how many reports) where the reports are (inspection.view_patrolreport)."""
    leader = _insider(world, "group_leader")
    url = reverse("inspection:round_report_download", kwargs={"pk": world.a["current_group"].pk, "kind": "clues",
                                                               "fmt": "docx"})
    assert leader.get(url).status_code == 200
    village, today = world.county.louxing, timezone.localdate()
    cadre = _insider(world, "village_cadre")
    ledger = cadre.get(reverse("patrol:ledger_export"), {"village": village.pk, "start": today - 30 * DAY,
                                                          "end": today})
    assert ledger.status_code == 200
    department = _insider(world, "department")
    book = department.get(reverse("patrol:book_export"), {"department": world.county.agriculture.pk,
                                                          "start": today - 30 * DAY, "end": today})
    assert book.status_code == 200
    problems = []
    for visitor in ("township_committee", "township_office", "leading_group", "a_member", "county_office"):
        user = world.insiders[visitor]
        body = _body(_insider(world, visitor).get(reverse("system:audit_export")))
        if "问题线索的报告" in body:
            problems.append(f"{visitor}: 看到了线索报告的下载记录")
        if ("village_ledger.export" in body) != user.has_perm("inspection.view_villagepatrol", village):
            problems.append(f"{visitor}: 台账导出记录{'可见' if 'village_ledger.export' in body else '不可见'}，"
                            "应与能否查看村级巡查台账一致")
        if ("department_book.export" in body) != user.has_perm("inspection.view_patrolreport", village):
            problems.append(f"{visitor}: 登记备案台账导出记录{'可见' if 'department_book.export' in body else '不可见'}，"
                            "应与能否查看村级上报一致")
    assert not problems, "\n".join(problems)
