"""The "three reports, four lists" (三报告四清单) of a group: data, access and the rendered documents."""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
from dataclasses import dataclass

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from grid import services
from grid.models import Role, Tier
from inspection.models import (
    FocusCategory,
    InspectionFinding,
    InspectionGroup,
    InspectionRound,
    ProblemClue,
    RoundTarget,
    TalkRecord,
)
from inspection.rounds import group_reports as round_reports

pytestmark = pytest.mark.django_db


@dataclass
class RoundData:
    round: InspectionRound
    group: InspectionGroup
    leader: object
    focus: dict
    villages: list


TAXONOMY = [
    ("聚焦党的理论路线方针政策和党中央决策部署在基层贯彻落实情况", ["巩固拓展脱贫攻坚成果方面", "污染防治方面"]),
    ("聚焦群众身边腐败问题和不正之风", ["惠民政策落实中以权谋私方面", "集体“三资”管理方面"]),
    ("聚焦基层党组织软弱涣散、组织力欠缺问题", ["组织生活制度落实方面", "党费收缴方面"]),
]


def make_round(county, office, *, today=None) -> InspectionRound:
    today = today or timezone.localdate()
    number = 1 + max([1, *InspectionRound.objects.filter(county=county.county, term="十五届").values_list("number", flat=True)])
    return InspectionRound.objects.create(
        county=county.county, term="十五届", number=number, name=f"十五届县委第{round_reports.chinese_ordinal(number)}轮巡察",
        arrival_date=today - datetime.timedelta(days=60), withdrawal_date=today - datetime.timedelta(days=30),
        created_by=office,
    )


def make_taxonomy(round_) -> dict:
    focus = {}
    for order, (title, children) in enumerate(TAXONOMY):
        top = FocusCategory.objects.create(round=round_, title=title, order=order)
        focus[title] = top
        for child_order, child in enumerate(children):
            focus[child] = FocusCategory.objects.create(round=round_, parent=top, title=child, order=child_order)
    return focus


def make_group(round_, township, villages, *, number, leader=None, members=()) -> InspectionGroup:
    group = InspectionGroup.objects.create(round=round_, number=number, name=f"第{'一二三'[number - 1]}巡察组",
                                           township=township, leader=leader)
    group.members.set(members)
    RoundTarget.objects.create(round=round_, group=group, organisation=township)
    for index, village in enumerate(villages):
        RoundTarget.objects.create(round=round_, group=group, organisation=village,
                                   village_class=["key", "ordinary", "advanced"][index % 3], is_mobile=index == 2)
    return group


def add_finding(group, focus, title, *, village=None, secretary=False, people="", suggestion="", recorder=None):
    target = RoundTarget.objects.get(group=group, organisation=village or group.township)
    return InspectionFinding.objects.create(
        round=group.round, group=group, target=target, village=village, focus=focus, title=title,
        description=f"{title}的具体表现。", people_involved=people, suggestion=suggestion,
        for_secretary_meeting=secretary, recorded_by=recorder or group.leader,
    )


def build_zhaocun_round(county, personas) -> RoundData:
    """赵村镇 with three villages (河南村, 北岭村 and 东湾村); the leader is a second group user, the
    persona `inspection_group` an ordinary member."""
    village = Tier.objects.get(key="village")
    beiling = services.create_region(parent=county.zhaocun, name="北岭村", tier=village)
    dongwan = services.create_region(parent=county.zhaocun, name="东湾村", tier=village)
    leader, _ = services.ensure_user("group_leader", password="Test@2026pw")
    services.create_post(user=leader, role=Role.objects.get(key="inspection_group"), region=county.zhaocun)
    round_ = make_round(county, personas["county_office"])
    focus = make_taxonomy(round_)
    villages = [county.henan, beiling, dongwan]
    group = make_group(round_, county.zhaocun, villages, number=1, leader=leader, members=[personas["inspection_group"]])
    f = focus
    # Recorded out of focus order on purpose: the documents order them by the taxonomy.
    add_finding(group, f["党费收缴方面"], "党费收缴不规范", village=beiling)
    add_finding(group, f["惠民政策落实中以权谋私方面"], "低保评定优亲厚友", village=county.henan, secretary=True,
                people="河南村党支部书记张某", suggestion="移交县纪委监委调查处理")
    add_finding(group, f["巩固拓展脱贫攻坚成果方面"], "防返贫监测不及时")
    add_finding(group, f["惠民政策落实中以权谋私方面"], "危房改造补助代领", village=dongwan)
    add_finding(group, f["组织生活制度落实方面"], "“三会一课”流于形式", village=county.henan)
    add_finding(group, f["组织生活制度落实方面"], "主题党日活动不经常", village=beiling, secretary=True,
                suggestion="约谈村党支部书记")
    add_finding(group, f["聚焦群众身边腐败问题和不正之风"], "镇党委落实“三重一大”制度不严", secretary=True,
                people="镇党委班子", suggestion="责令镇党委作出书面检查")
    TalkRecord.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=county.zhaocun),
                              held_on=round_.arrival_date, interviewee="王某", position="镇党委书记",
                              summary="介绍全镇基本情况。", recorded_by=leader)
    TalkRecord.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=county.zhaocun),
                              held_on=round_.arrival_date, interviewee="李某", position="副镇长",
                              summary="反映项目推进情况。", recorded_by=leader)
    TalkRecord.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=county.henan),
                              held_on=round_.arrival_date, interviewee="张某", position="村党支部书记",
                              summary="村级事务情况。", recorded_by=leader)
    TalkRecord.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=county.henan),
                              held_on=round_.arrival_date, interviewee="赵某", position="村民",
                              summary="反映低保评定不公。", recorded_by=leader)
    ProblemClue.objects.create(round=round_, group=group, target=RoundTarget.objects.get(group=group, organisation=county.henan),
                               people_involved="河南村党支部书记张某", description="涉嫌在低保评定中优亲厚友。",
                               source="来信", disposal="移交县纪委监委", recorded_by=leader)
    return RoundData(round_, group, leader, focus, villages)


@pytest.fixture
def zhaocun_round(county, personas) -> RoundData:
    return build_zhaocun_round(county, personas)


def _numbers(data) -> list[int]:
    return [row["number"] for s in data["sections"] for g in s["groups"] for row in g["items"]]


def _titles(data) -> list[str]:
    return [row["title"] for s in data["sections"] for g in s["groups"] for row in g["items"]]


# ---------------------------------------------------------------- the data


def test_problem_list_numbers_continuously_in_focus_order(zhaocun_round):
    data = round_reports.build_problem_list(zhaocun_round.group)
    assert _numbers(data) == list(range(1, 8))
    assert [s["label"] + s["title"][:6] for s in data["sections"]] == ["（一）聚焦党的理论", "（二）聚焦群众身边", "（三）聚焦基层党组"]
    assert [s["count"] for s in data["sections"]] == [1, 3, 3]
    assert _titles(data) == [
        "防返贫监测不及时",
        "镇党委落实“三重一大”制度不严",  # filed under the focus itself: before its sub-headings
        "低保评定优亲厚友", "危房改造补助代领",
        "“三会一课”流于形式", "主题党日活动不经常",
        "党费收缴不规范",
    ]
    assert data["totals"] == {"findings": 7, "township": 2, "villages": 5}


def test_situation_report_counts_come_from_the_data(zhaocun_round, county):
    group = zhaocun_round.group
    data = round_reports.build_situation_report(group, user=zhaocun_round.leader)
    text = round_reports.opening(data)
    assert "所辖 3 个村（社区）党组织" in text and "（其中机动巡察 1 个）" in text
    assert "个别谈话 4 人次" in text and "发现问题 7 个" in text and "乡镇党委 2 个、村（社区）5 个" in text
    assert "点人点事点问题 3 项" in text
    add_finding(group, zhaocun_round.focus["污染防治方面"], "秸秆焚烧管控不力", village=county.henan)
    text = round_reports.opening(round_reports.build_situation_report(group, user=zhaocun_round.leader))
    assert "发现问题 8 个" in text and "村（社区）6 个" in text


def test_common_problems_are_categories_found_in_two_or_more_villages(zhaocun_round, county):
    group = zhaocun_round.group
    data = round_reports.build_common_list(group)
    assert data["title"] == "巡察赵村镇所巡3个村（社区）共性问题清单"
    assert [(row["focus"], row["villages"]) for row in data["rows"]] == [
        ("惠民政策落实中以权谋私方面", ["河南村", "东湾村"]),
        ("组织生活制度落实方面", ["河南村", "北岭村"]),
    ]
    # 党费收缴 (only 北岭村) and the township's own findings are not common problems; two findings of
    # the same village do not make one either.
    add_finding(group, zhaocun_round.focus["党费收缴方面"], "党费未按月收缴", village=zhaocun_round.villages[1])
    assert "党费收缴方面" not in [row["focus"] for row in round_reports.build_common_list(group)["rows"]]
    add_finding(group, zhaocun_round.focus["党费收缴方面"], "党费台账缺失", village=county.henan)
    rows = round_reports.build_common_list(group)["rows"]
    assert rows[-1]["focus"] == "党费收缴方面" and rows[-1]["village_count"] == 2 and rows[-1]["findings"] == 3
    assert "共性问题共 3 类" in round_reports.opening(round_reports.build_common_list(group)).replace("的同类问题", "共性问题")


def test_one_list_per_village_numbered_from_one(zhaocun_round):
    data = round_reports.build_village_lists(zhaocun_round.group)
    assert [v["village"] for v in data["lists"]] == ["河南村", "北岭村", "东湾村"]
    assert [v["count"] for v in data["lists"]] == [2, 2, 1]
    for village in data["lists"]:
        assert _numbers(village) == list(range(1, village["count"] + 1))
    assert data["totals"] == {"villages": 3, "findings": 5, "with_findings": 3}


def test_talk_report_counts_talks_by_position_kind(zhaocun_round):
    data = round_reports.build_talk_report(zhaocun_round.group, user=zhaocun_round.leader)
    assert data["by_kind"] == [
        {"kind": "乡镇党委领导班子成员", "count": 2},
        {"kind": "村（社区）“两委”干部", "count": 1},
        {"kind": "群众", "count": 1},
    ]
    assert "共开展个别谈话 4 人次，涉及 2 个党组织" in round_reports.opening(data)


def test_secretary_list_holds_the_marked_findings_with_people_and_suggestion(zhaocun_round):
    rows = round_reports.build_secretary_list(zhaocun_round.group)["rows"]
    assert [(r["number"], r["title"], r["people_involved"], r["suggestion"]) for r in rows] == [
        (1, "镇党委落实“三重一大”制度不严", "镇党委班子", "责令镇党委作出书面检查"),
        (2, "低保评定优亲厚友", "河南村党支部书记张某", "移交县纪委监委调查处理"),
        (3, "主题党日活动不经常", "", "约谈村党支部书记"),
    ]
    assert rows[0]["organisation"] == "赵村镇党委" and rows[1]["organisation"] == "河南村"


def test_clue_report_is_refused_to_a_group_member_who_is_not_the_leader(zhaocun_round, personas):
    group = zhaocun_round.group
    member = personas["inspection_group"]
    assert round_reports.may_view_reports(member, group)
    with pytest.raises(PermissionDenied):
        round_reports.build_clue_report(group, user=member)
    with pytest.raises(PermissionDenied):
        round_reports.export(group, "clues", "pdf", by=member)
    for user in (zhaocun_round.leader, personas["county_office"]):
        data = round_reports.build_clue_report(group, user=user)
        assert data["totals"] == {"clues": 1, "people": 1}
        assert "共发现问题线索 1 条" in round_reports.opening(data)
    for name in ("leading_group", "township_committee", "outsider"):
        with pytest.raises(PermissionDenied):
            round_reports.build_clue_report(group, user=personas[name])


def test_township_committee_and_outsider_do_not_see_the_reports(zhaocun_round, personas):
    group = zhaocun_round.group
    assert round_reports.may_view_reports(personas["leading_group"], group)
    assert not round_reports.may_view_reports(personas["township_committee"], group)
    assert not round_reports.may_view_reports(personas["outsider"], group)
    assert list(round_reports.visible_groups(personas["outsider"])) == []


# ---------------------------------------------------------------- the rendered documents


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="需要 poppler-utils")
def test_pdf_text_holds_the_title_and_a_finding(zhaocun_round):
    group = zhaocun_round.group
    for kind, expected in (("situation", "防返贫监测不及时"), ("villages", "党费收缴不规范"),
                           ("secretary", "河南村党支部书记张某"), ("common", "河南村、东湾村")):
        data = round_reports.build(group, kind, user=zhaocun_round.leader)
        pdf = round_reports.render(data, "pdf")
        assert pdf.startswith(b"%PDF")
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True,
                              check=True).stdout.decode()
        flat = "".join(text.split())
        assert "".join(data["title"].split()) in flat, kind
        assert expected in flat, kind
        assert "第1页共" in flat


def test_xlsx_and_docx_reopen(zhaocun_round):

    group = zhaocun_round.group
    for kind in round_reports.KINDS:
        data = round_reports.build(group, kind, user=zhaocun_round.leader)
        document = Document(io.BytesIO(round_reports.render(data, "docx")))
        text = "\n".join(p.text for p in document.paragraphs)
        assert data["title"] in text
        if kind in round_reports.LIST_KINDS:
            workbook = load_workbook(io.BytesIO(round_reports.render(data, "xlsx")))
            assert workbook.worksheets[0]["A1"].value == data["title"]
        else:
            with pytest.raises(ValueError):
                round_reports.render(data, "xlsx")
    workbook = load_workbook(io.BytesIO(round_reports.render(round_reports.build_village_lists(group), "xlsx")))
    assert workbook.sheetnames == ["全部村（社区）", "河南村", "北岭村", "东湾村"]
    assert [row[3] for row in workbook["北岭村"].iter_rows(min_row=3, values_only=True)] == [
        "主题党日活动不经常", "党费收缴不规范"]
    problems = load_workbook(io.BytesIO(round_reports.render(round_reports.build_problem_list(group), "xlsx")))
    assert [row[0] for row in problems.worksheets[0].iter_rows(min_row=3, values_only=True)] == list(range(1, 8))


# ---------------------------------------------------------------- the pages


def test_reports_page_lists_the_documents_without_clues_for_a_member(client, zhaocun_round, personas):
    group = zhaocun_round.group
    url = reverse("inspection:round_reports", args=[group.pk])
    client.force_login(personas["inspection_group"])
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "巡察情况报告" in body and "共性问题清单" in body and 'id="doc-clues"' not in body
    assert client.get(reverse("inspection:round_report_download", args=[group.pk, "clues", "pdf"])).status_code == 403
    download = client.get(reverse("inspection:round_report_download", args=[group.pk, "common", "xlsx"]))
    assert download.status_code == 200 and download["Content-Type"].startswith("application/vnd.openxml")
    client.force_login(zhaocun_round.leader)
    assert 'id="doc-clues"' in client.get(url).content.decode()
    assert client.get(reverse("inspection:round_report_download", args=[group.pk, "clues", "docx"])).status_code == 200


def test_reports_page_reads_the_groups_findings_once_for_all_seven_documents(client, zhaocun_round):

    client.force_login(zhaocun_round.leader)
    url = reverse("inspection:round_reports", args=[zhaocun_round.group.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    finding_reads = [q for q in captured.captured_queries
                     if 'FROM "inspection_inspectionfinding"' in q["sql"] and "COUNT(" not in q["sql"].upper()]
    assert len(finding_reads) == 1, [q["sql"][:120] for q in finding_reads]


def test_reports_page_is_404_outside_the_users_reach(client, zhaocun_round, personas):
    client.force_login(personas["township_committee"])
    assert client.get(reverse("inspection:round_reports", args=[zhaocun_round.group.pk])).status_code == 404
    client.force_login(personas["outsider"])  # no post in the inspection area at all: the site refuses first
    assert client.get(reverse("inspection:round_reports", args=[zhaocun_round.group.pk])).status_code in (403, 404)
    client.force_login(personas["county_office"])
    assert client.get(reverse("inspection:round_report_download",
                              args=[zhaocun_round.group.pk, "talks", "xlsx"])).status_code == 404
    listing = client.get(reverse("inspection:round_report_list"))
    assert listing.status_code == 200 and "第一巡察组" in listing.content.decode()


def test_a_report_pdf_is_a_job_only_its_requester_may_open(client, zhaocun_round, personas, media_in_tmp,
                                                           django_capture_on_commit_callbacks):
    group, leader = zhaocun_round.group, zhaocun_round.leader
    client.force_login(personas["inspection_group"])  # a member: clues are not theirs, not even as a job
    assert client.get(reverse("inspection:round_report_download", args=[group.pk, "clues", "pdf"])).status_code == 403
    client.force_login(leader)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("inspection:round_report_download", args=[group.pk, "clues", "pdf"]))
    assert response.status_code == 302 and response["Location"].startswith("/jobs/")
    assert "已完成" in client.get(response["Location"]).content.decode()
    result = client.get(response["Location"] + "result/")
    assert result["Content-Type"] == "application/pdf" and b"".join(result.streaming_content).startswith(b"%PDF")
    for who in ("inspection_group", "county_office"):
        client.force_login(personas[who])
        assert client.get(response["Location"] + "result/").status_code == 404
