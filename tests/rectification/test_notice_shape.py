"""The progress notice in the published shape: headings, numbering, section 四, the county in the
opening — alike in HTML, PDF and DOCX; editing a draft; the county's versioned template."""

from __future__ import annotations

import datetime
import html.parser
import io
import json
import re
import shutil
import subprocess

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from docx import Document

from governance.models import AuditEntry
from rectification import notices
from rectification.models import (
    Accountability,
    NoticeTemplate,
    PetitionTransfer,
    PlanMeeting,
    RectificationItem,
    RectificationPlan,
)

A = "聚焦贯彻落实党的路线方针政策和党中央决策部署方面"
B = "聚焦群众身边腐败问题和不正之风方面"
C = "聚焦基层党组织建设方面"
# (category, sub-heading, title, status, deadline as the plan wrote it)
ROWS = [
    (A, "落实乡村振兴战略不到位", "产业发展规划缺乏长远谋划", "done", ""),
    (A, "落实乡村振兴战略不到位", "人居环境整治标准不高", "fully_done", ""),
    (A, "意识形态工作责任制落实不力", "意识形态阵地管理不严格问题", "in_progress", "2024年12月前"),
    (B, "“三资”管理不规范", "集体资产台账不健全", "done", ""),
    (B, "“三资”管理不规范", "村级工程项目管理不规范", "done", ""),
    (B, "惠民政策落实有偏差", "低保动态管理不精准", "pending", "2025年6月底前"),
    (B, "作风建设有差距", "为民服务意识不强", "ongoing", "长期坚持"),
    (C, "组织生活不严格", "“三会一课”落实不到位", "done", ""),
    (C, "组织生活不严格", "发展党员程序不规范", "in_progress", "2024年底"),
]
UNFINISHED = [3, 6, 9]
HEADINGS = [
    "一、被巡察党组织及其主要负责人组织落实整改情况",
    "二、巡察反馈问题的整改情况（集中整改期内已完成的整改事项）",
    "三、巡察反馈问题的处理情况",
    "（一）运用监督执纪“四种形态”处理情况",
    "（二）转办信访件办理及追回资金",
    "四、需要进一步整改的事项及措施",
    "五、下一步计划",
]


def shaped_plan(organisation, user) -> RectificationPlan:
    plan = RectificationPlan.objects.create(
        organisation=organisation, title="太平镇巡察整改方案", group_name="县委第一巡察组",
        inspected_from=datetime.date(2024, 4, 8), inspected_to=datetime.date(2024, 5, 31),
        feedback_on=datetime.date(2024, 7, 12), first_responsible="党委书记",
        document_title="关于落实县委第一巡察组反馈意见的整改方案", document_number="太委〔2024〕9号", created_by=user,
    )
    PlanMeeting.objects.create(plan=plan, held_on=datetime.date(2024, 7, 15), kind="党委会", topic="研究部署整改工作")
    for number, (category, sub, title, status, wording) in enumerate(ROWS, start=1):
        unfinished = number in UNFINISHED
        RectificationItem.objects.create(
            plan=plan, number=number, category=category, subcategory=sub, title=title, status=status,
            result="已完成前期排查，正在推进。" if unfinished else "已建立工作台账，完成整改。",
            deadline=datetime.date(2024, 12, 31), deadline_text=wording,
            unfinished_reason="涉及县直部门审批" if unfinished else "", next_steps="加强沟通对接" if unfinished else "",
        )
    L, M = Accountability.Level, Accountability.Measure
    for person, level, measure in [("某局副局长", L.COUNTY, M.PARTY_DISCIPLINE), ("某所所长", L.SECTION, M.GOVERNMENT_CASE),
                                   ("某村会计", L.VILLAGE, M.ADMONISHMENT), ("某站职工", L.GENERAL, M.CRITICISM)]:
        Accountability.objects.create(plan=plan, person=person, level=level, measure=measure)
    PetitionTransfer.objects.create(plan=plan, summary="反映低保评定不公", closed_on=datetime.date(2024, 8, 1))
    PetitionTransfer.objects.create(plan=plan, summary="反映道路质量问题")
    return plan


@pytest.fixture
def plan(county, personas):
    return shaped_plan(county.taiping, personas["township_committee"])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "head")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "head")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def html_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return "".join(parser.parts)


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"—\s*\d+\s*—", "", text)  # page numbers


def docx_text(content: bytes) -> str:

    return "\n".join(p.text for p in Document(io.BytesIO(content)).paragraphs)


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def assert_in_order(text: str, pieces: list[str]) -> None:
    at = 0
    for piece in pieces:
        found = text.find(piece, at)
        assert found >= 0, f"“{piece}” missing after position {at}: …{text[at:at + 80]}…"
        at = found + len(piece)


def assert_published_shape(text: str) -> None:
    text = flat(text)
    assert text.startswith("中共太平镇委员会关于巡察整改进展情况的通报")
    # The county comes from the region tree; the period, the group and the feedback date from the plan.
    assert ("根据某县委巡察工作统一部署，2024年4月8日至2024年5月31日，县委第一巡察组对太平镇党委开展了巡察，"
            "并于2024年7月12日反馈了巡察意见。按照党务公开原则和巡察工作有关要求，现将巡察整改情况予以公布。") in text
    assert_in_order(text, HEADINGS)
    assert "太委〔2024〕9号" in text
    # 二: (一)(二)(三) the focus categories; sub-headings 1. 2. anew in each; problems (1)…(9) throughout.
    assert_in_order(text, [
        f"（一）{A}", "1.落实乡村振兴战略不到位", "（1）产业发展规划缺乏长远谋划。整改情况：已整改。已建立工作台账",
        "（2）人居环境整治标准不高。整改情况：已整改到位。", "2.意识形态工作责任制落实不力",
        "（3）意识形态阵地管理不严格问题。整改情况：正在整改中。已完成前期排查",
        f"（二）{B}", "1.“三资”管理不规范", "（4）", "（5）", "2.惠民政策落实有偏差", "（6）低保动态管理不精准。整改情况：未整改。",
        "3.作风建设有差距", "（7）为民服务意识不强。整改情况：长期坚持。",
        f"（三）{C}", "1.组织生活不严格", "（8）", "（9）发展党员程序不规范。整改情况：正在整改中。", "三、",
    ])
    assert "4.作风" not in text and "（10）" not in text
    # 三: by level (处级, 科级, others) and by measure, 政务立案 included; petitions.
    assert "共处理4人。其中，处级干部1人、科级干部1人、其他人员2人；党纪处分1人、政务立案1人、诫勉谈话1人、批评教育1人。" in text
    assert "巡察组转办信访件2件，已办结1件，正在办理1件。" in text
    # 四: each unfinished problem with its progress, reason and steps, and the deadline as the plan wrote it.
    assert_in_order(text, [
        "四、需要进一步整改的事项及措施",
        "1.关于巡察反馈第3点意识形态阵地管理不严格问题。整改情况：正在整改中。已完成前期排查，正在推进。"
        "未完成整改的原因及下一步措施：涉及县直部门审批。加强沟通对接。整改时限：2024年12月前。",
        "2.关于巡察反馈第6点低保动态管理不精准问题。", "整改时限：2025年6月底前。",
        "3.关于巡察反馈第9点发展党员程序不规范问题。", "整改时限：2024年底。",
        "五、下一步计划", "中共太平镇委员会",
    ])
    assert "联系方式" not in text  # no contact given: no contact line


def test_the_notice_has_the_published_shape_in_html_pdf_and_docx(plan, tmp_path):
    data = notices.build_notice(plan, today=datetime.date(2024, 12, 20))
    assert_published_shape(html_text(notices.render_html(data)))
    assert_published_shape(docx_text(notices.render_docx(data)))
    if shutil.which("pdftotext"):
        assert_published_shape(pdf_text(notices.render_pdf(data), tmp_path))
    assert flat(docx_text(notices.render_docx(data))).endswith("中共太平镇委员会2024年12月20日")


def test_contact_line_only_for_a_real_contact(plan):
    for placeholder in ("无", "——", "  ", "××"):
        plan.contact = placeholder
        plan.save()
        assert "联系方式" not in html_text(notices.render_html(notices.build_notice(plan)))
    plan.contact = "电话 0391-1234567"
    plan.save()
    assert "如有意见建议，请及时向我们反映。联系方式：电话0391-1234567。" in flat(
        html_text(notices.render_html(notices.build_notice(plan))))


def test_a_new_deadline_decided_later_replaces_the_plans_wording(plan):
    plan.items.filter(number=3).update(new_deadline=datetime.date(2025, 3, 31))
    entry = next(u for u in notices.build_notice(plan)["unfinished"] if u["number"] == 3)
    assert entry["deadline"] == "2025年3月31日"


def test_the_problem_numbers_of_sections_two_and_four_agree_when_the_plan_skips_a_number(plan):
    plan.items.filter(number=2).delete()
    text = flat(html_text(notices.render_html(notices.build_notice(plan))))
    assert "（2）意识形态阵地管理不严格问题。" in text and "1.关于巡察反馈第2点意识形态阵地管理不严格问题。" in text
    assert "（8）发展党员程序不规范。" in text and "3.关于巡察反馈第8点发展党员程序不规范问题。" in text


# ---------------------------------------------------------------- editing a draft


def test_an_edited_section_survives_approval_and_publication_and_the_published_text_is_frozen(
        client, plan, personas, media):
    committee = personas["township_committee"]
    notice = notices.create_draft(plan, by=committee)
    notices.edit_sections(notice, {
        "organisation": "镇党委召开会议1次，专题研究巡察整改，制定印发整改方案（太委〔2024〕9号）。",
        "result:1": "已整改。重新编制产业发展规划并经镇党委会审议通过。",
        "progress:3": "已排查阵地12处，完成整改8处。",
        "reason:3": "部分阵地需县级审批。下一步将加快报批。",
        "next_plan": "下一步，镇党委将持续跟踪未完成事项。",
    }, by=committee)
    entry = AuditEntry.objects.get(action="progress_notice.edit")
    assert entry.after["result:1"].startswith("已整改。重新编制") and entry.before["result:1"] is None
    notices.approve(notice, by=committee)
    published = notices.publish(notice, by=committee)
    for text in (flat(html_text(published.html)), flat(docx_text(notices.render_docx(published.content)))):
        assert "镇党委召开会议1次，专题研究巡察整改" in text
        assert "（1）产业发展规划缺乏长远谋划。整改情况：已整改。重新编制产业发展规划并经镇党委会审议通过。" in text
        assert "第3点意识形态阵地管理不严格问题。整改情况：正在整改中。已排查阵地12处，完成整改8处。" in text
        assert "未完成整改的原因及下一步措施：部分阵地需县级审批。下一步将加快报批。整改时限：2024年12月前。" in text
        assert "五、下一步计划下一步，镇党委将持续跟踪未完成事项。" in text
    # The replaced texts stay in the audit trail, not in the public content (the open API serves it).
    assert "drafted" not in json.dumps(published.content) and "edits" not in published.content
    # Frozen: later changes of the rows do not reach the published version or its public page.
    plan.items.filter(number=1).update(result="别的文字")
    page = flat(client.get(f"/public/notices/{published.pk}/").content.decode())
    assert "重新编制产业发展规划" in page and "别的文字" not in page
    with pytest.raises(ValidationError, match="不能再修改"):
        notices.edit_sections(published, {"next_plan": "改"}, by=committee)
    # A correction is a new version that starts from the published texts.
    correction = notices.create_draft(plan, by=committee)
    assert correction.version == 2 and correction.edits["next_plan"] == "下一步，镇党委将持续跟踪未完成事项。"
    notices.edit_sections(correction, {"next_plan": "更正后的计划。"}, by=committee)
    published.refresh_from_db()
    assert "更正后的计划" not in published.html and published.content["texts"]["next_plan"].startswith("下一步，镇党委")


def test_an_approved_draft_is_not_edited_and_clearing_a_text_restores_the_drafted_one(plan, personas):
    committee = personas["township_committee"]
    notice = notices.create_draft(plan, by=committee)
    notices.edit_sections(notice, {"result:2": "另写的文字。"}, by=committee)
    notices.edit_sections(notice, {"result:2": ""}, by=committee)
    notice.refresh_from_db()
    assert notice.edits == {}
    assert AuditEntry.objects.filter(action="progress_notice.edit").count() == 2
    notices.approve(notice, by=committee)
    with pytest.raises(ValidationError, match="已审定，不能再修改"):
        notices.edit_sections(notice, {"result:2": "迟到的修改。"}, by=committee)


def test_edits_are_refused_to_others_and_for_unknown_sections(plan, personas):
    notice = notices.create_draft(plan, by=personas["township_committee"])
    with pytest.raises(PermissionDenied):
        notices.edit_sections(notice, {"next_plan": "x"}, by=personas["county_office"])
    with pytest.raises(ValidationError, match="未知的部分"):
        notices.edit_sections(notice, {"opening": "x"}, by=personas["township_committee"])
    with pytest.raises(ValidationError, match="通报中没有这些部分"):
        notices.edit_sections(notice, {"progress:1": "x"}, by=personas["township_committee"])  # 1 is finished
    assert not AuditEntry.objects.filter(action="progress_notice.edit").exists()


def test_the_editor_shows_where_a_text_disagrees_with_the_items_and_counts(client, plan, personas):
    committee = personas["township_committee"]
    notice = notices.create_draft(plan, by=committee)
    client.force_login(committee)
    url = reverse("rectification:notice_edit", args=[notice.pk])
    response = client.post(url, {"result:3": "已整改到位，问题已全部整改完毕。",
                                 "organisation": "召开专题会议5次，研究整改。"})
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "文字以“已整改到位”开头，事项状态为“正在整改中”" in page
    assert "文中“召开专题会议5次”与登记的整改会议数（1）不一致" in page
    assert "未提及整改方案文号“太委〔2024〕9号”" in page
    listing = client.get(reverse("rectification:plan_notices", args=[plan.pk])).content.decode()
    assert "二、第3项问题的整改情况：文字以“已整改到位”开头" in listing
    assert "一、组织落实整改情况：未提及整改方案文号“太委〔2024〕9号”" in listing
    # The rows stay the source: the status word printed is the item's.
    notice.refresh_from_db()
    text = flat(html_text(notices.render_html(notices.notice_data(notice))))
    assert "（3）意识形态阵地管理不严格问题。整改情况：正在整改中。问题已全部整改完毕。" in text


@pytest.mark.parametrize(("typed", "refusal"), [
    ("已修订制度\x07完成", "不能包含控制字符（U+0007），请删除后重新输入"),
    ("已修订制度\u202e完成", "不能包含文字方向控制字符（U+202E）"),
    ("已" * 5001, "不能超过 5000 个字（现有 5001 个）"),
], ids=["control", "bidi", "too-long"])
def test_the_editor_refuses_what_every_form_refuses_and_saves_nothing(client, plan, personas, typed, refusal):
    committee = personas["township_committee"]
    notice = notices.create_draft(plan, by=committee)
    client.force_login(committee)
    url = reverse("rectification:notice_edit", args=[notice.pk])
    response = client.post(url, {"organisation": "成立整改工作领导小组，文号太委〔2024〕9号。", "result:1": typed})
    assert response.status_code == 400
    said = [str(message) for message in response.context["messages"]]
    assert len(said) == 1 and said[0].startswith("二、第1项问题的整改情况：") and refusal in said[0]
    field = next(f for f in response.context["fields"] if f["key"] == "result:1")
    assert refusal in field["errors"][0] and field["text"] == typed  # what was typed stays in the box
    notice.refresh_from_db()
    assert notice.edits == {}  # nothing saved, not even the valid part
    assert not AuditEntry.objects.filter(action="progress_notice.edit").exists()
    with pytest.raises(ValidationError, match=re.escape(refusal)):
        notices.edit_sections(notice, {"next_plan": typed}, by=committee)
    assert "\x07" not in notices.render_html(notices.notice_data(notice))


# ---------------------------------------------------------------- the county's template


def test_the_county_office_edits_its_template_as_versions_and_a_notice_keeps_its_version(
        client, county, plan, personas, media):
    office, committee = personas["county_office"], personas["township_committee"]
    first_notice = notices.create_draft(plan, by=committee)
    assert first_notice.template is None  # the default template
    client.force_login(office)
    page = client.get(reverse("rectification:notice_template"))
    assert page.status_code == 200 and "默认模板" in page.content.decode()
    form = {field: value for field, value in page.context["form"].initial.items()
            if field not in ("measure_names", "level_names")}
    form |= {f"measure__{code}": name for code, name in NoticeTemplate().measure_names.items()}
    form |= {f"level__{code}": name for code, name in NoticeTemplate().level_names.items()}
    form |= {"heading_next": "下一步工作打算", "problem_numbering": "circled", "measure__gov_case": "政务立案调查",
             "level__village": "村干部"}
    response = client.post(reverse("rectification:notice_template"), form)
    assert response.status_code == 302
    template = NoticeTemplate.objects.get(county=county.county)
    assert template.version == 1 and template.heading_next == "下一步工作打算"
    assert AuditEntry.objects.filter(action="notice_template.save", object_id=str(template.pk)).exists()

    # The open draft keeps the default; a new version of the notice takes the county's version 1.
    old = flat(html_text(notices.render_html(notices.notice_data(first_notice))))
    assert "五、下一步计划" in old and "（1）产业" in old
    notices.approve(first_notice, by=committee)
    notices.publish(first_notice, by=committee)
    second = notices.create_draft(plan, by=committee)
    assert second.template == template
    new = flat(html_text(notices.render_html(notices.notice_data(second))))
    assert "五、下一步工作打算" in new and "①产业发展规划" in new and "⑨发展党员" in new
    assert "处级干部1人、科级干部1人、其他人员1人、村干部1人；党纪处分1人、政务立案调查1人" in new

    # A bad placeholder is refused in Chinese; nothing is saved.
    response = client.post(reverse("rectification:notice_template"), form | {"opening": "根据{县长}统一部署"})
    assert response.status_code == 400 and "未知的占位符" in response.content.decode()
    assert NoticeTemplate.objects.filter(county=county.county).count() == 1
    # The committee may not change the county's template.
    with pytest.raises(PermissionDenied):
        notices.save_template(county.county, {"heading_next": "x"}, by=committee)


def test_template_placeholders_are_chinese_and_the_first_english_names_still_fill():
    data = {"county": "某县", "group_name": "县委第一巡察组", "inspected_from": "2024年4月8日",
            "inspected_to": "2024年5月31日", "feedback_on": "2024年6月20日", "party_organisation": "太平镇党委",
            "committee": "中共太平镇委员会"}
    chinese = notices._fill(NoticeTemplate().opening, data)
    assert chinese.startswith("根据某县委巡察工作统一部署，2024年4月8日至2024年5月31日，县委第一巡察组对太平镇党委")
    english = "根据{county_committee}巡察工作统一部署，{inspected_from}至{inspected_to}，{group}对{party_organisation}"
    assert chinese.startswith(notices._fill(english, data))
    assert "{" not in NoticeTemplate().title.replace("{党委全称}", "")
