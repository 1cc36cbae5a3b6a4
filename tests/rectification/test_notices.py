"""The rectification progress notice: data, PDF, versions, public pages."""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from docx import Document

from governance.models import AuditEntry
from rectification import notices
from rectification.models import (
    Accountability,
    MoneyRecovered,
    PetitionTransfer,
    PlanMeasure,
    PlanMeeting,
    ProgressNotice,
    RectificationItem,
    RectificationPlan,
)
from rectification.notices import _money

CATEGORIES = [
    ("聚焦贯彻落实党的路线方针政策和党中央决策部署方面", ["落实乡村振兴战略不到位", "意识形态工作责任制落实不力"]),
    ("聚焦群众身边腐败问题和不正之风方面", ["“三资”管理不规范", "惠民政策落实有偏差"]),
    ("聚焦基层党组织建设方面", ["组织生活不严格", "党员队伍管理松散"]),
]
STATUS_CYCLE = ["done", "fully_done", "in_progress", "done", "ongoing", "done", "pending", "fully_done"]
RESULTS = {
    "done": "已召开专题会议研究整改，制定工作台账，相关问题已全部整改完毕。",
    "fully_done": "已整改到位。已对相关账目逐笔核查，追回违规发放的补贴资金，建立长效管理机制。",
    "in_progress": "已完成前期排查，正在按照时间节点推进整改。",
    "ongoing": "已建立常态化工作机制，每季度开展一次专项检查，需长期坚持。",
    "pending": "已制定整改方案，待上级资金到位后实施。",
}


def make_plan(organisation, user, items: int = 24, *, seed: int = 0) -> RectificationPlan:
    """A plan with `items` problems over three focus categories and six sub-headings, meetings, rules,
    accountability, petitions and money recovered (the same builder serves the benchmark)."""
    plan = RectificationPlan.objects.create(
        organisation=organisation, title=f"{organisation.name}巡察整改方案{seed or ''}", group_name="县委第一巡察组",
        inspected_from=datetime.date(2024, 4, 8), inspected_to=datetime.date(2024, 5, 31),
        feedback_on=datetime.date(2024, 7, 12), first_responsible="党委书记",
        document_title="关于落实县委第一巡察组反馈意见的整改方案", document_number="太委〔2024〕9号",
        organisation_text="成立由党委书记任组长的巡察整改工作领导小组，下设办公室，实行周调度、月通报制度。",
        next_plan="一是持续巩固整改成果，对已整改问题开展“回头看”。\n二是加强建章立制，推动巡察整改常态化长效化。",
        contact="电话 0391-1234567，邮箱 tpzhengai@example.cn", created_by=user,
    )
    PlanMeeting.objects.create(plan=plan, held_on=datetime.date(2024, 7, 15), kind="党委会", topic="传达学习巡察反馈意见，研究部署整改工作")
    PlanMeeting.objects.create(plan=plan, held_on=datetime.date(2024, 8, 20), kind="专题民主生活会", topic="对照巡察反馈问题开展批评与自我批评")
    PlanMeasure.objects.create(plan=plan, name="村级财务管理办法", adopted_on=datetime.date(2024, 8, 1))
    PlanMeasure.objects.create(plan=plan, name="惠民资金发放公示制度", adopted_on=datetime.date(2024, 8, 10))
    PlanMeasure.objects.create(plan=plan, name="党员教育管理实施细则", adopted_on=datetime.date(2024, 9, 1))
    rows = []
    number = 0
    per_heading = max(1, items // 6)
    for category, headings in CATEGORIES:
        for heading in headings:
            for _ in range(per_heading):
                if number >= items:
                    break
                number += 1
                status = STATUS_CYCLE[(number - 1) % len(STATUS_CYCLE)]
                rows.append(RectificationItem(
                    plan=plan, number=number, category=category, subcategory=heading,
                    title=f"{heading}，存在第{number}类具体问题，相关工作推进缓慢",
                    status=status, result=RESULTS[status], deadline=datetime.date(2024, 12, 31),
                    unfinished_reason="涉及历史遗留问题，需协调县直部门共同解决" if status in ("in_progress", "pending") else "",
                    next_steps="加强与县直部门沟通对接，倒排工期，确保按期完成" if status in ("in_progress", "pending") else "",
                    new_deadline=datetime.date(2025, 6, 30) if status in ("in_progress", "pending") else None,
                ))
    while number < items:  # whatever the six headings did not take goes under the last one
        number += 1
        status = STATUS_CYCLE[(number - 1) % len(STATUS_CYCLE)]
        rows.append(RectificationItem(plan=plan, number=number, category=CATEGORIES[-1][0], subcategory=CATEGORIES[-1][1][-1],
                                      title=f"其他问题{number}", status=status, result=RESULTS[status],
                                      unfinished_reason="需要时间" if status in ("in_progress", "pending") else "",
                                      next_steps="持续推进" if status in ("in_progress", "pending") else "",
                                      deadline=datetime.date(2025, 3, 31)))
    RectificationItem.objects.bulk_create(rows)
    A = Accountability
    for person, level, measure in [("某村党支部书记", A.Level.VILLAGE, A.Measure.CASE),
                                   ("某办主任", A.Level.SECTION, A.Measure.ADMONISHMENT),
                                   ("某村会计", A.Level.VILLAGE, A.Measure.ADMONISHMENT),
                                   ("某站工作人员", A.Level.GENERAL, A.Measure.CRITICISM)]:
        Accountability.objects.create(plan=plan, person=person, level=level, measure=measure)
    PetitionTransfer.objects.create(plan=plan, summary="反映某村低保评定不公", closed_on=datetime.date(2024, 8, 1))
    PetitionTransfer.objects.create(plan=plan, summary="反映某村道路质量问题", closed_on=datetime.date(2024, 9, 1))
    PetitionTransfer.objects.create(plan=plan, summary="反映某村土地流转问题")
    MoneyRecovered.objects.create(plan=plan, amount=Decimal("12000.50"), source="清退违规发放补贴")
    MoneyRecovered.objects.create(plan=plan, amount=Decimal("3500"), source="追缴拖欠承包费")
    return plan


@pytest.fixture
def media(media_in_tmp, settings):
    return settings.MEDIA_ROOT


@pytest.fixture
def plan(county, personas):
    return make_plan(county.taiping, personas["township_committee"], 24)


def published(plan, user) -> ProgressNotice:
    notice = notices.create_draft(plan, by=user)
    notices.approve(notice, by=user)
    return notices.publish(notice, by=user)


def _items(data):
    return [item for sec in data["sections"] for g in sec["groups"] for item in g["items"]]


# ---------------------------------------------------------------- the data


def test_counts_are_computed_from_the_rows(plan):
    data = notices.build_notice(plan)
    c = data["counts"]
    statuses = list(plan.items.values_list("status", flat=True))
    assert c["problems"] == 24
    assert c["done"] == statuses.count("done") + statuses.count("fully_done") == 15
    assert c["in_progress"] == statuses.count("in_progress") == 3
    assert c["ongoing"] == 3 and c["pending"] == 3
    assert c["rules"] == 3 and c["meetings"] == 2 and c["people"] == 4
    assert (c["petitions"], c["petitions_closed"], c["petitions_open"]) == (3, 2, 1)
    assert c["money_total"] == "15500.50"
    by_measure = {m["label"]: m["count"] for m in data["accountability"]["by_measure"]}
    assert by_measure == {"立案": 1, "诫勉谈话": 2, "批评教育": 1}
    by_level = {lv["label"]: lv["count"] for lv in data["accountability"]["by_level"]}
    assert by_level == {"处级干部": 0, "科级干部": 1, "其他人员": 3}
    p = data["paragraphs"]
    assert "巡察反馈的24个问题中，已整改15个，正在整改中3个，需长期坚持3个，尚未整改3个" in p["summary"]
    assert "共处理4人。其中，处级干部0人、科级干部1人、其他人员3人；立案1人、诫勉谈话2人、批评教育1人。" in p["people"]
    assert "转办信访件3件，已办结2件，正在办理1件" in p["petitions"]
    assert "追回资金15500.50元" in p["petitions"]
    assert "制度3项" in p["organisation"][0] and "太委〔2024〕9号" in p["organisation"][0]
    assert "2024年4月8日至2024年5月31日，县委第一巡察组对太平镇党委开展了巡察" in p["opening"]
    assert "2024年7月12日反馈" in p["opening"]
    assert data["title"] == "中共太平镇委员会关于巡察整改进展情况的通报"
    # A change in the rows changes the counts: nothing is typed.
    plan.items.filter(status="pending").update(status="done")
    assert notices.build_notice(plan)["counts"]["done"] == 18


def test_numbering_is_continuous_across_sections_and_grouped(plan):
    data = notices.build_notice(plan)
    assert [item["number"] for item in _items(data)] == list(range(1, 25))
    assert [sec["label"] for sec in data["sections"]] == ["（一）", "（二）", "（三）"]
    assert [sec["title"] for sec in data["sections"]] == [c for c, _ in CATEGORIES]
    assert [g["heading"] for g in data["sections"][0]["groups"]] == CATEGORIES[0][1]
    assert sum(sec["count"] for sec in data["sections"]) == 24


def test_each_result_starts_with_its_status_word(plan):
    data = notices.build_notice(plan)
    labels = dict(RectificationItem.Status.choices)
    for item in _items(data):
        assert item["text"].startswith(labels[item["status"]] + "。"), item["text"]
    # "已整改到位。已对…" is not doubled; a contradicting word in the text gives way to the status.
    item = next(i for i in _items(data) if i["status"] == "fully_done")
    assert item["text"].startswith("已整改到位。已对相关账目") and "已整改到位。已整改到位" not in item["text"]
    assert notices.status_text("in_progress", "已整改。还差一点") == "正在整改中。还差一点。"
    unfinished = data["unfinished"]
    assert [u["number"] for u in unfinished] == [n for n in range(1, 25) if STATUS_CYCLE[(n - 1) % 8] in ("in_progress", "pending")]
    assert unfinished[0]["progress_text"].startswith("正在整改中。") and unfinished[0]["reason"].startswith("涉及历史遗留问题")
    assert unfinished[0]["deadline"] == "2025年6月30日"  # the new deadline decided later


# ---------------------------------------------------------------- versions


def test_publish_refused_when_items_lack_status_or_result(plan, personas, media):
    user = personas["township_committee"]
    plan.items.filter(number__in=[3, 7]).update(result="")
    notice = notices.create_draft(plan, by=user)
    with pytest.raises(ValidationError) as exc:
        notices.approve(notice, by=user)
    assert "第 3、7 项" in str(exc.value)
    plan.items.update(result="已完成。")
    notice = notices.approve(notice, by=user)
    plan.items.filter(number=5).update(status="")
    with pytest.raises(ValidationError) as exc:
        notices.publish(notice, by=user)
    assert "第 5 项" in str(exc.value)
    notice.refresh_from_db()
    assert notice.state == "approved" and not notice.pdf and notice.published_at is None


def test_permissions_versions_and_audit(plan, personas, media, django_capture_on_commit_callbacks):
    committee = personas["township_committee"]
    with pytest.raises(PermissionDenied):
        notices.create_draft(plan, by=personas["outsider"])
    notice = notices.create_draft(plan, by=committee)
    with pytest.raises(ValidationError):
        notices.create_draft(plan, by=committee)  # one open version at a time
    with pytest.raises(PermissionDenied):
        notices.approve(notice, by=personas["county_office"])
    with pytest.raises(ValidationError):
        notices.publish(notice, by=committee)  # not approved yet
    notices.approve(notice, by=committee)
    with django_capture_on_commit_callbacks(execute=True):  # the PDF is laid out after the commit
        first = notices.publish(notice, by=committee)
    first.refresh_from_db()
    assert first.state == "published" and first.published_at and first.pdf and first.content["counts"]["problems"] == 24
    assert first.pdf.read().startswith(b"%PDF")
    assert first.html.startswith("<!DOCTYPE html>")
    # A correction is a new version; the first stays as it was published.
    plan.items.filter(number=3).update(status="done", result="已完成整改。")
    second = published(plan, committee)
    first.refresh_from_db()
    assert second.version == 2 and first.state == "published"
    assert first.content["counts"]["done"] == 15 and second.content["counts"]["done"] == 16
    actions = set(AuditEntry.objects.filter(object_type="rectification.ProgressNotice").values_list("action", flat=True))
    assert actions == {"progress_notice.draft", "progress_notice.approve", "progress_notice.publish"}


def test_a_third_version_corrects_the_second_and_every_version_stays_readable(client, plan, personas, media):
    committee = personas["township_committee"]
    first = published(plan, committee)
    plan.items.filter(number=3).update(status="done", result="已完成整改。")
    second = published(plan, committee)
    plan.items.filter(number=7).update(status="done", result="已完成整改。")
    third = published(plan, committee)
    assert [n.version for n in (first, second, third)] == [1, 2, 3]
    for notice in (first, second):
        notice.refresh_from_db()
        assert notice.state == "published"
    assert [n.content["counts"]["done"] for n in (first, second, third)] == [15, 16, 17]
    assert notices.filename(third.content, "pdf").endswith("（第3版）.pdf")

    for old in (first, second):  # each older version points to the newest, not merely the next
        page = client.get(f"/public/notices/{old.pk}/").content.decode()
        assert f"本通报已有更正版本：<a href=\"/public/notices/{third.pk}/\">第3版" in page
    newest = client.get(f"/public/notices/{third.pk}/").content.decode()
    assert "本通报已有更正版本" not in newest
    assert all(f"/public/notices/{n.pk}/" in newest for n in (first, second))
    listing = client.get("/public/notices/").content.decode()
    assert listing.index(f"/public/notices/{third.pk}/") < listing.index(f"/public/notices/{second.pk}/") \
        < listing.index(f"/public/notices/{first.pk}/")
    fourth = notices.create_draft(plan, by=committee)
    assert fourth.version == 4 and fourth.state == "draft"


# ---------------------------------------------------------------- public pages


def test_public_pages(client, plan, personas, media):
    committee = personas["township_committee"]
    draft = notices.create_draft(plan, by=committee)
    assert client.get(f"/public/notices/{draft.pk}/").status_code == 404
    assert client.get(f"/public/notices/{draft.pk}/pdf/").status_code == 404
    client.force_login(committee)  # not even the committee reads a draft here
    assert client.get(f"/public/notices/{draft.pk}/").status_code == 404
    client.logout()
    notices.approve(draft, by=committee)
    assert client.get(f"/public/notices/{draft.pk}/").status_code == 404
    assert client.get("/public/notices/99999/").status_code == 404
    first = notices.publish(draft, by=committee)

    page = client.get(f"/public/notices/{first.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "中共太平镇委员会关于巡察整改进展情况的通报" in html and "（24）" in html
    pdf = client.get(f"/public/notices/{first.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")

    plan.items.filter(number=7).update(status="done", result="已完成。")
    second = published(plan, committee)
    listing = client.get("/public/notices/").content.decode()
    assert f"/public/notices/{second.pk}/" in listing and f"/public/notices/{first.pk}/" in listing
    assert listing.index(f"/public/notices/{second.pk}/") < listing.index(f"/public/notices/{first.pk}/")
    old = client.get(f"/public/notices/{first.pk}/")
    assert old.status_code == 200 and f"/public/notices/{second.pk}/" in old.content.decode()  # points to the correction


# ---------------------------------------------------------------- the PDF and the command


needs_poppler = pytest.mark.skipif(not shutil.which("pdftotext") or not shutil.which("pdffonts"), reason="需要 poppler-utils")


@needs_poppler
def test_pdf_text_and_fonts(plan, tmp_path):
    out = tmp_path / "notice.pdf"
    call_command("render_notice", "--plan", str(plan.pk), "--out", str(out))
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "中共太平镇委员会关于巡察整改进展情况的通报" in flat
    assert "（24）" in flat and "整改情况：已整改。" in flat
    assert not re.search("[\u2f00-\u2fdf\u2e80-\u2eff]", text)  # no Kangxi radicals
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the "emb" column
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "595.276 x 841.89" in info or "595 x 842" in info


def test_render_notice_command_formats_and_errors(plan, tmp_path):
    html = tmp_path / "n.html"
    call_command("render_notice", "--plan", str(plan.pk), "--out", str(html))
    assert "（1）" in html.read_text(encoding="utf-8")
    docx_file = tmp_path / "n.docx"
    call_command("render_notice", "--plan", str(plan.pk), "--out", str(docx_file))

    body = re.sub(r"\s+", "", "\n".join(p.text for p in Document(str(docx_file)).paragraphs))
    assert "中共太平镇委员会关于巡察整改进展情况的通报" in body and "（24）" in body
    with pytest.raises(CommandError, match="整改方案不存在"):
        call_command("render_notice", "--plan", "99999", "--out", str(html))
    with pytest.raises(CommandError, match="不支持的文件类型"):
        call_command("render_notice", "--plan", str(plan.pk), "--out", str(tmp_path / "n.txt"))


def test_money_prints_whole_yuan_without_fen_and_other_amounts_to_the_fen():


    assert (_money(Decimal("23000")), _money(Decimal("1234.5")), _money(Decimal("0.07"))) == ("23000", "1234.50", "0.07")
