import datetime
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from config.demo import (
    ADMIN_USERNAME,
    DEMO_COUNTY,
    DEMO_FULL_NAMES,
    DEMO_PASSWORD,
    DEMO_USERS,
    INDUSTRIAL_PARKS,
    PATROL_CATEGORIES,
    load_demo,
)
from governance.models import AuditEntry
from grid import households
from grid.models import CategoryRouting, Department, Event, EventCategory, PatrolLog, Post, Region, WorkDiary
from grid.roles import ROLES
from inspection.models import (
    CatalogItem,
    FocusCategory,
    InspectionFinding,
    InspectionGroup,
    InspectionRound,
    LookBack,
    PatrolCategory,
    PatrolFinding,
    PatrolReport,
    ProblemClue,
    RoundTarget,
    SupervisionCheck,
    SupervisionGroup,
    TalkRecord,
    VillagePatrol,
)
from inspection.patrol.scoring import month_scores
from rectification.models import RectificationItem, RectificationPlan

User = get_user_model()

TAIPING = f"{DEMO_COUNTY}/太平镇"
LOUXING = f"{TAIPING}/楼星村"

TAIPING_VILLAGES = {
    "太平社区",
    "楼星村", "大楼村", "大南村", "中南村", "南北村", "蒲兴村", "南蒲村", "沙塘村", "团结村",
    "马塘村", "天塘村", "马岳村", "天良村", "北坑村", "年丰村", "石桐村", "金门村",
    "龙湾村", "秦皇村", "山心村", "郭屋村", "车公洞村",
}


@pytest.fixture
def demo(db):
    return load_demo()


def children(path: str) -> list[Region]:
    return list(Region.objects.get_children(Region.objects.get(full_path=path)).select_related("tier"))


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Region, Department, Post, User, SupervisionGroup, PatrolCategory, AuditEntry, Event, CategoryRouting,
                      PatrolLog, WorkDiary, CatalogItem, PatrolReport, PatrolFinding, InspectionRound, InspectionGroup,
                      RoundTarget, FocusCategory, RectificationPlan, RectificationItem)
    }


@pytest.mark.parametrize(
    "township, villages, named",
    [
        ("赵村镇", 12, "河南村"),
        ("张店乡", 16, "张庄村"),
        ("辛集乡", 12, "肖老庄村"),
        ("张官营镇", 12, "韭菜里村"),
        ("瀼河乡", 12, "瀼西村"),
        ("观音寺乡", 11, "太平堡村"),
        ("下汤镇", 12, "十亩地洼村"),
    ],
)
def test_round_plan_townships_have_the_plans_number_of_villages(demo, township, villages, named):
    found = children(f"{DEMO_COUNTY}/{township}")
    assert len(found) == villages
    assert {region.tier.key for region in found} == {"village"}
    names = [region.name for region in found]
    assert names[0] == named
    assert names[1:] == [f"第{n}村" for n in range(2, villages + 1)]


def test_county_has_the_seven_round_plan_townships_and_taiping(demo):
    assert Region.objects.get_root_nodes().filter(name=DEMO_COUNTY).count() == 1
    assert [region.name for region in children(DEMO_COUNTY)] == [
        "赵村镇", "张店乡", "辛集乡", "张官营镇", "瀼河乡", "观音寺乡", "下汤镇", "太平镇",
    ]
    assert demo.county.full_path == DEMO_COUNTY


def test_taiping_has_its_community_villages_and_industrial_parks(demo):
    found = children(TAIPING)
    assert {region.name for region in found} == TAIPING_VILLAGES | set(INDUSTRIAL_PARKS)
    assert len(found) == 26
    assert {region.tier.key for region in found} == {"village"}


def test_taiping_supervision_groups_cover_the_plans_villages(demo):
    groups = {group.number: group for group in SupervisionGroup.objects.filter(township__full_path=TAIPING)}
    assert sorted(groups) == [1, 2, 3, 4]
    assert [groups[n].name for n in (1, 2, 3, 4)] == ["第一巡查督查组", "第二巡查督查组", "第三巡查督查组", "第四巡查督查组"]

    def villages(n):
        return {region.name for region in groups[n].villages.all()}

    assert villages(1) == {"太平社区"}
    assert villages(2) == {"楼星村", "大楼村", "大南村", "中南村", "南北村", "蒲兴村", "南蒲村", "沙塘村", "团结村"}
    assert villages(3) == {
        "马塘村", "天塘村", "马岳村", "天良村", "北坑村", "年丰村", "石桐村", "金门村", "马岳工业园区", "盈富工业园区",
    }
    assert villages(4) == {"龙湾村", "秦皇村", "山心村", "郭屋村", "车公洞村", "龙湾工业园区"}
    # Every village-tier region of 太平镇 is checked by exactly one group.
    all_covered = [region.name for n in groups for region in groups[n].villages.all()]
    assert sorted(all_covered) == sorted(TAIPING_VILLAGES | set(INDUSTRIAL_PARKS))
    assert "墟镇范围" in groups[1].scope_description and "太平居委" in groups[1].scope_description
    assert "盈富工业园区" in groups[3].scope_description
    assert "龙湾工业园区" in groups[4].scope_description


def test_taiping_departments_and_the_categories_they_lead(demo):
    departments = set(Department.objects.filter(region__full_path=TAIPING).values_list("name", flat=True))
    assert {
        "党政综合办", "党建工作办", "纪检监察办", "综合治理办", "农业农村办", "经济发展办", "生态环境保护办",
        "应急管理办", "综合行政执法办", "自然资源所", "畜牧兽医站", "林业站", "宣传办", "派出所", "财政所",
        "农业综合服务中心",
    } <= departments

    led: dict[str, set[str]] = {}
    for category in PatrolCategory.objects.filter(township__full_path=TAIPING).select_related("lead_department"):
        assert category.lead_department.region.full_path == TAIPING
        led.setdefault(category.lead_department.name, set()).add(category.name)
    assert led == {
        "农业农村办": {"农村非法占用宅基地", "野外用火（露天焚烧）", "漫水河", "禁养区畜禽养殖", "撂荒耕地及复耕", "非农化、非粮化"},
        "经济发展办": {"规划建设", "道路交通"},
        "生态环境保护办": {"固废物非法处理", "大气污染", "水污染", "土壤污染", "饮用水源保护", "农业污染", "生活污染", "工业污染"},
        "应急管理办": {"安全生产", "防风防汛", "减灾救灾"},
        "自然资源所": {"违法用地", "违法建筑"},
        "畜牧兽医站": {"动物防疫", "乱抛弃病死畜禽"},
        "林业站": {"违法占用林地", "野生动物保护", "违规砍伐"},
    }


def test_louxing_grids_are_sized_by_the_grid_norms_without_warnings(demo):
    louxing = Region.objects.select_related("tier").get(full_path=LOUXING)
    grids = children(LOUXING)
    assert [grid.name for grid in grids] == ["第1网格", "第2网格", "第3网格"]
    assert {grid.tier.key for grid in grids} == {"grid"}
    for grid in grids:
        assert 300 <= grid.households <= 500
        micros = list(Region.objects.get_children(grid).select_related("tier"))
        assert len(micros) == 3
        assert {micro.tier.key for micro in micros} == {"microgrid"}
        assert all(100 <= micro.households <= 150 for micro in micros)
        assert sum(micro.households for micro in micros) == grid.households
    assert louxing.households == sum(grid.households for grid in grids)

    county = Region.objects.get(full_path=DEMO_COUNTY)
    warnings = [(r.full_path, r.household_warning) for r in county.regions_in_subtree().select_related("tier")]
    assert [w for w in warnings if w[1]] == []


def test_every_region_has_a_hierarchical_code(demo):
    regions = list(Region.objects.get(full_path=DEMO_COUNTY).regions_in_subtree())
    codes = [region.code for region in regions]
    assert None not in codes and len(set(codes)) == len(codes)
    by_path = {region.path: region for region in regions}
    for region in regions:
        parent = by_path.get(region.path[: -Region.steplen])
        if parent is not None:
            assert region.code.startswith(parent.code + "-"), region.full_path
    assert Region.objects.get(full_path=f"{LOUXING}/第2网格/第3微网格").code == "MX-08-002-02-03"


def test_running_twice_creates_no_rows_and_no_audit_entries(demo):
    assert demo.changed
    before = table_counts()
    again = load_demo()
    assert table_counts() == before
    assert not again.changed
    assert len(again.logins) == len(DEMO_USERS)


def test_first_run_is_audited(db):
    load_demo()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "region.create", "department.create", "user.create", "post.create",
        "patrol_category.create", "supervision_group.create",
        "catalog_item.create", "patrol_report.create", "patrol_finding.create",
    } <= actions
    for model, action in ((CatalogItem, "catalog_item.create"), (PatrolReport, "patrol_report.create"),
                          (PatrolFinding, "patrol_finding.create")):
        assert AuditEntry.objects.filter(action=action).count() == model.objects.count()
    assert AuditEntry.objects.filter(action="region.create").count() == Region.objects.count()


def test_every_role_has_a_demo_user_with_an_active_post(demo):
    assert sorted({user.role for user in DEMO_USERS}) == sorted(ROLES)
    for username, role, region, department in DEMO_USERS:
        user = User.objects.get(username=username)
        assert user.first_name == DEMO_FULL_NAMES[username]
        post = Post.objects.active().get(user=user)
        assert (post.role.key, post.region.full_path) == (role, region)
        assert (post.department.name if post.department else None) == department
        if department:  # each department belongs where its post is: 太平镇's offices, the county's centre and bureaus
            assert post.department.region.full_path == region and region in (TAIPING, DEMO_COUNTY)


def test_demo_posts_grant_their_subtree_only(demo):
    grid_member = User.objects.get(username="wanggeyuan")
    assert grid_member.has_perm("grid.view_region", Region.objects.get(full_path=f"{LOUXING}/第1网格/第2微网格"))
    assert not grid_member.has_perm("grid.view_region", Region.objects.get(full_path=f"{LOUXING}/第2网格"))
    inspector = User.objects.get(username="xunchazu")
    assert inspector.has_perm("grid.view_region", Region.objects.get(full_path=f"{DEMO_COUNTY}/赵村镇/河南村"))
    assert not inspector.has_perm("grid.view_region", Region.objects.get(full_path=LOUXING))


@pytest.mark.parametrize("username", [ADMIN_USERNAME, *(user.username for user in DEMO_USERS)])
def test_demo_user_logs_in_with_the_demo_password(demo, username):
    assert Client().login(username=username, password=DEMO_PASSWORD)


def test_admin_is_a_superuser(demo):
    admin = User.objects.get(username=ADMIN_USERNAME)
    assert admin.is_superuser and admin.is_staff
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/").status_code == 200


def test_existing_regions_and_users_are_reused(county):
    """On top of the small test county (某县/太平镇/楼星村 …), nothing is duplicated or changed."""
    taiping_code = county.taiping.code
    user = User.objects.create_user("wanggeyuan", password="Own@pass2026")
    load_demo()
    assert Region.objects.filter(full_path=TAIPING).count() == 1
    assert Region.objects.get(full_path=TAIPING).code == taiping_code
    assert Department.objects.get(region=county.taiping, name="农业农村办") == county.agriculture
    assert Region.objects.get(full_path=f"{LOUXING}/第1网格").households == 420
    user.refresh_from_db()
    assert user.check_password("Own@pass2026")
    assert Post.objects.active().filter(user=user, role__key="grid_member").count() == 1


def test_command_prints_the_demo_logins(db):
    out = StringIO()
    call_command("load_demo", stdout=out)
    text = out.getvalue()
    assert "已载入" in text and "新建区域 134 个" in text
    assert "巡查目录事项 21 项、村级巡查上报 6 条、巡查发现问题 2 条" in text
    # the second round of the round plan, and the first round that 太平镇's plan cites (its group, 7 targets)
    assert "巡察轮次 2 个、巡察组 8 个、巡察对象 71 个、巡察监督重点 31 条" in text
    for username, _role, region, _department in [(ADMIN_USERNAME, "", "", None), *DEMO_USERS]:
        line = next(line for line in text.splitlines() if line.startswith(username + " "))
        assert DEMO_PASSWORD in line and region in line
    assert "网格员" in text and "综合行政执法办" in text

    out = StringIO()
    call_command("load_demo", stdout=out)
    assert "未作任何改动" in out.getvalue()
    assert "wanggeyuan" in out.getvalue()


def test_event_categories_are_two_levels_with_the_plans_items(db):
    tops = EventCategory.objects.filter(parent=None)
    assert {c.code for c in tops} == {"AW", "WJ", "AQ", "HB", "WS", "RK", "MS", "QT"}
    assert not EventCategory.objects.filter(parent__parent__isnull=False).exists()
    for top in tops:
        assert top.children.exists(), top
    assert EventCategory.objects.get(code="AQ05").parent.code == "AQ"


def test_every_event_category_is_routed_to_a_taiping_department(demo):
    taiping = Region.objects.get(full_path=TAIPING)
    leaves = EventCategory.objects.filter(parent__isnull=False)
    routed = CategoryRouting.objects.filter(township=taiping)
    assert set(routed.values_list("category", flat=True)) == set(leaves.values_list("pk", flat=True))
    assert all(route.department.region_id == taiping.pk for route in routed.select_related("department"))
    assert routed.get(category__code="AQ05").department.name == "农业农村办"


def test_demo_events_stand_at_different_steps(demo):
    assert demo.events == 5
    positions = {key: (status, tier) for key, status, tier in
                 Event.objects.values_list("idempotency_key", "status", "handling_region__tier__key")}
    assert positions == {
        "demo-event-1": ("handling", "grid"),
        "demo-event-2": ("handling", "village"),
        "demo-event-3": ("dispatched", "township"),
        "demo-event-4": ("handling", "county"),  # 镇呼县应: waits for the county centre
        "demo-event-5": ("dispatched", "county"),  # the centre sent it to the county housing bureau
    }
    burning = Event.objects.get(idempotency_key="demo-event-3")
    assert burning.department.name == "农业农村办"


def test_demo_grid_member_has_a_week_of_patrols_and_diaries_to_review(demo):
    assert PatrolLog.objects.filter(member__username="wanggeyuan").count() == 8
    diaries = WorkDiary.objects.filter(author__username="wanggeyuan")
    assert diaries.count() == 7
    assert diaries.filter(reviewed_at__isnull=True).count() == 1  # yesterday's, waiting for the leader


def test_taiping_catalog_covers_the_categories_with_their_lead_departments(demo):
    items = list(CatalogItem.objects.filter(township__full_path=TAIPING).select_related("category", "lead_department"))
    assert len(items) == demo.catalog_items == 21
    assert [item.code for item in items] == [f"TP-{n:02d}" for n in range(1, 22)]
    for item in items:
        assert item.lead_department_id == item.category.lead_department_id
        assert 1 <= item.points <= 5 and item.evidence_required
        assert item.category.name in PATROL_CATEGORIES[item.lead_department.name]
    assert {item.lead_department.name for item in items} == set(PATROL_CATEGORIES)


def test_demo_reports_and_findings_follow_the_rules(demo):
    for report in PatrolReport.objects.select_related("item"):
        assert report.occurred_at.date() <= report.reported_on
        if report.verdict == "pending":
            assert report.verified_on is None and report.points == 0
        else:
            assert report.verified_on >= report.reported_on
            assert report.points == (report.item.points if report.verdict == "true" else 0)
    verdicts = set(PatrolReport.objects.values_list("verdict", flat=True))
    assert verdicts == {"true", "false", "duplicate", "pending"}
    group_finding = PatrolFinding.objects.get(source="township_group")
    assert group_finding.matched_report.reported_on < group_finding.discovered_on
    assert group_finding.group.name == "第二巡查督查组"
    assert PatrolFinding.objects.get(source="12345").matched_report is None


def test_demo_villages_scores_differ_this_month_and_last(demo):
    from django.utils import timezone

    taiping = Region.objects.get(full_path=TAIPING)
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    for month in (this_month, last_month):
        scores = {village_month.village.name: village_month for village_month in month_scores(taiping, month)}
        assert scores["楼星村"].score > scores["大楼村"].score, month
        assert len({village_month.score for village_month in scores.values()}) >= 2
    now = {village_month.village.name: village_month for village_month in month_scores(taiping, this_month)}
    assert (now["楼星村"].score, now["大楼村"].score, now["大南村"].score) == (62, 58, 60)
    before = {village_month.village.name: village_month for village_month in month_scores(taiping, last_month)}
    assert (before["楼星村"].score, before["大楼村"].score) == (62, 60)
    assert [entry.kind for entry in before["楼星村"].entries] == ["addition", "excused"]


def test_demo_round_follows_the_round_plan(demo):
    """The county inspection round plan: 7 groups for 7 townships, 张店乡 and 观音寺乡 in full, the other
    five 6 villages now (plus 6 by mobile inspection within 7 days of arrival)."""
    round = InspectionRound.objects.get(county__full_path=DEMO_COUNTY, term="十五届", number=2)
    assert round.name == "十五届县委第二轮巡察"
    assert (round.arrival_date, round.withdrawal_date) == (datetime.date(2022, 4, 21), datetime.date(2022, 6, 10))
    groups = list(round.groups.select_related("township", "leader").order_by("number"))
    assert [(g.number, g.name, g.township.name) for g in groups] == [
        (1, "第一巡察组", "赵村镇"), (2, "第二巡察组", "张店乡"), (3, "第三巡察组", "辛集乡"), (4, "第四巡察组", "张官营镇"),
        (5, "第五巡察组", "瀼河乡"), (6, "第六巡察组", "观音寺乡"), (7, "第七巡察组", "下汤镇"),
    ]
    assert groups[0].leader.username == "xunchazu"
    assert [g.leader.first_name for g in groups[1:]] == ["杨永乾", "孙国申", "杨国", "孙胜伟", "宋润森", "张宗辉"]
    for group in groups:
        villages = Region.objects.get_children(group.township).filter(tier__key="village")
        targets = RoundTarget.objects.filter(round=round, group=group)
        assert targets.filter(organisation=group.township).exists()  # the township committee
        village_targets = targets.exclude(organisation=group.township)
        assert not village_targets.filter(is_mobile=True).exists()
        if group.township.name in ("张店乡", "观音寺乡"):
            assert group.inspect_all_villages
            assert set(village_targets.values_list("organisation", flat=True)) == set(villages.values_list("pk", flat=True))
        else:
            assert (group.fixed_villages, group.mobile_villages, group.mobile_days) == (6, 6, 7)
            assert village_targets.count() == 6
        named = village_targets.get(organisation=villages.order_by("path").first())
        assert named.village_class == "key" and named.mode == "直接巡察"
        assert {t.village_class for t in village_targets} == {"key", "advanced", "ordinary"}
        assert Post.objects.active().filter(user=group.leader, role__key="inspection_group",
                                            region=group.township).exists()
    assert RoundTarget.objects.filter(round=round).count() == 7 + 16 + 11 + 5 * 6


def test_demo_round_focus_taxonomy_has_three_focuses_for_townships_and_villages(demo):
    round = InspectionRound.objects.get(name="十五届县委第二轮巡察")
    tops = FocusCategory.objects.filter(round=round, parent=None).order_by("applies_to", "order")
    assert [(f.applies_to, f.title[:4]) for f in tops] == [("township", "聚焦党的")] * 1 + [
        ("township", "聚焦群众"), ("township", "聚焦基层")] + [("village", "聚焦基层"), ("village", "聚焦群众"),
                                                         ("village", "聚焦基层")]
    counts = [top.children.count() for top in tops]
    assert counts == [3, 5, 3, 7, 4, 3]
    assert FocusCategory.objects.filter(round=round, title="了解在农村“三资”管理过程中的违规问题",
                                        applies_to="village").exists()


def test_demo_taiping_has_a_rectification_plan_with_a_notice_ready_to_draft(demo):
    from rectification.notices import build_notice

    plan = RectificationPlan.objects.get(organisation__name="太平镇")
    assert plan.items.count() == 8 and plan.feedback_on.isoformat() == "2021-12-10"
    data = build_notice(plan)
    assert data["counts"]["problems"] == 8 and data["counts"]["in_progress"] == 2


def test_demo_tells_one_story_round_coverage_overdue_item_letter_and_notice(demo):
    from inspection.models import InspectionLetter
    from inspection.rounds.round_services import coverage
    from rectification import checks, states
    from rectification.notices import build_notice

    plan = RectificationPlan.objects.select_related("round").get(organisation__name="太平镇")
    taiping = plan.organisation
    # the round the plan cites exists, with its group at 太平镇 and its targets; the term's coverage shows it
    assert plan.round.name == "十五届县委第一轮巡察" and plan.group_name == "县委第三巡察组"
    group = plan.round.groups.get(township=taiping)
    assert group.name == plan.group_name and group.feedback_on == plan.feedback_on
    assert RoundTarget.objects.filter(round=plan.round, organisation=taiping).exists()
    county = Region.objects.get_parent(taiping)
    row = next(r for r in coverage(county, "十五届").townships if r.township == taiping)
    assert row.committee_rounds == ["十五届县委第一轮巡察"] and row.villages_covered == 6
    # imported 已整改 / 已整改到位 / 长期坚持 items are closed; item 3 alone is overdue and has its 提醒函
    figures = states.figures(plan.items.all())
    assert (figures.closed, figures.overdue, figures.in_progress) == (6, 1, 2)
    assert [item.number for item in plan.items.filter(states.q_overdue())] == [3]
    letter = InspectionLetter.objects.get(round=plan.round, kind="reminder", recipient=taiping)
    assert "第3项" in letter.body and "第7项" not in letter.body
    # the notice draft names the contradiction the office must resolve before 审定
    warnings = checks.notice_warnings(plan, build_notice(plan))
    assert len(warnings) == 1 and warnings[0].startswith("第3项的下一步措施写明2027年6月30日")


def test_the_circular_opens_on_a_township_with_reports(demo, client):
    from django.urls import reverse

    client.force_login(get_user_model().objects.get(username="xunchaban"))
    response = client.get(reverse("patrol:circulars"))
    assert response.status_code == 200
    assert response.context["form"]["township"].value() == Region.objects.get(name="太平镇").pk


def test_history_gives_the_dashboards_a_year_of_finished_events_through_the_services(db):
    from django.utils import timezone

    from governance.audit import verify_chain
    from grid.models import Event

    load_demo(history=True)
    history = Event.objects.filter(idempotency_key__startswith="demo-history-")
    now = timezone.now()
    months = {(e.created_at.year, e.created_at.month) for e in history}
    assert history.count() >= 24 and len(months) >= 10
    assert all(e.created_at < now for e in history)
    closed = history.filter(status=Event.Status.CLOSED)
    assert closed.exists() and all(e.closed_at and e.closed_at > e.created_at for e in closed)
    assert history.filter(status=Event.Status.REJECTED).exists()
    assert verify_chain()[1] is None
    # The dashboards' monthly counts agree with the events whose report times were set back.
    from grid import event_counts

    assert event_counts.differences() == []
    count = Event.objects.count()
    load_demo(history=True)
    assert Event.objects.count() == count


def test_the_demo_has_an_event_past_its_deadline_that_the_periodic_work_supervises(demo):
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from governance.periodic import run_task
    from workflows.models import TaskDeadline

    event = Event.objects.get(idempotency_key="demo-event-1")
    deadlines = TaskDeadline.objects.filter(
        is_open=True, task__process__artifact_content_type=ContentType.objects.get_for_model(Event),
        task__process__artifact_object_id=event.pk)
    assert deadlines.filter(due_at__lt=timezone.now(), supervised_at__isnull=True).exists()
    # overdue on every page before any scan: the event carries its step's deadline
    assert event.step_due_at == deadlines.get().due_at
    assert list(Event.objects.overdue().values_list("idempotency_key", flat=True)) == ["demo-event-1"]
    result = run_task("workflows.tasks.supervise_overdue")
    assert result["supervised"] >= 1
    assert TaskDeadline.objects.filter(task__process__artifact_object_id=event.pk, supervised_at__isnull=False).exists()


def test_demo_ranks_the_23_villages_of_taiping_and_sheets_last_quarter(demo):
    """The township big patrol plan, 五、(一): the 行政村(居) are assessed; the three 工业园区 are not."""
    from django.utils import timezone

    from inspection.patrol import incentives as patrol_incentives

    taiping = Region.objects.get(full_path=TAIPING)
    scores = month_scores(taiping, timezone.localdate().replace(day=1))
    assert len(scores) == 23
    assert not {"马岳工业园区", "盈富工业园区", "龙湾工业园区"} & {vm.village.name for vm in scores}
    today = timezone.localdate()
    year, quarter = (today.year, (today.month - 1) // 3) if today.month > 3 else (today.year - 1, 4)
    sheet = patrol_incentives.build_incentive_sheet(taiping, year, quarter)
    assert sheet["totals"]["villages"] == 23
    assert all((row["reward"] == "不给予奖励") == (row["grade"] == "较差") for row in sheet["rows"])


def test_demo_assesses_the_grid_members_of_louxing(demo):
    from django.utils import timezone

    from grid.staff_assessment import GRADES, assess_staff

    louxing = Region.objects.get(full_path=f"{TAIPING}/楼星村")
    today = timezone.localdate()
    result = assess_staff(scope=louxing, year=today.year, quarter=(today.month - 1) // 3 + 1)
    assert result.rows and all(row.grade in GRADES for row in result.rows)
    assert all(any(region.startswith(louxing.full_path) for region in row.regions) for row in result.rows)


def test_demo_pages_of_each_role_open_on_work_not_on_empty_lists(demo):
    """The village cadre's ledger, the supervision group's checks, the first inspection group's papers and
    the office's look-backs have rows; the county centre and the county department each have an event."""
    ledger = VillagePatrol.objects.filter(village__full_path=LOUXING)
    assert ledger.count() == 4 and all(patrol.patrollers.count() >= 2 for patrol in ledger)
    assert SupervisionCheck.objects.filter(village__full_path=LOUXING, checked_by__username="duchazu").count() == 2
    first_group = {"group__leader__username": "xunchazu"}
    assert InspectionFinding.objects.filter(**first_group).count() == 3
    assert TalkRecord.objects.filter(**first_group).count() == 2 and ProblemClue.objects.filter(**first_group).count() == 1
    assert LookBack.objects.filter(target__organisation__full_path=TAIPING).count() == 2
    centre = Event.objects.get(idempotency_key="demo-event-5")
    assert centre.department.name == "县住房和城乡建设局"


def test_demo_grid_leader_has_households_visits_and_one_overdue_week(demo):
    """楼星村/第1网格: six households (two 困难户, one 重点户); the leader missed 王建国 last week only."""
    leader = User.objects.get(username="wanggezhang")
    today = timezone.localdate()
    since = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    report = households.visit_compliance(scope=leader, start=since, end=today)
    mine = next(row for row in report.rows if row.user_id == leader.pk)
    overdue = [(tally.rule.name, [h.head_name for h in result.missing])
               for tally in mine.tallies for result in tally.overdue]
    assert overdue == [("网格长每周走访困难户", ["王建国"])]
