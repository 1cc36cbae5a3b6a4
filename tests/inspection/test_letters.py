"""Inspection letters: numbered official documents from the data, tracked until answered,
flagged overdue by Celery beat, rendered as PDF and DOCX."""

from __future__ import annotations

import datetime
import io
import subprocess
import zipfile

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from governance.celery import app
from governance.models import AuditEntry, Notification
from grid import services
from grid.models import Tier
from inspection.models import InspectionFinding, InspectionLetter
from inspection.rounds import letters, onsite
from inspection.tasks import flag_overdue_letters
from tests.inspection.test_onsite import build_round

pytestmark = pytest.mark.usefixtures("media_in_tmp")


@pytest.fixture
def r(county, personas):
    return build_round(county, personas)


def today():
    return timezone.localdate()


def issue(r, **changes):
    fields = dict(by=r.users["county_office"], round=r.round, kind=InspectionLetter.Kind.REMINDER,
                  recipient=r.zhaocun.organisation, subject="", reply_due=today() + datetime.timedelta(days=10))
    fields.update(changes)
    return letters.issue_letter(**fields)


def messages_of(excinfo) -> str:
    return "；".join(excinfo.value.messages)


# ------------------------------------------------------------------ issuing


def test_reminder_letter_is_numbered_and_written_from_the_findings(r):
    onsite.record_finding(by=r.users["inspection_group"], group=r.group1, target=r.zhaocun, focus=r.sub_focus,
                          title="村级活动场所闲置", description="镇村两级活动场所长期闲置，未发挥作用")
    letter = issue(r)
    year = today().year
    assert letter.number == f"某巡察提醒函〔{year}〕1号"
    assert letter.body.startswith("赵村镇党委：")
    assert "村级活动场所闲置" in letter.body and "县委第一巡察组" in letter.body
    due = letter.reply_due
    assert f"于{due.year}年{due.month}月{due.day}日前" in letter.body and "书面报告" in letter.body
    assert letter.subject and letter.issued_on == today() and not letter.is_overdue
    assert AuditEntry.objects.filter(action="inspection_letter.issue", object_id=str(letter.pk)).exists()


def test_numbers_run_per_kind_and_year_across_the_countys_rounds(r, county):
    first = issue(r)
    second = issue(r, recipient=county.henan)  # a village target
    supervision = issue(r, kind=InspectionLetter.Kind.SUPERVISION, reply_due=None)
    year = today().year
    assert (first.number, second.number) == (f"某巡察提醒函〔{year}〕1号", f"某巡察提醒函〔{year}〕2号")
    assert supervision.number == f"某巡察督办函〔{year}〕1号"
    other = letters.issue_letter(by=r.users["county_office"], round=r.other_round, kind="reminder",
                                 recipient=county.zhaocun, reply_due=today() + datetime.timedelta(days=3))
    assert other.number == f"某巡察提醒函〔{year}〕3号"  # a 文号 names the office and year: never twice


def test_number_skips_hand_typed_numbers_and_keeps_counting(r):
    issue(r)
    InspectionLetter.objects.update(number=f"某巡察提醒函〔{today().year}〕7号")
    assert issue(r).number == f"某巡察提醒函〔{today().year}〕8号"


def test_letter_to_an_organisation_not_in_the_round_is_refused(r, county):
    xinji = services.create_region(parent=county.county, name="辛集乡", tier=Tier.objects.get(key="township"))
    with pytest.raises(letters.LetterError) as excinfo:
        issue(r, recipient=xinji)
    assert "辛集乡不是十五届县委第二轮巡察的巡察对象" in messages_of(excinfo)
    with pytest.raises(letters.LetterError):
        issue(r, recipient=county.county)
    assert not InspectionLetter.objects.exists()


def test_a_village_under_a_target_township_may_receive_a_letter(r, county):
    letter = issue(r, recipient=county.dalou)  # 太平镇 is a target; 大楼村 lies under it
    assert letter.body.startswith("大楼村党支部：")


def test_recommendation_goes_to_a_county_department(r, county):
    civil = services.create_department(name="县民政局", region=county.county)
    letter = issue(r, kind=InspectionLetter.Kind.RECOMMENDATION, recipient=None, recipient_department=civil, reply_due=None)
    assert letter.number == f"某巡察建议书〔{today().year}〕1号" and letter.body.startswith("县民政局：")
    with pytest.raises(letters.LetterError) as excinfo:
        issue(r, kind=InspectionLetter.Kind.RECOMMENDATION, recipient=None, recipient_department=county.agriculture)
    assert "县直有关部门" in messages_of(excinfo)
    with pytest.raises(letters.LetterError):
        issue(r, kind=InspectionLetter.Kind.RECOMMENDATION, recipient_department=civil)  # also a township: refused
    with pytest.raises(letters.LetterError) as excinfo:
        issue(r, recipient_department=civil)
    assert "不能选择收文部门" in messages_of(excinfo)


def test_reminder_needs_a_future_reply_date(r):
    with pytest.raises(letters.LetterError) as excinfo:
        issue(r, reply_due=None)
    assert "巡察提醒函须设定书面报告期限" in messages_of(excinfo)
    with pytest.raises(letters.LetterError) as excinfo:
        issue(r, reply_due=today())
    assert "书面回复期限须晚于发文日期" in messages_of(excinfo)


@pytest.mark.parametrize("name", ["inspection_group", "leader1", "leading_group", "discipline", "township_committee"])
def test_only_the_office_issues_letters(r, name):
    with pytest.raises(PermissionDenied):
        issue(r, by=r.users[name])


def test_body_given_is_kept(r):
    letter = issue(r, body="赵村镇党委：\n请于期限内书面报告。", subject="关于集体经济问题的提醒")
    assert letter.body == "赵村镇党委：\n请于期限内书面报告。" and letter.subject == "关于集体经济问题的提醒"


# ------------------------------------------------------------------ replies and overdue


def test_overdue_is_flagged_once_and_cleared_on_reply(r):
    letter = issue(r, reply_due=today() + datetime.timedelta(days=1))
    assert letters.flag_overdue_letters(today=today()) == {"flagged": 0, "cleared": 0, "notified": 0}
    later = today() + datetime.timedelta(days=5)
    result = letters.flag_overdue_letters(today=later)
    assert result["flagged"] == 1 and result["notified"] == 1
    letter.refresh_from_db()
    assert letter.is_overdue
    notice = Notification.objects.get(recipient=r.users["county_office"])
    assert letter.number in notice.title and "逾期 4 天" in notice.body
    assert letters.flag_overdue_letters(today=later) == {"flagged": 0, "cleared": 0, "notified": 0}
    assert Notification.objects.count() == 1

    letters.record_reply(letter, by=r.users["county_office"], replied_on=today(), summary="已书面报告整改情况。")
    letter.refresh_from_db()
    assert not letter.is_overdue and letter.replied_on == today()
    assert letters.flag_overdue_letters(today=later)["flagged"] == 0
    InspectionLetter.objects.filter(pk=letter.pk).update(is_overdue=True)  # e.g. a flag set by hand
    assert letters.flag_overdue_letters(today=later)["cleared"] == 1
    letter.refresh_from_db()
    assert not letter.is_overdue


def test_reply_is_checked(r):
    letter = issue(r)
    with pytest.raises(PermissionDenied):
        letters.record_reply(letter, by=r.users["township_committee"], replied_on=today(), summary="x")
    with pytest.raises(letters.LetterError) as excinfo:
        letters.record_reply(letter, by=r.users["county_office"], replied_on=today() - datetime.timedelta(days=1),
                             summary="")
    text = messages_of(excinfo)
    assert "回复日期不能早于发文日期" in text and "请填写回复情况" in text
    letters.record_reply(letter, by=r.users["county_office"], replied_on=today(), summary="已回复")
    letter.refresh_from_db()
    with pytest.raises(letters.LetterError) as excinfo:
        letters.record_reply(letter, by=r.users["county_office"], replied_on=today(), summary="又回复")
    assert "已于" in messages_of(excinfo)


def test_celery_task_and_beat_line(r):

    letter = issue(r)
    InspectionLetter.objects.filter(pk=letter.pk).update(reply_due=today() - datetime.timedelta(days=1))
    result = flag_overdue_letters.delay().get()
    assert result["flagged"] == 1
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "inspection.tasks.flag_overdue_letters" in schedule


# ------------------------------------------------------------------ documents


def test_pdf_shows_the_number_and_the_recipient(r):
    letter = issue(r)
    pdf = letters.render_pdf(letter)
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    compact = "".join(text.split())
    assert letter.number in compact and "赵村镇党委" in compact and "巡察提醒函" in compact
    assert "中共某县委巡察工作领导小组办公室" in compact


def test_docx_holds_the_number_and_body(r):
    letter = issue(r)
    with zipfile.ZipFile(io.BytesIO(letters.render_docx(letter))) as archive:
        xml = archive.read("word/document.xml").decode()
    assert letter.number in xml and "赵村镇党委" in xml


# ------------------------------------------------------------------ pages


def test_office_issues_a_letter_through_the_page_and_downloads_it(r, client):
    client.force_login(r.users["county_office"])
    assert client.get(reverse("inspection:letter_new")).status_code == 200
    response = client.post(reverse("inspection:letter_new"), {
        "round": r.round.pk, "kind": "reminder", "recipient": r.zhaocun.organisation.pk,
        "reply_due": (today() + datetime.timedelta(days=7)).isoformat()})
    letter = InspectionLetter.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("inspection:letter_detail", args=[letter.pk])
    assert letter.number in client.get(response["Location"]).content.decode()
    pdf = client.get(reverse("inspection:letter_download", args=[letter.pk, "pdf"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    docx = client.get(reverse("inspection:letter_download", args=[letter.pk, "docx"]))
    assert docx.status_code == 200 and docx.content.startswith(b"PK")


def test_letter_page_refuses_a_recipient_outside_the_round_with_422(r, client, county):
    xinji = services.create_region(parent=county.county, name="辛集乡", tier=Tier.objects.get(key="township"))
    client.force_login(r.users["county_office"])
    response = client.post(reverse("inspection:letter_new"), {
        "round": r.round.pk, "kind": "reminder", "recipient": xinji.pk, "subject": "保留的事由",
        "reply_due": (today() + datetime.timedelta(days=7)).isoformat()})
    body = response.content.decode()
    assert response.status_code == 422 and "辛集乡不是十五届县委第二轮巡察的巡察对象" in body and "保留的事由" in body
    assert not InspectionLetter.objects.exists()


def test_list_highlights_overdue_and_reply_page_clears_it(r, client):
    letter = issue(r)
    InspectionLetter.objects.filter(pk=letter.pk).update(reply_due=today() - datetime.timedelta(days=2))
    client.force_login(r.users["county_office"])  # the daily job has not run: 逾期未回复 is computed
    body = client.get(reverse("inspection:letters")).content.decode()
    assert "gv-row--overdue" in body and "逾期未回复" in body
    assert letter.number in client.get(reverse("inspection:letters"), {"reply": "overdue"}).content.decode()
    assert "逾期未回复 2 天" in client.get(reverse("inspection:letter_detail", args=[letter.pk])).content.decode()
    letters.flag_overdue_letters()
    response = client.post(reverse("inspection:letter_reply", args=[letter.pk]), {"replied_on": "", "summary": "保留"})
    assert response.status_code == 422 and "保留" in response.content.decode()
    response = client.post(reverse("inspection:letter_reply", args=[letter.pk]),
                           {"replied_on": today().isoformat(), "summary": "已书面报告"})
    assert response.status_code == 302
    letter.refresh_from_db()
    assert letter.replied_on == today() and not letter.is_overdue


def test_letter_pages_by_role(r, client, county):
    to_zhaocun = issue(r)
    to_louxing = issue(r, recipient=county.louxing)
    client.force_login(r.users["inspection_group"])  # a member of the round: reads, may not issue or reply
    assert client.get(reverse("inspection:letter_new")).status_code == 403
    assert client.get(reverse("inspection:letter_detail", args=[to_zhaocun.pk])).status_code == 200
    assert client.post(reverse("inspection:letter_reply", args=[to_zhaocun.pk]),
                       {"replied_on": today().isoformat(), "summary": "x"}).status_code == 403
    client.force_login(r.users["township_committee"])  # 太平镇: only letters addressed to it or its villages
    body = client.get(reverse("inspection:letters")).content.decode()
    assert to_louxing.number in body and to_zhaocun.number not in body
    assert client.get(reverse("inspection:letter_detail", args=[to_zhaocun.pk])).status_code == 404
    assert client.get(reverse("inspection:letter_download", args=[to_zhaocun.pk, "pdf"])).status_code == 404
    client.force_login(r.other_member)  # another round's member
    assert client.get(reverse("inspection:letter_detail", args=[to_zhaocun.pk])).status_code == 404
    client.force_login(r.users["leading_group"])
    assert client.get(reverse("inspection:letter_detail", args=[to_zhaocun.pk])).status_code == 200


def test_reminder_names_the_problems_of_that_target_only(r, county):
    onsite.record_finding(by=r.users["member2"], group=r.group2, target=r.taiping, focus=r.focus,
                          title="太平镇的问题", description="不应出现在赵村镇的提醒函中")
    assert InspectionFinding.objects.count() == 1
    assert "太平镇的问题" not in issue(r).body
