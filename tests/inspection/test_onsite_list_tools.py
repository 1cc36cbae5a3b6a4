"""The county inspection lists: rounds, working papers, talks, clues, look-backs, letters and the
groups of 三报告四清单 — their filters, search and order, and the .xlsx export of the same rows.

Each export is checked against its list under the same query string (same rows, same order, all
pages), for scope (a user of another round or township gets none of the others' rows; no page, no
file) and for its audit row. Clues keep their rule: only the office, discipline and the group leader.
"""

from __future__ import annotations

import datetime
import io
from urllib.parse import parse_qs

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from governance.models import AuditEntry
from inspection.models import (
    InspectionFinding,
    InspectionGroup,
    InspectionLetter,
    InspectionRound,
    LookBack,
    ProblemClue,
    RoundTarget,
    TalkRecord,
)
from inspection.rounds import feedback, letters, onsite
from tests.inspection.test_onsite import build_round

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def r(county, personas):
    return build_round(county, personas)


def today() -> datetime.date:
    return timezone.localdate()


def days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)


def listed(client, name: str, params: dict | None = None, key: str = "page") -> list[int]:
    response = client.get(reverse(f"inspection:{name}"), params or {})
    assert response.status_code == 200, response.status_code
    return [row.pk for row in response.context[key]]


def exported(client, name: str, params: dict | None = None) -> list[list]:
    response = client.get(reverse(f"inspection:{name}"), params or {})
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()][1:]


def audited(action: str, user) -> AuditEntry:
    entry = AuditEntry.objects.filter(action=action).order_by("-id").first()
    assert entry is not None and entry.actor == user
    return entry


def pks(*rows) -> list[int]:
    return [row.pk for row in rows]


# ------------------------------------------------------------------ 巡察轮次


@pytest.fixture
def old_round(r, county):
    return InspectionRound.objects.create(
        county=county.county, term="十四届", number=5, name="十四届县委第五轮巡察",
        arrival_date=today() - datetime.timedelta(days=400), withdrawal_date=today() - datetime.timedelta(days=370),
        created_by=r.users["county_office"])


def test_rounds_sort_and_term_filter(r, client, old_round):
    client.force_login(r.users["county_office"])
    assert listed(client, "rounds", key="rounds") == pks(r.other_round, r.round, old_round)
    assert listed(client, "rounds", {"sort": "oldest"}, key="rounds") == pks(old_round, r.round, r.other_round)
    assert listed(client, "rounds", {"term": "十四届"}, key="rounds") == pks(old_round)
    assert listed(client, "rounds", {"term": "十五届"}, key="rounds") == pks(r.other_round, r.round)
    response = client.get(reverse("inspection:rounds"), {"term": "十三届", "sort": "nonsense"})
    assert response.status_code == 200 and "gv-error" in response.content.decode()  # shown, not a 500


def test_round_export_is_the_list_with_its_counts_and_is_audited(r, client, old_round):
    office = r.users["county_office"]
    client.force_login(office)
    params = {"term": "十五届", "sort": "oldest"}
    rows = exported(client, "round_export", params)
    assert [row[0] for row in rows] == [x.name for x in InspectionRound.objects.filter(
        pk__in=listed(client, "rounds", params, key="rounds")).order_by("arrival_date")]
    assert [row[0] for row in rows] == [r.round.name, r.other_round.name]
    assert rows[0][4:] == [f"{r.round.arrival_date:%Y-%m-%d}", f"{r.round.withdrawal_date:%Y-%m-%d}", 2, 4]
    assert parse_qs(audited("inspection.round.export", office).after["query"]) == {"term": ["十五届"], "sort": ["oldest"]}


def test_round_list_and_export_are_scoped(r, client, old_round):
    client.force_login(r.other_member)  # a member of the other round's group sees that round only
    assert listed(client, "rounds", key="rounds") == pks(r.other_round)
    assert [row[0] for row in exported(client, "round_export")] == [r.other_round.name]
    client.force_login(r.users["outsider"])
    assert client.get(reverse("inspection:round_export")).status_code == 403


def test_round_list_reads_the_counts_in_one_query(r, client, old_round):
    client.force_login(r.users["county_office"])
    url = reverse("inspection:rounds")
    client.get(url)  # the session's first page also notes "no two-factor device" (a session write)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    for number in range(3):
        extra = InspectionRound.objects.create(
            county=r.round.county, term="十六届", number=number + 1, name=f"十六届第{number + 1}轮", created_by=old_round.created_by,
            arrival_date=today(), withdrawal_date=today() + datetime.timedelta(days=30))
        InspectionGroup.objects.create(round=extra, number=1, name="第一巡察组", township=r.group1.township)
    client.get(url)  # a new group moves the access version: the first page after it reloads the user's access
    with CaptureQueriesContext(connection) as after:
        client.get(url)
    assert len(after) == len(before)


# ------------------------------------------------------------------ 问题底稿


@pytest.fixture
def findings(r):
    member = r.users["inspection_group"]
    f1 = onsite.record_finding(by=member, group=r.group1, target=r.henan, focus=r.sub_focus, title="村集体经济发展缓慢",
                               description="河南村集体经济年收入不足 5 万元。")
    f2 = onsite.record_finding(by=member, group=r.group1, target=r.zhaocun, focus=r.focus, title="党费收缴不规范",
                               description="党费未按月收缴。", people_involved="镇党委组织委员王某",
                               for_secretary_meeting=True)
    f3 = onsite.record_finding(by=r.users["member2"], group=r.group2, target=r.taiping, focus=r.sub_focus,
                               title="财务报销不规范", description="白条入账。")
    for finding, days in ((f1, 3), (f2, 2), (f3, 1)):
        InspectionFinding.objects.filter(pk=finding.pk).update(recorded_at=days_ago(days))
    InspectionFinding.objects.filter(pk=f3.pk).update(fed_back_at=timezone.now())
    return f1, f2, f3


def test_findings_sort(r, client, findings):
    f1, f2, f3 = findings
    client.force_login(r.users["county_office"])
    assert listed(client, "onsite_findings") == pks(f3, f2, f1)
    assert listed(client, "onsite_findings", {"sort": "oldest"}) == pks(f1, f2, f3)
    # group 1 before group 2; within a group the township committee before its villages
    assert listed(client, "onsite_findings", {"sort": "target"}) == pks(f2, f1, f3)


def test_findings_filters_and_search(r, client, findings):
    f1, f2, f3 = findings
    client.force_login(r.users["county_office"])
    assert listed(client, "onsite_findings", {"group": r.group2.pk}) == pks(f3)
    assert listed(client, "onsite_findings", {"group": r.group1.pk}) == pks(f2, f1)
    assert listed(client, "onsite_findings", {"fed_back": "yes"}) == pks(f3)
    assert listed(client, "onsite_findings", {"fed_back": "no"}) == pks(f2, f1)
    assert listed(client, "onsite_findings", {"for_secretary_meeting": "on"}) == pks(f2)
    start = timezone.localtime(days_ago(2)).date()
    assert listed(client, "onsite_findings", {"date_from": start.isoformat()}) == pks(f3, f2)
    assert listed(client, "onsite_findings", {"date_to": (start - datetime.timedelta(days=1)).isoformat()}) == pks(f1)
    assert listed(client, "onsite_findings", {"q": "河南村"}) == pks(f1)  # the target's name
    assert listed(client, "onsite_findings", {"q": "王某"}) == pks(f2)  # the people involved
    assert listed(client, "onsite_findings", {"round": r.round.pk}) == pks(f3, f2, f1)


def test_findings_bad_filter_value_is_an_error_not_a_500(r, client, findings):
    client.force_login(r.users["county_office"])
    response = client.get(reverse("inspection:onsite_findings"), {"group": "abc", "date_from": "2026-13-40"})
    assert response.status_code == 200 and response.content.decode().count("gv-error") >= 2
    # a round with no finding the user may see is not offered, and naming it narrows nothing
    response = client.get(reverse("inspection:onsite_findings"), {"round": r.other_round.pk})
    assert response.status_code == 200 and len(response.context["page"]) == 3
    assert response.context["form"].errors["round"]


def test_findings_export_is_the_list_and_is_audited(r, client, findings):
    f1, f2, f3 = findings
    office = r.users["county_office"]
    client.force_login(office)
    params = {"group": r.group1.pk, "sort": "oldest"}
    ids = listed(client, "onsite_findings", params)
    rows = exported(client, "onsite_finding_export", params)
    titles = dict(InspectionFinding.objects.values_list("pk", "title"))
    assert [row[5] for row in rows] == [titles[pk] for pk in ids] == [f1.title, f2.title]
    assert rows[1][:3] == [r.round.name, "第一巡察组", "赵村镇"] and rows[1][9] == "是" and rows[1][7] == "镇党委组织委员王某"
    assert audited("inspection.finding.export", office).after["rows"] == 2


def test_findings_export_is_scoped(r, client, findings):
    f3 = findings[2]
    client.force_login(r.users["township_committee"])  # 太平镇: only its own findings, once fed back
    assert [row[5] for row in exported(client, "onsite_finding_export")] == [f3.title]
    client.force_login(r.other_member)  # another round's member
    assert exported(client, "onsite_finding_export") == []
    client.force_login(r.users["outsider"])
    assert client.get(reverse("inspection:onsite_finding_export")).status_code == 403


# ------------------------------------------------------------------ 谈话记录


@pytest.fixture
def talks(r):
    def talk(by, group, target, days, interviewee, summary):
        return onsite.record_talk(by=by, group=group, target=target, held_on=today() - datetime.timedelta(days=days),
                                  interviewee=interviewee, position="", summary=summary)

    t1 = talk(r.users["deputy1"], r.group1, r.zhaocun, 5, "张三", "了解班子运行情况。")
    t2 = talk(r.users["deputy1"], r.group1, r.henan, 3, "李四", "了解村务公开情况。")
    t3 = talk(r.users["member2"], r.group2, r.taiping, 1, "王五", "了解财务管理情况。")
    return t1, t2, t3


def test_talks_sort_filters_and_search(r, client, talks):
    t1, t2, t3 = talks
    client.force_login(r.users["county_office"])
    assert listed(client, "onsite_talks") == pks(t3, t2, t1)
    assert listed(client, "onsite_talks", {"sort": "oldest"}) == pks(t1, t2, t3)
    assert listed(client, "onsite_talks", {"sort": "target"}) == pks(t3, t1, t2)  # 太平镇, 赵村镇, 河南村
    assert listed(client, "onsite_talks", {"group": r.group2.pk}) == pks(t3)
    window = {"date_from": (today() - datetime.timedelta(days=4)).isoformat(),
              "date_to": (today() - datetime.timedelta(days=2)).isoformat()}
    assert listed(client, "onsite_talks", window) == pks(t2)
    assert listed(client, "onsite_talks", {"q": "李四"}) == pks(t2)
    assert listed(client, "onsite_talks", {"q": "了解 财务"}) == pks(t3)  # every word must match
    response = client.get(reverse("inspection:onsite_talks"), {"date_from": "2026-02-10", "date_to": "2026-02-01"})
    assert "结束日期不能早于开始日期" in response.content.decode()


def test_talk_export_is_the_list_scoped_and_audited(r, client, talks):
    t1, t2, t3 = talks
    office = r.users["county_office"]
    client.force_login(office)
    params = {"group": r.group1.pk, "sort": "oldest"}
    names = dict(TalkRecord.objects.values_list("pk", "interviewee"))
    rows = exported(client, "onsite_talk_export", params)
    assert [row[4] for row in rows] == [names[pk] for pk in listed(client, "onsite_talks", params)] == ["张三", "李四"]
    assert rows[0][3] == f"{t1.held_on:%Y-%m-%d}"
    assert audited("inspection.talk.export", office).after["query"] == f"group={r.group1.pk}&sort=oldest"
    client.force_login(r.other_member)
    assert exported(client, "onsite_talk_export") == []
    client.force_login(r.users["township_committee"])  # townships read no talk records
    assert client.get(reverse("inspection:onsite_talk_export")).status_code == 403


# ------------------------------------------------------------------ 问题线索


@pytest.fixture
def clues(r):
    c1 = onsite.record_clue(by=r.users["inspection_group"], group=r.group1, target=r.zhaocun,
                            people_involved="赵村镇某站所长张某", description="反映其在危房改造补助发放中优亲厚友。", source="来信")
    c2 = onsite.record_clue(by=r.users["deputy1"], group=r.group1, target=r.henan, people_involved="河南村会计赵某",
                            description="虚报冒领低保金。", source="谈话")
    c3 = onsite.record_clue(by=r.users["member2"], group=r.group2, target=r.taiping, people_involved="太平镇财政所会计李某",
                            description="套取项目资金。", source="查阅资料")
    for clue, days in ((c1, 3), (c2, 2), (c3, 1)):
        ProblemClue.objects.filter(pk=clue.pk).update(recorded_at=days_ago(days))
    return c1, c2, c3


def test_clues_sort_filters_and_search(r, client, clues):
    c1, c2, c3 = clues
    client.force_login(r.users["county_office"])
    assert listed(client, "onsite_clues") == pks(c3, c2, c1)
    assert listed(client, "onsite_clues", {"sort": "oldest"}) == pks(c1, c2, c3)
    assert listed(client, "onsite_clues", {"sort": "target"}) == pks(c1, c2, c3)  # group 1: 赵村镇, 河南村; group 2
    assert listed(client, "onsite_clues", {"group": r.group1.pk}) == pks(c2, c1)
    assert listed(client, "onsite_clues", {"round": r.round.pk}) == pks(c3, c2, c1)
    start = timezone.localtime(days_ago(2)).date()
    assert listed(client, "onsite_clues", {"date_from": start.isoformat(), "date_to": start.isoformat()}) == pks(c2)
    assert listed(client, "onsite_clues", {"q": "低保"}) == pks(c2)
    assert listed(client, "onsite_clues", {"q": "查阅"}) == pks(c3)  # the source


def test_clue_filters_offer_only_the_groups_a_leader_may_see(r, client, clues):
    c3 = clues[2]
    client.force_login(r.users["leader2"])
    response = client.get(reverse("inspection:onsite_clues"))
    assert list(response.context["form"].fields["group"].queryset) == [r.group2]
    # naming the other group's id is refused on the field and widens nothing
    response = client.get(reverse("inspection:onsite_clues"), {"group": r.group1.pk})
    assert [clue.pk for clue in response.context["page"]] == [c3.pk] and response.context["form"].errors["group"]
    assert "张某" not in response.content.decode() and "赵某" not in response.content.decode()


def test_clue_export_is_the_list_and_keeps_the_clue_rule(r, client, clues):
    c1, c2, c3 = clues
    office = r.users["county_office"]
    client.force_login(office)
    params = {"group": r.group1.pk, "sort": "oldest"}
    people = dict(ProblemClue.objects.values_list("pk", "people_involved"))
    rows = exported(client, "onsite_clue_export", params)
    assert [row[3] for row in rows] == [people[pk] for pk in listed(client, "onsite_clues", params)]
    assert [row[3] for row in rows] == [c1.people_involved, c2.people_involved]
    entry = audited("inspection.clue.export", office)
    assert entry.after["rows"] == 2 and entry.after["query"] == f"group={r.group1.pk}&sort=oldest"

    client.force_login(r.users["leader2"])  # the other group's leader: its own clue, whatever the query asks
    assert [row[3] for row in exported(client, "onsite_clue_export", {"group": r.group1.pk})] == [c3.people_involved]
    client.force_login(r.users["leader1"])
    assert [row[3] for row in exported(client, "onsite_clue_export")] == [c2.people_involved, c1.people_involved]
    for name in ("inspection_group", "deputy1", "leading_group", "township_committee", "outsider"):
        client.force_login(r.users[name])  # members, deputies, the leading group: no clue, no file
        assert client.get(reverse("inspection:onsite_clue_export"), params).status_code == 403, name
    assert AuditEntry.objects.filter(action="inspection.clue.export").count() == 3


# ------------------------------------------------------------------ 回头看


@pytest.fixture
def look_backs(r):
    office = r.users["county_office"]

    def look_back(target, days, **fields):
        return LookBack.objects.create(round=r.round, target=target, recorded_by=office,
                                       scheduled_on=today() + datetime.timedelta(days=days), **fields)

    b1 = look_back(r.zhaocun, -3, done_on=today() - datetime.timedelta(days=1), result="整改基本到位。")
    b2 = look_back(r.henan, -1)  # past its date, not done
    b3 = look_back(r.taiping, 5)
    return b1, b2, b3


def test_look_backs_sort_filters_and_search(r, client, look_backs):
    b1, b2, b3 = look_backs
    client.force_login(r.users["county_office"])
    assert listed(client, "onsite_lookbacks") == pks(b3, b2, b1)
    assert listed(client, "onsite_lookbacks", {"sort": "upcoming"}) == pks(b1, b2, b3)
    assert listed(client, "onsite_lookbacks", {"sort": "target"}) == pks(b3, b1, b2)
    assert listed(client, "onsite_lookbacks", {"status": "done"}) == pks(b1)
    assert listed(client, "onsite_lookbacks", {"status": "late"}) == pks(b2)
    assert listed(client, "onsite_lookbacks", {"status": "pending"}) == pks(b3, b2)
    assert listed(client, "onsite_lookbacks", {"date_from": today().isoformat()}) == pks(b3)
    assert listed(client, "onsite_lookbacks", {"q": "整改"}) == pks(b1)
    assert listed(client, "onsite_lookbacks", {"q": "太平"}) == pks(b3)


def test_look_back_export_is_the_list_scoped_and_audited(r, client, look_backs):
    b1, b2, b3 = look_backs
    office = r.users["county_office"]
    client.force_login(office)
    params = {"status": "pending", "sort": "upcoming"}
    names = {b.pk: b.target.organisation.name for b in look_backs}
    rows = exported(client, "onsite_lookback_export", params)
    assert [row[0] for row in rows] == [names[pk] for pk in listed(client, "onsite_lookbacks", params)]
    assert [row[0] for row in rows] == ["河南村", "太平镇"] and rows[0][3] == "待开展"
    assert audited("inspection.look_back.export", office).after["rows"] == 2
    client.force_login(r.users["township_committee"])  # 太平镇: its own look-back only
    assert [row[0] for row in exported(client, "onsite_lookback_export")] == ["太平镇"]
    client.force_login(r.users["outsider"])
    assert client.get(reverse("inspection:onsite_lookback_export")).status_code == 403


# ------------------------------------------------------------------ 巡察文书


@pytest.fixture
def letter_rows(r, county):
    office = r.users["county_office"]

    def issue(days, **fields):
        letter = letters.issue_letter(by=office, round=r.round, **fields)
        InspectionLetter.objects.filter(pk=letter.pk).update(issued_on=today() - datetime.timedelta(days=days))
        return letter

    l1 = issue(3, kind="reminder", recipient=county.zhaocun, reply_due=today() + datetime.timedelta(days=10))
    l2 = issue(2, kind="supervision", recipient=county.louxing, subject="督办楼星村典型问题")
    l3 = issue(1, kind="reminder", recipient=county.henan, reply_due=today() + datetime.timedelta(days=3))
    InspectionLetter.objects.filter(pk=l3.pk).update(replied_on=today(), reply_summary="已书面报告")
    return l1, l2, l3


def test_letters_sort_filters_and_search(r, client, letter_rows):
    l1, l2, l3 = letter_rows
    client.force_login(r.users["county_office"])
    assert listed(client, "letters") == pks(l3, l2, l1)
    assert listed(client, "letters", {"sort": "oldest"}) == pks(l1, l2, l3)
    assert listed(client, "letters", {"sort": "due"}) == pks(l3, l1, l2)  # without a deadline last
    assert listed(client, "letters", {"kind": "supervision"}) == pks(l2)
    assert listed(client, "letters", {"reply": "replied"}) == pks(l3)
    assert listed(client, "letters", {"reply": "waiting"}) == pks(l1)  # l2 needs no reply
    InspectionLetter.objects.filter(pk=l1.pk).update(is_overdue=True)  # the job's flag alone changes nothing
    assert listed(client, "letters", {"reply": "overdue"}) == []
    # due yesterday and not answered: 逾期未回复 at once, before the daily job has run
    InspectionLetter.objects.filter(pk=l1.pk).update(is_overdue=False, reply_due=today() - datetime.timedelta(days=1))
    assert listed(client, "letters", {"reply": "overdue"}) == pks(l1)
    assert listed(client, "letters", {"reply": "waiting"}) == []
    assert listed(client, "letters", {"q": "楼星"}) == pks(l2)
    assert listed(client, "letters", {"q": l1.number}) == pks(l1)
    day = (today() - datetime.timedelta(days=2)).isoformat()
    assert listed(client, "letters", {"date_from": day, "date_to": day}) == pks(l2)
    response = client.get(reverse("inspection:letters"), {"kind": "nonsense"})
    assert response.status_code == 200 and len(response.context["page"]) == 3 and response.context["form"].errors


def test_letter_export_is_the_list_scoped_and_audited(r, client, letter_rows):
    l1, l2, l3 = letter_rows
    office = r.users["county_office"]
    client.force_login(office)
    params = {"kind": "reminder", "sort": "due"}
    numbers = dict(InspectionLetter.objects.values_list("pk", "number"))
    rows = exported(client, "letter_export", params)
    assert [row[0] for row in rows] == [numbers[pk] for pk in listed(client, "letters", params)]
    assert [row[0] for row in rows] == [l3.number, l1.number]
    assert rows[0][3] == "河南村党支部" and rows[0][8] == "已回复" and rows[1][8] == "待回复"
    assert audited("inspection.letter.export", office).after["query"] == "kind=reminder&sort=due"
    client.force_login(r.users["township_committee"])  # 太平镇: letters to it and its villages only
    assert [row[0] for row in exported(client, "letter_export")] == [l2.number]
    client.force_login(r.users["outsider"])
    assert client.get(reverse("inspection:letter_export")).status_code == 403


# ------------------------------------------------------------------ 三报告四清单


@pytest.fixture
def timelines(r):
    InspectionRound.objects.filter(pk=r.round.pk).update(withdrawal_date=today() - datetime.timedelta(days=15))
    InspectionGroup.objects.filter(pk=r.group2.pk).update(
        reported_on=today() - datetime.timedelta(days=12), secretary_meeting_on=today() - datetime.timedelta(days=5),
        feedback_on=today() - datetime.timedelta(days=2))
    return InspectionGroup.objects.get(round=r.other_round)


def test_round_report_groups_sort_and_filters(r, client, timelines):
    other = timelines
    client.force_login(r.users["county_office"])
    listing = reverse("inspection:round_report_list")

    def groups(params=None):
        return [row["group"].pk for row in client.get(listing, params or {}).context["rows"]]

    assert groups() == pks(other, r.group1, r.group2)
    assert groups({"sort": "township"}) == pks(r.group2, other, r.group1)  # 太平镇, then 赵村镇 newest round first
    assert groups({"round": r.other_round.pk}) == pks(other)
    assert groups({"status": "overdue"}) == pks(r.group1)
    assert groups({"status": "fed_back"}) == pks(r.group2)
    assert groups({"status": "waiting"}) == pks(other, r.group1)
    # the database filter agrees with the timeline the page shows
    for row in client.get(listing).context["rows"]:
        assert bool(row["overdue"]) == (row["group"].pk == r.group1.pk)
        assert bool(feedback.overdue_steps(row["group"])) == bool(row["overdue"])


def test_round_report_groups_are_scoped(r, client, timelines):
    client.force_login(r.users["leader2"])
    shown = [row["group"].pk for row in client.get(reverse("inspection:round_report_list")).context["rows"]]
    assert r.group2.pk in shown and r.group1.pk not in shown
    client.force_login(r.users["outsider"])
    assert client.get(reverse("inspection:round_report_list")).status_code == 403


def test_targets_of_the_fixture_are_what_the_sorts_assume(r):
    """The orders above rest on 太平镇 sorting before 赵村镇 and 河南村 after 赵村镇 (region paths)."""
    paths = dict(RoundTarget.objects.filter(round=r.round).values_list("organisation__name", "organisation__path"))
    assert paths["太平镇"] < paths["赵村镇"] < paths["河南村"]
