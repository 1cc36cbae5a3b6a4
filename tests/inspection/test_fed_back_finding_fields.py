"""After feedback the inspected township committee reads its problems, not what the group wrote for the office
and the secretary's meeting (涉及人员, 处理建议, 书记专题会清单, 记录人); the page gives the feedback date the
office recorded, not the moment it pressed 反馈."""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from inspection.rounds import feedback

from .test_round_reports import add_finding, make_group, make_round, make_taxonomy

pytestmark = pytest.mark.django_db
DAY = datetime.timedelta(days=1)
PERSON = "镇党政办主任王某K4"
SUGGESTION = "移交县纪委监委调查处理K4"


@pytest.fixture
def fed_back(county, personas):
    """太平镇's group fed back (feedback date: 9 days after withdrawal) with one finding marked for the
    secretary's meeting."""
    office = personas["county_office"]
    round_ = make_round(county, office)
    focus = make_taxonomy(round_)
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=office)
    paper = add_finding(group, focus["聚焦群众身边腐败问题和不正之风"], "公务接待未执行清单制度", secretary=True,
                        people=PERSON, suggestion=SUGGESTION, recorder=personas["inspection_group"])
    withdrawal = round_.withdrawal_date
    group.reported_on, group.secretary_meeting_on = withdrawal + 2 * DAY, withdrawal + 8 * DAY
    group.save()
    feedback.feed_back(by=office, group=group, feedback_on=withdrawal + 9 * DAY, feedback_document="反馈意见")
    group.refresh_from_db()
    return group, paper


def xlsx_rows(content: bytes) -> list[list]:
    return [list(row) for row in load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True)]


def test_the_township_committee_reads_the_finding_without_its_internal_fields(client, fed_back, personas):
    group, paper = fed_back
    client.force_login(personas["township_committee"])
    response = client.get(reverse("inspection:onsite_finding_detail", args=[paper.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "公务接待未执行清单制度" in body
    for hidden in (PERSON, SUGGESTION, "<dt>涉及人员</dt>", "<dt>处理建议</dt>", "<dt>书记专题会清单</dt>",
                   "点人点事点问题", "<dt>记录</dt>", "<dt>反馈时间</dt>"):
        assert hidden not in body, hidden
    assert f"<dt>反馈日期</dt><dd>{group.feedback_on:%Y-%m-%d}</dd>" in body
    listing = client.get(reverse("inspection:onsite_findings")).content.decode()
    assert "公务接待未执行清单制度" in listing and "书记专题会" not in listing


def test_the_township_committee_cannot_search_or_filter_by_the_internal_fields(client, fed_back, personas):
    client.force_login(personas["township_committee"])
    assert "公务接待" not in client.get(reverse("inspection:onsite_findings"), {"q": "王某K4"}).content.decode()
    assert "公务接待" in client.get(reverse("inspection:onsite_findings"), {"q": "公务接待"}).content.decode()
    page = client.get(reverse("inspection:onsite_findings"), {"for_secretary_meeting": "on"}).content.decode()
    assert 'name="for_secretary_meeting"' not in page


def test_the_township_committees_export_has_no_internal_columns(client, fed_back, personas):
    group, _ = fed_back
    client.force_login(personas["township_committee"])
    rows = xlsx_rows(client.get(reverse("inspection:onsite_finding_export")).content)
    text = "\n".join(str(cell) for row in rows for cell in row if cell is not None)
    assert "公务接待未执行清单制度" in text
    for hidden in (PERSON, SUGGESTION, "涉及人员", "处理建议", "书记专题会建议", "记录人"):
        assert hidden not in text, hidden
    headers = next(row for row in rows if "反馈日期" in row)
    assert rows[-1][headers.index("反馈日期")] == f"{group.feedback_on:%Y-%m-%d}"


@pytest.mark.parametrize("name", ["county_office", "leading_group", "inspection_group"])
def test_the_office_leading_group_and_group_keep_the_internal_fields(client, fed_back, personas, name, county):
    group, paper = fed_back
    if name == "inspection_group":
        group.members.add(personas["inspection_group"])
    client.force_login(personas[name])
    body = client.get(reverse("inspection:onsite_finding_detail", args=[paper.pk])).content.decode()
    assert PERSON in body and SUGGESTION in body and "列入点人点事点问题建议清单" in body
    assert f"{group.feedback_on:%Y-%m-%d}" in body
    rows = xlsx_rows(client.get(reverse("inspection:onsite_finding_export")).content)
    text = "\n".join(str(cell) for row in rows for cell in row if cell is not None)
    assert PERSON in text and SUGGESTION in text
    assert "公务接待" in client.get(reverse("inspection:onsite_findings"), {"q": "王某K4"}).content.decode()
