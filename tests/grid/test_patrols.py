"""Patrol logs, work diaries and cadence compliance: the services and the pages, as the personas use them."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid import events as event_services
from grid import patrols, services
from grid.models import CadenceRule, Event, EventCategory, PatrolLog, Role, WorkDiary

T = datetime.time
D = datetime.date
JAN = D(2025, 1, 1)  # a fixed past month: 31 days, in Q1; its ISO weeks run Dec 30 – Feb 2


pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def category(db):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    return EventCategory.objects.create(code="T01", name="乱堆乱放", parent=parent)


@pytest.fixture
def people(county, personas):
    """The personas, plus a grid member and a grid leader of 第2网格."""
    member2, _ = services.ensure_user("member2", password="x")
    services.create_post(user=member2, role=Role.objects.get(key="grid_member"), region=county.grid2)
    leader2, _ = services.ensure_user("leader2", password="x")
    services.create_post(user=leader2, role=Role.objects.get(key="grid_leader"), region=county.grid2)
    return {**personas, "member2": member2, "leader2": leader2}


def report(user, region, category, title="河边垃圾堆放"):
    event, _ = event_services.report_event(
        by=user, region=region, category=category, title=title, description="河边有垃圾堆放",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=f"{user.pk}-{title}",
    )
    return event


def yesterday() -> D:
    return timezone.localdate() - datetime.timedelta(days=1)


def at_run_time(changes: dict) -> dict:
    """The parametrized changes with a value given as a function (a date) read now, when the test runs."""
    return {key: value() if callable(value) else value for key, value in changes.items()}


def patrol(user, region, /, **changes):
    data = dict(
        by=user, region=region, kind="daily", date=yesterday(), started_at=T(9), ended_at=T(10, 30),
        route="村委会—河堤—学校", households_visited=3, findings="河边有垃圾堆放", events=(),
    )
    data.update(changes)
    return patrols.record_patrol(**data)


def audited(action: str) -> int:
    return AuditEntry.objects.filter(action=action).count()


# ------------------------------------------------------------------ patrol services


def test_grid_member_records_a_patrol_linking_an_event(county, people, category):
    event = report(people["grid_member"], county.grid1, category)
    log = patrol(people["grid_member"], county.grid1, events=[event])
    assert log.member == people["grid_member"] and list(log.events.all()) == [event]
    entry = AuditEntry.objects.get(action="patrol.record")
    assert entry.actor == people["grid_member"] and entry.after["events"] == [event.pk]


def test_a_patrol_may_link_an_event_of_a_micro_grid_inside_the_grid(county, people, category):
    event = report(people["grid_member"], county.micro1, category)
    assert list(patrol(people["grid_member"], county.grid1, events=[event]).events.all()) == [event]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"date": lambda: timezone.localdate() + datetime.timedelta(days=1)}, "巡查日期不能晚于今天"),
        ({"started_at": T(10), "ended_at": T(9)}, "结束时间必须晚于开始时间"),
        ({"started_at": T(10), "ended_at": T(10)}, "结束时间必须晚于开始时间"),
        ({"kind": "picnic"}, "请选择巡查类型"),
        ({"kind": "visit", "households_visited": 0}, "入户走访请填写走访户数"),
        ({"households_visited": -1}, "走访户数应在"),
        ({"route": "", "findings": " "}, "请填写巡查路线或发现情况"),
    ],
)
def test_bad_patrol_is_rejected_in_chinese_and_nothing_is_written(county, people, changes, message):
    changes = at_run_time(changes)
    with pytest.raises(ValidationError) as caught:
        patrol(people["grid_member"], county.grid1, **changes)
    assert any(message in text for text in caught.value.messages)
    assert PatrolLog.objects.count() == 0 and audited("patrol.record") == 0


def test_an_event_of_another_grid_cannot_be_linked(county, people, category):
    foreign = report(people["member2"], county.grid2, category, title="第2网格的事件")
    own = report(people["grid_member"], county.grid1, category)
    with pytest.raises(ValidationError) as caught:
        patrol(people["grid_member"], county.grid1, events=[own, foreign])
    assert f"#{foreign.pk}" in caught.value.messages[0] and f"#{own.pk}" not in caught.value.messages[0]
    assert PatrolLog.objects.count() == 0 and audited("patrol.record") == 0


def test_a_visible_event_of_a_neighbouring_grid_cannot_be_linked_either(county, people, category):
    """The grid leader of 第1网格 may see nothing of 第2网格; a village-wide viewer sees both, but a
    patrol of 第1网格 still only links the events of 第1网格."""
    other = report(people["member2"], county.grid2, category)
    with pytest.raises(ValidationError, match="不在第1网格内"):
        patrol(people["grid_leader"], county.grid1, events=[other])


def test_overlapping_patrols_of_one_member_are_refused(county, people):
    patrol(people["grid_member"], county.grid1)
    with pytest.raises(ValidationError, match="时间重叠"):
        patrol(people["grid_member"], county.grid1, started_at=T(10), ended_at=T(11))
    patrol(people["grid_member"], county.grid1, started_at=T(10, 30), ended_at=T(11))  # back to back is fine
    assert PatrolLog.objects.count() == 2


@pytest.mark.parametrize("who, region", [("grid_member", "grid2"), ("village_cadre", "grid1"), ("outsider", "grid1")])
def test_only_a_member_of_the_grid_records_its_patrols(county, people, who, region):
    with pytest.raises(PermissionDenied):
        patrol(people[who], getattr(county, region))
    assert PatrolLog.objects.count() == 0


# ------------------------------------------------------------------ diary services


def test_writing_the_diary_again_the_same_day_updates_it(county, people):
    member = people["grid_member"]
    today = timezone.localdate()
    diary, created = patrols.write_diary(by=member, region=county.grid1, date=today, content="上午巡查河堤")
    again, created_again = patrols.write_diary(by=member, region=county.grid1, date=today, content="上午巡查河堤；下午走访5户")
    assert created and not created_again and again.pk == diary.pk
    assert WorkDiary.objects.get().content == "上午巡查河堤；下午走访5户"
    assert audited("diary.write") == 1 and audited("diary.update") == 1
    assert AuditEntry.objects.get(action="diary.update").before["content"] == "上午巡查河堤"


@pytest.mark.parametrize(
    "days_ago, message",
    [(-1, "不能填写今天以后的工作日志"), (patrols.DIARY_BACKFILL_DAYS + 1, "只能补写最近")],
)
def test_diary_date_must_be_recent_and_not_in_the_future(county, people, days_ago, message):
    with pytest.raises(ValidationError, match=message):
        patrols.write_diary(by=people["grid_member"], region=county.grid1,
                            date=timezone.localdate() - datetime.timedelta(days=days_ago), content="内容")
    assert WorkDiary.objects.count() == 0


def test_empty_diary_is_refused(county, people):
    with pytest.raises(ValidationError, match="请填写当日工作内容"):
        patrols.write_diary(by=people["grid_member"], region=county.grid1, date=timezone.localdate(), content="  ")


def test_grid_leader_reviews_and_then_the_diary_is_closed(county, people):
    member, leader = people["grid_member"], people["grid_leader"]
    diary, _ = patrols.write_diary(by=member, region=county.grid1, date=yesterday(), content="走访困难户")
    patrols.review_diary(diary, by=leader, comment="情况清楚")
    diary.refresh_from_db()
    assert diary.reviewed_by == leader and diary.reviewed_at and diary.review_comment == "情况清楚"
    assert AuditEntry.objects.get(action="diary.review").actor == leader
    with pytest.raises(ValidationError, match="已于.*审核，不能再修改"):
        patrols.write_diary(by=member, region=county.grid1, date=yesterday(), content="改写")
    with pytest.raises(ValidationError, match="不能重复审核"):
        patrols.review_diary(diary, by=people["grid_instructor"])
    assert WorkDiary.objects.get().content == "走访困难户"


def test_instructor_of_the_village_may_review(county, people):
    diary, _ = patrols.write_diary(by=people["grid_member"], region=county.grid1, date=yesterday(), content="巡查")
    patrols.review_diary(diary, by=people["grid_instructor"])
    assert WorkDiary.objects.get().reviewed_by == people["grid_instructor"]


@pytest.mark.parametrize("reviewer, author", [
    ("grid_member", "grid_member"),  # own
    ("grid_member", "grid_leader"),  # a member reviews nobody
    ("grid_leader", "grid_leader"),  # a leader does not review their own diary
    ("leader2", "grid_member"),      # the leader of the neighbouring grid
    ("village_cadre", "grid_member"),
])
def test_who_may_not_review_a_diary(county, people, reviewer, author):
    diary, _ = patrols.write_diary(by=people[author], region=county.grid1, date=yesterday(), content="巡查")
    with pytest.raises(PermissionDenied):
        patrols.review_diary(diary, by=people[reviewer])
    assert WorkDiary.objects.get().reviewed_at is None and audited("diary.review") == 0


# ------------------------------------------------------------------ compliance


def member_since(username, region, start, *, full_name="", ended=None):
    user, _ = services.ensure_user(username, password="x", full_name=full_name)
    post = services.create_post(user=user, role=Role.objects.get(key="grid_member"), region=region, start_date=start)
    if ended:
        services.end_post(post, on=ended)
    return user


def log(user, region, day, kind, hour=8):
    return PatrolLog.objects.create(member=user, region=region, kind=kind, date=day, started_at=T(hour), ended_at=T(hour, 30))


@pytest.fixture
def january(county, personas):
    """Patrols of January 2025 with known counts (the default cadence rules of migration 0005)."""
    zhang = member_since("zhang", county.grid1, D(2024, 12, 1), full_name="张网格")
    for day in range(1, 21):
        log(zhang, county.grid1, D(2025, 1, day), "daily")
    log(zhang, county.grid1, D(2025, 1, 5), "daily", hour=15)  # a second patrol the same day counts once
    log(zhang, county.grid1, D(2024, 12, 31), "visit")  # week Dec 30 – Jan 5 belongs to January (Thursday Jan 2)
    log(zhang, county.grid1, D(2025, 1, 8), "visit")
    log(zhang, county.grid1, D(2025, 1, 9), "visit")  # the same week again: counts once
    log(zhang, county.grid1, D(2025, 2, 1), "visit")  # week Jan 27 – Feb 2 (Thursday Jan 30)
    log(zhang, county.grid1, D(2024, 12, 23), "visit")  # a December week: not January's
    log(zhang, county.grid1, D(2025, 1, 3), "sweep")  # the 1st's sweep, within the grace days
    log(zhang, county.grid1, D(2025, 1, 20), "sweep")  # too late for the 15th's sweep
    log(zhang, county.grid1, D(2025, 1, 8), "joint")  # Q1's joint check, within the quarter's first ten days
    li = member_since("li", county.grid2, D(2025, 1, 20), full_name="李网格")  # appointed mid-month
    wang = member_since("wang", county.grid1, D(2024, 6, 1), full_name="王网格", ended=D(2025, 1, 11))  # left on the 11th
    log(wang, county.grid1, D(2025, 1, 2), "daily")
    zhao = member_since("zhao", county.henan, D(2024, 1, 1), full_name="赵网格")  # another township
    return {"zhang": zhang, "li": li, "wang": wang, "zhao": zhao}


def table(report) -> dict[str, dict[str, tuple[int, int]]]:
    return {row.name: {t.rule.period: (t.done, t.due) for t in row.tallies} for row in report.rows}


def test_compliance_numbers_of_a_past_month_are_exact(county, january):
    report = patrols.cadence_compliance(regions_or_user_scope=county.county, month=D(2025, 1, 17))
    assert report.month == JAN and report.as_of == D(2025, 1, 31)
    assert table(report) == {
        "张网格": {"daily": (20, 31), "weekly": (3, 5), "semimonthly": (1, 2), "quarterly": (1, 1)},
        "李网格": {"daily": (0, 12), "weekly": (0, 2), "semimonthly": (0, 0), "quarterly": (0, 0)},
        "王网格": {"daily": (1, 10), "weekly": (0, 2), "semimonthly": (0, 1), "quarterly": (0, 1)},
        "赵网格": {"daily": (0, 31), "weekly": (0, 5), "semimonthly": (0, 2), "quarterly": (0, 1)},
    }
    zhang = next(row for row in report.rows if row.name == "张网格")
    assert [t.missed for t in zhang.tallies] == [11, 2, 1, 0] and zhang.short


def test_february_owes_no_joint_check_and_sees_its_own_weeks(county, january):
    """The joint check is due at the start of the quarter (每季度初, the first ten days): only January owes it."""
    rows = table(patrols.cadence_compliance(regions_or_user_scope=county.grid1, month=D(2025, 2, 1)))
    assert set(rows) == {"张网格"}  # 王 left in January, 李 is in 第2网格
    assert rows["张网格"]["quarterly"] == (0, 0)
    assert rows["张网格"]["weekly"] == (0, 4)  # Feb 1 belongs to January's last week
    assert rows["张网格"]["daily"] == (0, 28)


def test_a_joint_check_after_the_quarters_first_ten_days_does_not_count(county, personas):
    """Hand-computed: 季度联查 window 10 days, grace 0 → Q1 counts Jan 1–10. A check on Jan 11 misses it
    (0/1, missed 1); with the grace set to 3 days in the rule (Jan 1–13) the same check counts (1/1)."""
    member = member_since("qian", county.grid1, D(2024, 12, 1), full_name="钱网格")
    log(member, county.grid1, D(2025, 1, 11), "joint")
    joint = CadenceRule.objects.get(period="quarterly")
    assert (joint.window_days, joint.grace_days) == (10, 0)

    def quarterly():
        row = patrols.cadence_compliance(regions_or_user_scope=county.grid1, month=JAN).rows[0]
        tally = next(t for t in row.tallies if t.rule.period == "quarterly")
        return tally.done, tally.due, tally.missed

    assert quarterly() == (0, 1, 1)
    CadenceRule.objects.filter(pk=joint.pk).update(grace_days=3)
    assert quarterly() == (1, 1, 0)


def test_inactive_rules_are_not_assessed(county, january):
    CadenceRule.objects.filter(period="quarterly").update(is_active=False)
    report = patrols.cadence_compliance(regions_or_user_scope=county.county, month=JAN)
    assert [rule.period for rule in report.rules] == ["daily", "weekly", "semimonthly"]


def test_current_month_counts_up_to_today_and_marks_open_periods_pending(county, personas):
    member = personas["grid_member"]  # posted today
    today = timezone.localdate()
    rows = table(patrols.cadence_compliance(regions_or_user_scope=member, month=today))
    assert rows == {"grid_member": rows["grid_member"]}
    assert rows["grid_member"]["daily"] == (0, 1)
    tally = patrols.cadence_compliance(regions_or_user_scope=member, month=today).rows[0].tallies[0]
    assert tally.pending == 1 and not tally.short  # today's patrol can still be done
    log(member, county.grid1, today, "daily")
    assert table(patrols.cadence_compliance(regions_or_user_scope=member, month=today))["grid_member"]["daily"] == (1, 1)


def test_a_future_month_owes_nothing(county, january):
    next_year = timezone.localdate().replace(day=1) + datetime.timedelta(days=400)
    assert patrols.cadence_compliance(regions_or_user_scope=county.county, month=next_year).rows == []


@pytest.mark.parametrize("who, expected", [
    ("village_cadre", {"张网格", "李网格", "王网格"}),
    ("township_office", {"张网格", "李网格", "王网格"}),
    ("county_office", {"张网格", "李网格", "王网格", "赵网格"}),
    ("grid_leader", {"张网格", "王网格"}),
    ("grid_instructor", {"张网格", "李网格", "王网格"}),
    ("grid_member", set()),  # a member sees only their own row (not posted in January 2025)
    ("outsider", set()),
])
def test_compliance_is_scoped_to_what_the_user_oversees(county, personas, january, who, expected):
    report = patrols.cadence_compliance(regions_or_user_scope=personas[who], month=JAN)
    assert {row.name for row in report.rows} == expected


def test_cadence_compliance_takes_the_same_number_of_queries_for_1_and_20_members(county, personas):
    def queries_for(count: int, prefix: str) -> int:
        for n in range(count):
            user = member_since(f"{prefix}{n}", county.grid1 if n % 2 else county.grid2, D(2024, 12, 1))
            for day in (1, 2, 15):
                log(user, county.grid1, D(2025, 3, day), "daily")
            log(user, county.grid1, D(2025, 3, 15), "sweep")
        with CaptureQueriesContext(connection) as captured:
            report = patrols.cadence_compliance(regions_or_user_scope=county.louxing, month=D(2025, 3, 1))
        assert len(report.rows) == count
        PatrolLog.objects.all().delete()
        from grid.models import Post

        Post.objects.filter(user__username__startswith=prefix).delete()
        return len(captured)

    one, twenty = queries_for(1, "a"), queries_for(20, "b")
    assert one == twenty <= 3


def test_compliance_for_a_user_scope_is_constant_too(county, personas, january):
    leader = personas["township_office"]
    patrols.cadence_compliance(regions_or_user_scope=leader, month=JAN)  # grants are cached on the user
    with CaptureQueriesContext(connection) as small:
        patrols.cadence_compliance(regions_or_user_scope=leader, month=JAN)
    for n in range(20):
        member_since(f"m{n}", county.grid2, D(2024, 12, 1))
    with CaptureQueriesContext(connection) as large:
        report = patrols.cadence_compliance(regions_or_user_scope=leader, month=JAN)
    assert len(report.rows) == 23 and len(small) == len(large)


# ------------------------------------------------------------------ patrol pages


def as_user(client, user):
    client.force_login(user)
    return client


def patrol_form(county, /, **changes):
    data = {
        "region": county.grid1.pk, "kind": "daily", "date": yesterday().isoformat(), "started_at": "09:00",
        "ended_at": "10:30", "households_visited": "2", "route": "村委会—河堤", "findings": "河堤护栏松动",
    }
    data.update(changes)
    return data


def test_grid_member_records_a_patrol_from_the_phone_form(client, county, people, category):
    event = report(people["grid_member"], county.grid1, category)
    report(people["member2"], county.grid2, category, title="别人的事件")
    as_user(client, people["grid_member"])
    page = client.get(reverse("grid:patrol_new"))
    html = page.content.decode()
    assert page.status_code == 200 and 'name="viewport"' in html
    assert "第1网格" in html and "第2网格" not in html
    assert "河边垃圾堆放" in html and "别人的事件" not in html
    response = client.post(reverse("grid:patrol_new"), patrol_form(county, events=[event.pk]))
    log = PatrolLog.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("grid:patrol_detail", args=[log.pk])
    assert list(log.events.all()) == [event] and log.households_visited == 2
    detail = client.get(response["Location"]).content.decode()
    assert "河堤护栏松动" in detail and f"#{event.pk} 河边垃圾堆放" in detail and "记录巡查" in detail


@pytest.mark.parametrize("changes, message", [
    ({"date": lambda: (timezone.localdate() + datetime.timedelta(days=2)).isoformat()}, "巡查日期不能晚于今天"),
    ({"started_at": "11:00", "ended_at": "10:00"}, "结束时间必须晚于开始时间"),
    ({"date": "昨天"}, "输入一个有效的日期"),
    ({"region": "999999"}, "有效的选项"),
])
def test_bad_patrol_form_is_422_with_chinese_errors_and_input_kept(client, county, people, changes, message):
    changes = at_run_time(changes)
    as_user(client, people["grid_member"])
    response = client.post(reverse("grid:patrol_new"), patrol_form(county, **changes))
    html = response.content.decode()
    assert response.status_code == 422 and message in html
    assert "河堤护栏松动" in html and "村委会—河堤" in html
    assert PatrolLog.objects.count() == 0


def test_patrol_form_refuses_a_foreign_event(client, county, people, category):
    foreign = report(people["member2"], county.grid2, category, title="别人的事件")
    as_user(client, people["grid_member"])
    response = client.post(reverse("grid:patrol_new"), patrol_form(county, events=[foreign.pk]))
    assert response.status_code == 422 and f"关联事件 #{foreign.pk} 不是您近期" in response.content.decode()
    assert PatrolLog.objects.count() == 0


@pytest.mark.parametrize("who", ["outsider", "village_cadre", "township_office"])
def test_who_has_no_member_post_cannot_open_the_patrol_form(client, people, who):
    as_user(client, people[who])
    assert client.get(reverse("grid:patrol_new")).status_code == 403


def test_patrol_list_shows_members_their_own_and_leaders_their_grid(client, county, people):
    own = patrol(people["grid_member"], county.grid1, findings="成员甲的记录")
    patrol(people["grid_leader"], county.grid1, findings="网格长的记录")
    other = patrol(people["member2"], county.grid2, findings="第2网格的记录")
    as_user(client, people["grid_member"])
    html = client.get(reverse("grid:patrols")).content.decode()
    assert "成员甲的记录" in html and "网格长的记录" not in html and "第2网格的记录" not in html
    assert client.get(reverse("grid:patrol_detail", args=[other.pk])).status_code == 404
    as_user(client, people["grid_leader"])
    html = client.get(reverse("grid:patrols")).content.decode()
    assert "成员甲的记录" in html and "网格长的记录" in html and "第2网格的记录" not in html
    assert client.get(reverse("grid:patrol_detail", args=[own.pk])).status_code == 200
    for who in ("village_cadre", "township_office"):
        as_user(client, people[who])
        html = client.get(reverse("grid:patrols")).content.decode()
        assert "成员甲的记录" in html and "第2网格的记录" in html
    as_user(client, people["leader2"])
    assert client.get(reverse("grid:patrol_detail", args=[own.pk])).status_code == 404
    as_user(client, people["outsider"])
    assert client.get(reverse("grid:patrols")).status_code == 403


def test_patrol_list_filters_by_member_kind_and_dates(client, county, people):
    patrol(people["grid_member"], county.grid1, findings="甲日常", date=D(2025, 1, 5))
    patrol(people["grid_member"], county.grid1, findings="甲排查", kind="sweep", date=D(2025, 1, 15))
    patrol(people["member2"], county.grid2, findings="乙日常", date=D(2025, 1, 6))
    as_user(client, people["village_cadre"])
    url = reverse("grid:patrols")
    html = client.get(url, {"member": people["grid_member"].pk}).content.decode()
    assert "甲日常" in html and "甲排查" in html and "乙日常" not in html
    html = client.get(url, {"kind": "sweep"}).content.decode()
    assert "甲排查" in html and "甲日常" not in html
    html = client.get(url, {"date_from": "2025-01-06", "date_to": "2025-01-10"}).content.decode()
    assert "乙日常" in html and "甲日常" not in html and "甲排查" not in html


# ------------------------------------------------------------------ diary pages


def test_member_writes_todays_diary_twice_and_leader_reviews_it(client, county, people):
    member, leader = people["grid_member"], people["grid_leader"]
    as_user(client, member)
    assert client.get(reverse("grid:diaries")).status_code == 200
    assert client.get(reverse("grid:diary_write")).status_code == 200
    today = timezone.localdate().isoformat()
    first = client.post(reverse("grid:diary_write"), {"region": county.grid1.pk, "date": today, "content": "上午巡查"})
    assert first.status_code == 302 and "已保存" in client.get(first["Location"]).content.decode()
    form = client.get(reverse("grid:diary_write")).content.decode()
    assert "上午巡查" in form and "再次提交将更新" in form
    second = client.post(reverse("grid:diary_write"), {"region": county.grid1.pk, "date": today, "content": "上午巡查，下午走访"})
    assert "已更新" in client.get(second["Location"]).content.decode()
    diary = WorkDiary.objects.get()
    assert diary.content == "上午巡查，下午走访"
    # the member cannot review, not even their own
    assert client.post(reverse("grid:diary_review", args=[diary.pk]), {"comment": "好"}).status_code == 403

    as_user(client, leader)
    listing = client.get(reverse("grid:diaries"), {"show": "review"}).content.decode()
    assert "上午巡查，下午走访" in listing and "待审核" in listing
    detail = client.get(reverse("grid:diary_detail", args=[diary.pk])).content.decode()
    assert "审核确认" in detail
    response = client.post(reverse("grid:diary_review", args=[diary.pk]), {"comment": "记录清楚"})
    assert response.status_code == 302
    diary.refresh_from_db()
    assert diary.reviewed_by == leader and diary.review_comment == "记录清楚"

    as_user(client, member)
    refused = client.post(reverse("grid:diary_write"), {"region": county.grid1.pk, "date": today, "content": "改写"})
    assert refused.status_code == 422 and "不能再修改" in refused.content.decode() and "改写" in refused.content.decode()


def test_diary_form_errors_are_422(client, county, people):
    as_user(client, people["grid_member"])
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(reverse("grid:diary_write"), {"region": county.grid1.pk, "date": tomorrow, "content": "明天的"})
    assert response.status_code == 422 and "不能填写今天以后的工作日志" in response.content.decode()
    assert "明天的" in response.content.decode() and WorkDiary.objects.count() == 0


def test_diaries_list_puts_unreviewed_first(client, county, people):
    member = people["grid_member"]
    old, _ = patrols.write_diary(by=member, region=county.grid1, date=timezone.localdate() - datetime.timedelta(days=3), content="三天前")
    patrols.write_diary(by=member, region=county.grid1, date=timezone.localdate() - datetime.timedelta(days=2), content="两天前")
    newest, _ = patrols.write_diary(by=member, region=county.grid1, date=timezone.localdate(), content="当日已审")
    patrols.review_diary(newest, by=people["grid_leader"])
    as_user(client, people["grid_leader"])
    html = client.get(reverse("grid:diaries")).content.decode()
    assert html.index("两天前") < html.index("三天前") < html.index("当日已审")


def test_review_refusals_by_page(client, county, people):
    diary, _ = patrols.write_diary(by=people["grid_member"], region=county.grid1, date=yesterday(), content="巡查")
    own, _ = patrols.write_diary(by=people["grid_leader"], region=county.grid1, date=yesterday(), content="网格长自己的")
    as_user(client, people["grid_leader"])
    assert client.post(reverse("grid:diary_review", args=[own.pk])).status_code == 403
    as_user(client, people["leader2"])
    assert client.post(reverse("grid:diary_review", args=[diary.pk])).status_code == 404
    assert client.get(reverse("grid:diary_detail", args=[diary.pk])).status_code == 404
    as_user(client, people["member2"])
    assert client.get(reverse("grid:diary_detail", args=[diary.pk])).status_code == 404
    as_user(client, people["outsider"])
    assert client.get(reverse("grid:diaries")).status_code == 403
    assert client.get(reverse("grid:diary_write")).status_code == 403
    assert WorkDiary.objects.filter(reviewed_at__isnull=False).count() == 0


# ------------------------------------------------------------------ compliance page


def test_village_cadre_sees_the_compliance_table_of_the_village(client, county, personas, january):
    as_user(client, personas["village_cadre"])
    response = client.get(reverse("grid:compliance"), {"month": "2025-01"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "张网格" in html and "李网格" in html and "赵网格" not in html
    assert "20/31" in html and "缺 11" in html and "gv-short" in html


def test_township_of_zhaocun_does_not_see_taiping(client, county, personas, january):
    office, _ = services.ensure_user("zhaocun_office", password="x")
    services.create_post(user=office, role=Role.objects.get(key="township_office"), region=county.zhaocun)
    as_user(client, office)
    html = client.get(reverse("grid:compliance"), {"month": "2025-01"}).content.decode()
    assert "赵网格" in html and "张网格" not in html


@pytest.mark.parametrize("month, message", [
    ("2025-13", "月份格式应为"),
    pytest.param(lambda: f"{timezone.localdate().replace(day=1) + datetime.timedelta(days=400):%Y-%m}",
                 "不能查看未来月份", id="next-year-不能查看未来月份"),
])
def test_bad_month_is_422(client, personas, month, message):
    month = month() if callable(month) else month  # the month about a year ahead, read when the test runs
    as_user(client, personas["village_cadre"])
    response = client.get(reverse("grid:compliance"), {"month": month})
    assert response.status_code == 422 and message in response.content.decode()


def test_compliance_page_defaults_to_this_month_and_refuses_outsiders(client, personas):
    as_user(client, personas["grid_member"])
    html = client.get(reverse("grid:compliance")).content.decode()
    assert 'class="gv-pending"' in html and "0/1" in html
    as_user(client, personas["outsider"])
    assert client.get(reverse("grid:compliance")).status_code == 403


def test_events_stay_linked_when_listed(county, people, category):
    event = report(people["grid_member"], county.grid1, category)
    patrol(people["grid_member"], county.grid1, events=[event])
    assert Event.objects.get(pk=event.pk).patrol_logs.count() == 1
