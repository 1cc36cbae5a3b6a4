"""Text people type is shown as text: in pages, PDFs and Word documents, never run as markup.

Every free-text field of an event, a patrol finding, an inspection finding (问题底稿) and a
rectification item gets a script tag (and friends); the pages must show it escaped, the PDFs must
print it literally (WeasyPrint would drop a real <script> element and its text) and the DOCX must
hold it as plain text.
"""

from __future__ import annotations

import datetime
import io
import shutil
import subprocess
import tempfile

import pytest
from django.urls import reverse
from django.utils import timezone
from docx import Document

from grid import events as grid_events
from grid.models import EventCategory
from inspection.models import RoundTarget
from inspection.patrol import findings as patrol_findings
from inspection.rounds import onsite
from rectification import notices
from rectification import services as rectification_services
from rectification.models import RectificationItem, RectificationPlan
from tests.conftest import photo
from tests.inspection.test_reports import make_item
from tests.inspection.test_round_reports import make_group, make_round, make_taxonomy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

SCRIPT = "<script>alert(1)</script>"
PAYLOADS = [SCRIPT, '<img src=x onerror="alert(2)">', "<b>粗体</b>&amp;"]


def payload(field: str) -> str:
    return f"{field}{SCRIPT}"


@pytest.fixture(autouse=True)
def _urls():
    import config.urls  # noqa: F401 — viewflow's Node.reverse() needs the URLconf


def assert_escaped(html: str, *texts: str) -> None:
    """No raw tag of ours in the page, and each text is there, escaped."""
    assert "<script>alert(1)" not in html
    assert "<img src=x onerror" not in html and '<img src="x" onerror' not in html
    assert "<b>粗体</b>" not in html
    for text in texts:
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert escaped in html or escaped.replace('"', "&quot;") in html, text


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("需要 poppler-utils 的 pdftotext")
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(content)
        handle.flush()
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", handle.name, "-"], capture_output=True, check=True)
    return "".join(out.stdout.decode("utf-8").split())  # lines wrap anywhere in a PDF


def docx_text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def _via_job(client, capture, url: str) -> bytes:
    """A document written as a job: the link's job runs, its page offers the file."""
    with capture(execute=True):
        response = client.get(url)
    assert response.status_code == 302
    return b"".join(client.get(response["Location"] + "result/").streaming_content)


def squeeze(text: str) -> str:
    return "".join(text.split())


# ---------------------------------------------------------------- event


def test_event_text_is_escaped_in_its_pages(client, county, personas):
    category = EventCategory.objects.create(code="X01", name="测试", parent=EventCategory.objects.create(code="X", name="测"))
    event, _ = grid_events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title=f"标题{SCRIPT}",
        description="描述" + "".join(PAYLOADS), occurred_at=timezone.now() - datetime.timedelta(hours=1),
        idempotency_key="xss-1", address=f"地址{PAYLOADS[1]}")
    client.force_login(personas["grid_leader"])
    detail = client.get(reverse("grid:event_detail", args=[event.pk])).content.decode()
    assert_escaped(detail, f"标题{SCRIPT}", f"地址{PAYLOADS[1]}", *PAYLOADS)
    listing = client.get(reverse("grid:events")).content.decode()
    assert_escaped(listing, f"标题{SCRIPT}")
    tasks = client.get(reverse("grid:my_tasks")).content.decode()
    assert "<script>alert(1)" not in tasks


# ---------------------------------------------------------------- patrol finding (大巡查发现问题)


def test_patrol_finding_text_is_escaped(client, county, personas):
    item = make_item(county.taiping, county.agriculture)
    finding = patrol_findings.record_finding(
        by=personas["department"], village=county.louxing, item=item, source="township_department",
        discovered_on=timezone.localdate(), location=f"地点{SCRIPT}", description="描述" + "".join(PAYLOADS))
    client.force_login(personas["township_office"])
    detail = client.get(reverse("patrol:finding_detail", args=[finding.pk])).content.decode()
    assert_escaped(detail, f"地点{SCRIPT}", *PAYLOADS)
    assert_escaped(client.get(reverse("patrol:findings")).content.decode())


# ---------------------------------------------------------------- inspection finding → reports (PDF, DOCX)


@pytest.fixture
def inspected(county, personas):
    round_ = make_round(county, personas["county_office"])
    focus = make_taxonomy(round_)
    leader = personas["county_office"]
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=leader)
    sub = next(f for f in focus.values() if f.parent_id)
    finding = onsite.record_finding(
        by=leader, group=group, target=RoundTarget.objects.get(group=group, organisation=county.louxing),
        village=county.louxing, focus=sub, title=payload("问题"), description="具体表现" + "".join(PAYLOADS),
        people_involved=payload("涉及人员"), suggestion=payload("处理建议"), for_secretary_meeting=True,
        files=[photo()])
    return group, finding


def test_inspection_finding_text_is_escaped_in_pages_and_documents(client, personas, inspected, media_in_tmp,
                                                                   django_capture_on_commit_callbacks):
    group, finding = inspected
    client.force_login(personas["county_office"])
    detail = client.get(reverse("inspection:onsite_finding_detail", args=[finding.pk])).content.decode()
    assert_escaped(detail, payload("问题"), payload("涉及人员"), *PAYLOADS)

    for kind in ("situation", "problems", "secretary"):
        url = reverse("inspection:round_report_download", kwargs={"pk": group.pk, "kind": kind, "fmt": "pdf"})
        text = pdf_text(_via_job(client, django_capture_on_commit_callbacks, url))
        assert squeeze(payload("问题")) in text, kind  # printed literally, not run as a script

        url = reverse("inspection:round_report_download", kwargs={"pk": group.pk, "kind": kind, "fmt": "docx"})
        words = squeeze(docx_text(client.get(url).content))
        assert squeeze(payload("问题")) in words, kind
    secretary = docx_text(client.get(reverse("inspection:round_report_download",
                                             kwargs={"pk": group.pk, "kind": "secretary", "fmt": "docx"})).content)
    assert squeeze(payload("涉及人员")) in squeeze(secretary)


# ---------------------------------------------------------------- rectification item → notice (HTML, PDF, DOCX)


def test_rectification_item_text_is_escaped_in_pages_and_the_notice(client, county, personas, media_in_tmp,
                                                                  django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    committee = personas["township_committee"]
    plan = RectificationPlan.objects.create(
        organisation=county.taiping, title=payload("方案"), group_name=payload("巡察组"),
        inspected_from=datetime.date(2024, 4, 8), inspected_to=datetime.date(2024, 5, 31),
        feedback_on=datetime.date(2024, 7, 12), organisation_text=payload("组织情况"), next_plan=payload("下一步"),
        contact=payload("联系方式"), created_by=committee)
    fields = {name: payload(label) for name, label in [
        ("category", "类别"), ("subcategory", "子类"), ("title", "问题"), ("description", "具体表现"),
        ("responsible_leader", "责任领导"), ("responsible_unit", "责任单位"), ("measures", "整改措施"),
        ("result", "整改情况"), ("unfinished_reason", "未完成原因"), ("next_steps", "下一步措施")]}
    item = RectificationItem.objects.create(plan=plan, number=1, status="in_progress",
                                            deadline=datetime.date(2024, 12, 31), new_deadline=datetime.date(2025, 6, 30),
                                            **fields)
    rectification_services.report_progress(item, by=committee, reported_on=timezone.localdate(), text=payload("进展"))
    client.force_login(committee)

    item_page = client.get(reverse("rectification:item_detail", args=[item.pk])).content.decode()
    assert_escaped(item_page, fields["title"], fields["measures"], fields["responsible_leader"], payload("进展"))
    plan_page = client.get(reverse("rectification:plan_detail", args=[plan.pk])).content.decode()
    assert_escaped(plan_page, fields["title"])

    notice = notices.create_draft(plan, by=committee)
    preview = client.get(reverse("rectification:notice_preview", args=[notice.pk])).content.decode()
    assert_escaped(preview, fields["title"], fields["result"], fields["next_steps"], payload("下一步"))

    text = pdf_text(_via_job(client, capture, reverse("rectification:notice_download", kwargs={"pk": notice.pk, "fmt": "pdf"})))
    for value in (fields["title"], fields["unfinished_reason"], payload("下一步")):
        assert squeeze(value) in text, value
    docx = squeeze(docx_text(_via_job(client, capture, reverse("rectification:notice_download",
                                                                kwargs={"pk": notice.pk, "fmt": "docx"}))))
    for value in (fields["title"], fields["result"], payload("下一步")):
        assert squeeze(value) in docx, value

    notices.approve(notice, by=committee)
    notices.publish(notice, by=committee)
    public = client.get(reverse("public_notices:detail", args=[notice.pk])).content.decode()
    assert_escaped(public, fields["title"], fields["result"])
