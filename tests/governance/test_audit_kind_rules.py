"""Every kind of record the audit log can show follows a rule of its own, or is region-scoped on purpose.

The audit log shows an entry only to a reader who may see its record by the record's own rule
(governance.visibility); a kind with no registered rule falls back to the audit log's region grant
(governance.view_auditentry). The first tests make that fallback a decision: a new kind either
registers its rule or is listed below with the reason why the region grant is right for it. The others
check, kind by kind, that a same-region auditor whom the record's own pages refuse reads none of its
entries on the audit page or in its export, while a reader the rule allows still does.
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from config.audit_views import AUDITED_APPS, object_type_choices
from governance import visibility
from grid import patrols
from grid import services as grid_services
from grid.models import Region, Role
from inspection.models import SupervisionGroup
from inspection.patrol import findings, reports
from inspection.rounds.job_kinds import ROUND_REPORT_DOCUMENT
from jobs.runner import start_job
from rectification import services as rectification_services
from rectification.models import RectificationPlan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

# Kinds with a region whose entries every auditor of that region may read: organisation data every
# auditing role views anyway, and settings (no personal or case content). A reason per kind.
REGION_SCOPED = {
    "grid.Region": "the audit log's own unit: a region's entries are what the region grant is about",
    "grid.Department": "organisation data: every role views its region's departments (grid.view_department)",
    "grid.Post": "who holds which post: every auditing role views its region's posts (grid.view_post)",
    "grid.GroupRobot": "settings: a township's or department's group robot; entries keep its address without the key",
    "grid.CategoryRouting": "settings: which department a township sends a category of events to",
    "grid.DiaryReviewRule": "settings: which role reviews the work diaries of a region",
    "grid.StaffAssessmentRule": "settings: how a region assesses its grid members",
    "grid.FlowPolicy": "settings: the versions of a county's or township's flow policy",
    "inspection.PatrolCategory": "settings: the categories of the township's big patrol catalogue",
    "inspection.CatalogItem": "settings: the township's big patrol catalogue, published to its villages",
    "inspection.SupervisionGroup": "organisation data: a township's supervision groups and their members",
    "inspection.DepartmentConfirmation": "a dated fact with a short note: a department confirmed its month's points",
    "inspection.AssessmentExemption": "settings: a region left out of the big patrol assessment",
    "inspection.SourceMultiplier": "settings: the deduction multiplier of a source of findings",
    "inspection.IncentiveRate": "settings: the quarter's incentive rate",
    "inspection.PatrolWorkRecord": "the township's register of big patrol meetings and briefings: dates and titles of "
                                   "its public work, no personal content",
    "rectification.NoticeTemplate": "settings: the county's headings and wording of the progress notice",
}

# Kinds without a region: an entry about one carries no region path, so no region grant covers it and
# only superusers read it (nothing falls back to a township's or the county's auditors).
# test_regionless_kinds_really_have_no_region keeps this true.
REGIONLESS = {
    "auth.Permission": "a permission of the system, not of a region",
    "auth.Group": "unused by posts; groups are configured in the admin only",
    "auth.User": "an account (created, enrolled in two-factor login) belongs to no region; its posts do",
    "governance.AuditChainHead": "the chain's head, never the object of an entry",
    "governance.Attachment": "a file, shown by its owner record's rule (the evidence route)",
    "governance.Notification": "a user's own message",
    "governance.OutboxMessage": "the task outbox, no business content",
    "governance.MobileNumber": "a user's phone number, kept in the admin by superusers",
    "governance.ChannelMessage": "a message sent to an outside channel, no region of its own",
    "grid.Tier": "settings of the whole system",
    "grid.Role": "settings of the whole system: a role's permissions",
    "grid.EventCategory": "settings of the whole system",
    "grid.CategoryAttribute": "settings of the whole system",
    "grid.EventMonthCount": "a derived count, never the object of an entry",
    "grid.CadenceRule": "settings of the whole system",
    "grid.VisitCadenceRule": "settings of the whole system",
    "grid.FlowPolicyDeadline": "a row of a flow policy, kept in the admin",
    "inspection.Circular": "a published circular; its publication is audited without a region",
    "inspection.FocusCategory": "settings of the whole system: the inspection focus taxonomy",
    "rectification.PlanMeeting": "written on its plan by the services (the plan's rule, as the plan page)",
    "rectification.PlanMeasure": "written on its plan by the services (the plan's rule, as the plan page)",
    "rectification.MoneyRecovered": "written on its plan by the services (the plan's rule, as the plan page)",
    "rectification.PetitionTransfer": "written on its plan by the services (the plan's rule, as the plan page)",
    "workflows.EventProcess": "a flow's process row, audited through its event",
    "workflows.SLARule": "settings of the whole system",
    "workflows.Holiday": "settings of the whole system",
    "workflows.TaskDeadline": "a flow task's deadline, audited through its record",
    "workflows.PatrolReportProcess": "a flow's process row, audited through its report",
    "workflows.MobileInspectionProcess": "a flow's process row, audited through its proposal",
    "workflows.RectificationProcess": "a flow's process row, audited through its item",
    "api.DeviceToken": "a user's own device token",
    "api.Open311Client": "an outside system's credentials, kept by superusers",
    "api.Open311Request": "a request of an outside system, audited through its event",
}


def audited_kinds() -> set[str]:
    """The kinds the audit log offers in its object type filter (every model of the audited apps)."""
    return {label for label, _name in object_type_choices() if label}


def _has_region(model) -> bool:
    """Whether an entry about a record of `model` gets a region (grid.access.region_path_of)."""
    return issubclass(model, Region) or hasattr(model, "get_permission_region") or hasattr(model, "region")


def test_every_kind_the_audit_log_shows_has_its_own_rule_or_a_reason():
    unruled = audited_kinds() - set(visibility.registered_labels())
    unexplained = sorted(unruled - set(REGION_SCOPED) - set(REGIONLESS))
    assert not unexplained, (
        f"{unexplained}: register the kind's rule in its app's AppConfig.ready() (governance.visibility) "
        "or list it here with the reason why the audit log's region grant is right for it")


def test_the_lists_of_reasons_name_no_kind_twice_and_none_that_has_a_rule():
    assert not set(REGION_SCOPED) & set(REGIONLESS)
    assert not (set(REGION_SCOPED) | set(REGIONLESS)) & set(visibility.registered_labels())
    assert set(REGION_SCOPED) | set(REGIONLESS) <= audited_kinds()
    assert all(reason.strip() for reason in (*REGION_SCOPED.values(), *REGIONLESS.values()))


def test_regionless_kinds_really_have_no_region():
    with_region = [label for label in REGIONLESS if _has_region(apps.get_model(label))]
    assert not with_region, f"{with_region} now have a region: give them a rule or a reason in REGION_SCOPED"


def test_every_project_app_with_models_is_one_the_audit_log_covers():
    """An app of this repository whose models the audit log does not offer would escape the tests above."""
    root = Path(settings.BASE_DIR).resolve()
    project_apps = {config.label for config in apps.get_app_configs()
                    if Path(config.path).resolve().is_relative_to(root) and list(config.get_models())
                    and "site-packages" not in Path(config.path).parts}  # (a virtualenv may lie inside the repo)
    assert project_apps <= set(AUDITED_APPS)


# ---------------------------------------------------------------- what each reader reads


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reads(user, marker: str, **query) -> bool:
    """Whether `marker` shows on the audit page (filtered by `query`), asserting its export agrees."""
    client = _client(user)
    response = client.get(reverse("system:audit"), query)
    assert response.status_code == 200, response.status_code
    on_page = marker in response.content.decode()
    export = client.get(reverse("system:audit_export"), query)
    assert export.status_code == 200, export.status_code
    rows = [[cell.value for cell in row] for row in load_workbook(io.BytesIO(export.content)).active.iter_rows()]
    in_export = marker in json.dumps(rows, ensure_ascii=False, default=str)
    assert on_page == in_export, (user.username, on_page, in_export)
    return on_page


def status(user, name: str, *args) -> int:
    return _client(user).get(reverse(name, args=args)).status_code


def test_diaries_and_their_reviews_are_read_in_the_audit_log_only_by_who_reads_the_diaries(county, personas):
    member, leader = personas["grid_member"], personas["grid_leader"]
    diary, _ = patrols.write_diary(by=member, region=county.grid1, date=timezone.localdate() - datetime.timedelta(days=1),
                                   content="走访困难户日志内容D1")
    patrols.review_diary(diary, by=leader, comment="审核意见D2")
    # 纪检监察 (太平镇) and 领导小组 (the county) audit the region but read no diary: their pages refuse them.
    for who in ("discipline", "leading_group"):
        user = personas[who]
        assert status(user, "grid:diaries") == 403 and status(user, "grid:diary_detail", diary.pk) == 404, who
        for marker in ("走访困难户日志内容D1", "审核意见D2"):
            assert not reads(user, marker, object_type="grid.WorkDiary"), (who, marker)
            assert not reads(user, marker), (who, marker)
    # 镇党委 oversees the township's diaries: the page and the audit log both show them.
    committee = personas["township_committee"]
    assert status(committee, "grid:diary_detail", diary.pk) == 200
    assert reads(committee, "走访困难户日志内容D1", object_type="grid.WorkDiary")
    assert reads(committee, "审核意见D2")


def test_patrol_logs_are_read_in_the_audit_log_only_by_who_reads_the_patrols(county, personas):
    log = patrols.record_patrol(
        by=personas["grid_member"], region=county.grid1, kind="daily",
        date=timezone.localdate() - datetime.timedelta(days=1), started_at=datetime.time(9),
        ended_at=datetime.time(10, 30), route="村委会—河堤", households_visited=3, findings="河边垃圾", events=())
    marker = str(log)  # the entry's object: the day, the member and the kind of patrol
    for who in ("discipline", "leading_group"):
        user = personas[who]
        assert status(user, "grid:patrols") == 403 and status(user, "grid:patrol_detail", log.pk) == 404, who
        assert not reads(user, marker, object_type="grid.PatrolLog"), who
        assert not reads(user, marker), who
    committee = personas["township_committee"]
    assert status(committee, "grid:patrol_detail", log.pk) == 200
    assert reads(committee, marker, object_type="grid.PatrolLog")


@pytest.fixture
def village_cadres(county, personas):
    """A second patrol cadre of 楼星村 (a ledger row needs two)."""
    second, _ = grid_services.ensure_user("cadre2", password="x")
    grid_services.create_post(user=second, role=Role.objects.get(key="village_cadre"), region=county.louxing)
    return [personas["village_cadre"], second]


def test_supervision_checks_are_read_in_the_audit_log_only_by_who_reads_the_checks(county, personas):
    group = SupervisionGroup.objects.create(township=county.taiping, number=1, name="第一督查组")
    group.villages.set([county.louxing])
    checker = personas["supervision_group"]
    group.members.set([checker])
    findings.record_check(by=checker, group=group, village=county.louxing, date=timezone.localdate(),
                          checked_by=[checker], ledger_ok=False, notes="台账缺页督查情况S1")
    leading_group = personas["leading_group"]
    assert status(leading_group, "patrol:checks") == 403
    assert not reads(leading_group, "台账缺页督查情况S1", object_type="inspection.SupervisionCheck")
    assert not reads(leading_group, "台账缺页督查情况S1")
    for who in ("township_committee", "discipline"):
        assert reads(personas[who], "台账缺页督查情况S1", object_type="inspection.SupervisionCheck"), who


def test_the_village_ledger_is_read_in_the_audit_log_only_by_who_reads_the_ledger(county, personas, village_cadres):
    reports.record_village_patrol(by=village_cadres[0], village=county.louxing, date=timezone.localdate(),
                                  patrollers=village_cadres, route="村口至学校路线V1", findings="未发现问题")
    leading_group = personas["leading_group"]
    assert status(leading_group, "patrol:ledger") == 403
    assert not reads(leading_group, "村口至学校路线V1", object_type="inspection.VillagePatrol")
    for who in ("township_committee", "discipline"):
        assert reads(personas[who], "村口至学校路线V1", object_type="inspection.VillagePatrol"), who


def test_a_jobs_entries_are_read_in_the_audit_log_only_by_its_owner(county, personas):
    owner = personas["county_office"]
    job = start_job(kind=ROUND_REPORT_DOCUMENT, owner=owner, region=county.taiping,
                    title="生成第一巡察组问题线索报告（PDF）J1", params={"group": 1, "format": "pdf"})
    assert reads(owner, "问题线索报告（PDF）J1", object_type="jobs.Job")
    # The inspected township's committee audits 太平镇, the job's region, but the job is not theirs;
    # nor is it the leading group's, who audit the whole county.
    for who in ("township_committee", "leading_group"):
        user = personas[who]
        assert status(user, "jobs:detail", job.pk) == 404, who
        assert not reads(user, "问题线索报告（PDF）J1", object_type="jobs.Job"), who
        assert not reads(user, "问题线索报告（PDF）J1"), who


@pytest.fixture
def plan(county, personas) -> RectificationPlan:
    return RectificationPlan.objects.create(organisation=county.taiping, title="太平镇整改方案A0",
                                            created_by=personas["county_office"])


@pytest.fixture
def group_member_who_audits(county):
    """A member of an inspection group posted at 太平镇 who also audits it: the group's role reads the
    plan and its items, not who was held accountable (grid/roles.py)."""
    user, _ = grid_services.ensure_user("group_auditor", password="x")
    grid_services.create_post(user=user, role=Role.objects.get(key="inspection_group"), region=county.taiping)
    auditor = Role.objects.create(key="plain_auditor", name="审计员")
    auditor.permissions.set([Permission.objects.get(content_type__app_label="governance", codename="view_auditentry")])
    grid_services.create_post(user=user, role=auditor, region=county.taiping)
    return user


def test_accountability_is_listed_on_the_plan_page_only_to_who_may_view_it(plan, personas, group_member_who_audits):
    rectification_services.add_accountability(plan, by=personas["discipline"], person="被问责人A1",
                                              level="general", measure="admonishment")
    group_page = _client(group_member_who_audits).get(reverse("rectification:plan_detail", args=[plan.pk]))
    assert group_page.status_code == 200
    assert "太平镇整改方案A0" in group_page.content.decode() and "被问责人A1" not in group_page.content.decode()
    for who in ("township_committee", "discipline", "county_office"):
        page = _client(personas[who]).get(reverse("rectification:plan_detail", args=[plan.pk]))
        assert "被问责人A1" in page.content.decode(), who


def test_accountability_entries_follow_the_accountability_permission(plan, personas, group_member_who_audits):
    rectification_services.add_accountability(plan, by=personas["discipline"], person="被问责人A2",
                                              level="general", measure="admonishment")
    assert not reads(group_member_who_audits, "被问责人A2")
    assert not reads(group_member_who_audits, "被问责人A2", object_type="rectification.Accountability")
    assert not reads(group_member_who_audits, "被问责人A2", object_type="rectification.RectificationPlan")
    for who in ("township_committee", "discipline"):
        assert reads(personas[who], "被问责人A2"), who
