"""/api/v1/ end to end, as a field app drives it with a device token: report, follow, handle; and scoping."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import DeviceToken
from governance.models import Attachment, AuditEntry
from grid.models import Event
from tests.api.conftest import api_as
from tests.conftest import photo

pytestmark = pytest.mark.django_db


def report_payload(county, category, **changes):
    data = {
        "region": county.grid1.pk, "category": category.pk, "title": "河道垃圾", "description": "河道内堆放生活垃圾",
        "occurred_at": (timezone.now() - datetime.timedelta(hours=2)).isoformat(), "urgency": "urgent",
        "source": "patrol", "latitude": "30.123456", "longitude": "120.123456", "address": "楼星村河边",
        "idempotency_key": "app-key-1",
    }
    data.update(changes)
    return data


# ---------------------------------------------------------------- authentication


def test_requests_without_credentials_are_refused_in_chinese(county, people):
    response = APIClient().get(reverse("api:events"))
    assert response.status_code in (401, 403)
    assert "认证" in response.json()["detail"] or "身份" in response.json()["detail"]


def test_revoked_or_unknown_token_is_401(county, people):
    client = api_as(people["grid_member"])
    assert client.get(reverse("api:me")).status_code == 200
    token = DeviceToken.objects.get(user=people["grid_member"])
    token.revoked_at = timezone.now()
    token.save()
    response = client.get(reverse("api:me"))
    assert response.status_code == 401 and response.json()["detail"] == "令牌无效或已吊销。"
    bogus = APIClient()
    bogus.credentials(HTTP_AUTHORIZATION="Token gv_not-a-real-token")
    assert bogus.get(reverse("api:me")).status_code == 401


def test_me_lists_posts_and_permissions(county, people):
    data = api_as(people["grid_leader"]).get(reverse("api:me")).json()
    assert data["username"] == "grid_leader"
    assert data["posts"][0]["role"] == "grid_leader" and data["posts"][0]["region"]["id"] == county.grid1.pk
    assert "grid.triage_event" in data["permissions"]


def test_session_authentication_works_for_the_browser(client, county, people, event):
    client.force_login(people["grid_leader"])
    response = client.get(reverse("api:event_detail", args=[event.pk]), HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["id"] == event.pk


# ---------------------------------------------------------------- events


def test_grid_member_reports_with_photo_and_a_retry_creates_nothing_new(county, people, category):
    client = api_as(people["grid_member"])
    payload = report_payload(county, category, files=[photo()])
    first = client.post(reverse("api:events"), payload, format="multipart")
    assert first.status_code == 201, first.content
    body = first.json()
    event = Event.objects.get(pk=body["id"])
    assert event.reporter == people["grid_member"] and event.region == county.grid1 and event.urgency == "urgent"
    assert body["status"] == "handling" and body["handling_region"]["id"] == county.grid1.pk
    assert len(body["attachments"]) == 1 and body["attachments"][0]["kind"] == "image"
    assert body["history"][0]["action"] == "event.report" and body["history"][0]["label"] == "上报事件"
    assert AuditEntry.objects.filter(action="event.report", object_id=str(event.pk)).count() == 1

    retry = client.post(reverse("api:events"), report_payload(county, category, files=[photo()]), format="multipart")
    assert retry.status_code == 200 and retry.json()["id"] == event.pk
    assert Event.objects.count() == 1 and Attachment.objects.count() == 1


def test_report_idempotency_key_may_come_as_a_header(county, people, category):
    client = api_as(people["grid_member"])
    payload = report_payload(county, category)
    payload.pop("idempotency_key")
    first = client.post(reverse("api:events"), payload, format="json", HTTP_IDEMPOTENCY_KEY="hdr-1")
    again = client.post(reverse("api:events"), payload, format="json", HTTP_IDEMPOTENCY_KEY="hdr-1")
    assert first.status_code == 201 and again.status_code == 200 and Event.objects.count() == 1


def test_bad_report_says_why_in_chinese_and_saves_nothing(county, people, category):
    client = api_as(people["grid_member"])
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = client.post(reverse("api:events"), report_payload(county, category, occurred_at=future),
                           format="json")
    assert response.status_code == 400
    assert "发生时间不能晚于当前时间。" in response.json()["errors"] and Event.objects.count() == 0
    disguised = client.post(reverse("api:events"), report_payload(
        county, category, idempotency_key="k2",
        files=[__import__("django.core.files.uploadedfile", fromlist=["x"]).SimpleUploadedFile("a.jpg", b"MZ\x90\x00")]),
        format="multipart")
    assert disguised.status_code == 400 and Event.objects.count() == 0


def test_cannot_report_in_a_region_without_a_post(county, people, category):
    response = api_as(people["grid_member"]).post(reverse("api:events"), report_payload(county, category, region=county.henan.pk),
                                                  format="json")
    assert response.status_code == 400 and response.json()["errors"] == ["发生区域：请选择您有岗位的区域。"]


def test_event_list_uses_the_ui_filters_and_scope(county, people, category, event):
    other, _ = __import__("grid.events", fromlist=["x"]).report_event(
        by=people["grid_member"], region=county.grid1, category=category, title="占道经营", description="摊贩占道",
        occurred_at=timezone.now(), idempotency_key="k-other", source="public")
    client = api_as(people["township_office"])
    ids = [row["id"] for row in client.get(reverse("api:events")).json()["results"]]
    assert ids == [other.pk, event.pk]  # newest first
    assert [r["id"] for r in client.get(reverse("api:events"), {"source": "public"}).json()["results"]] == [other.pk]
    assert [r["id"] for r in client.get(reverse("api:events"), {"q": "违建"}).json()["results"]] == [event.pk]
    assert client.get(reverse("api:events"), {"status": "closed"}).json()["results"] == []
    paged = client.get(reverse("api:events"), {"page_size": 1}).json()
    assert len(paged["results"]) == 1 and paged["next"] and paged["previous"] is None
    assert client.get(reverse("api:events"), {"page": 99}).json()["results"] == []
    bad = client.get(reverse("api:events"), {"date_from": "2026-02-30", "region": "abc", "source": "public"})
    assert bad.status_code == 400  # not the unfiltered list
    errors = bad.json()["errors"]
    assert "上报日期起（date_from）：输入一个有效的日期。" in errors and "区域（region）：输入整数。" in errors
    assert bad.json()["detail"] == "；".join(errors)  # the messages as text, not a list's Python repr


def test_detail_shows_the_steps_the_user_may_take_now(county, people, event):
    leader = api_as(people["grid_leader"]).get(reverse("api:event_detail", args=[event.pk])).json()
    assert leader["actions"] == {"step": "handle", "decisions": ["escalate", "merge", "reject", "resolve"], "may_rate": False}
    member = api_as(people["grid_member"]).get(reverse("api:event_detail", args=[event.pk])).json()
    assert member["actions"]["decisions"] == []
    assert member["attachments"][0]["url"].endswith(f"/api/v1/events/{event.pk}/attachments/{member['attachments'][0]['id']}/")


def test_event_goes_up_to_the_township_and_is_closed_through_the_api(county, people, event):
    leader, cadre, office = api_as(people["grid_leader"]), api_as(people["village_cadre"]), api_as(people["township_office"])
    member = api_as(people["grid_member"])
    assert [row["id"] for row in leader.get(reverse("api:tasks")).json()["results"]] == [event.pk]
    assert leader.get(reverse("api:tasks")).json()["results"][0]["handling_tier"] == "grid"

    up = leader.post(reverse("api:event_handle", args=[event.pk]), {"decision": "escalate", "reason": "需村里协调"}, format="json")
    assert up.status_code == 200 and up.json()["handling_tier"] == "village"
    assert leader.get(reverse("api:tasks")).json()["results"] == []
    up = cadre.post(reverse("api:event_handle", args=[event.pk]), {"decision": "escalate", "reason": "需镇里协调"}, format="json")
    assert up.json()["handling_tier"] == "township"

    missing = office.post(reverse("api:event_handle", args=[event.pk]), {"decision": "resolve", "result": "已拆除"}, format="json")
    assert missing.status_code == 400 and "就地处置结案须上传至少一份处置佐证（照片或文档）。" in missing.json()["errors"]
    done = office.post(reverse("api:event_handle", args=[event.pk]),
                       {"decision": "resolve", "result": "已拆除", "files": [photo("after.jpg")]}, format="multipart")
    assert done.status_code == 200 and done.json()["status"] == "verifying"

    verified = member.post(reverse("api:event_verify", args=[event.pk]), {"decision": "satisfied"}, format="json")
    assert verified.status_code == 200 and verified.json()["status"] == "closed"
    assert verified.json()["actions"]["may_rate"] is True
    rated = member.post(reverse("api:event_rate", args=[event.pk]), {"rating": 5, "comment": "及时"}, format="json")
    assert rated.status_code == 200 and rated.json()["rating"] == 5
    again = member.post(reverse("api:event_rate", args=[event.pk]), {"rating": 4}, format="json")
    assert again.status_code == 400 and again.json()["detail"] == "该事件已评价。"
    actions = [row["action"] for row in member.get(reverse("api:event_detail", args=[event.pk])).json()["history"]]
    assert actions == ["event.report", "event.escalate", "event.escalate", "event.resolve", "event.verify.satisfied",
                       "event.rate"]


def test_a_step_of_someone_else_is_403_and_changes_nothing(county, people, event):
    member = api_as(people["grid_member"])
    response = member.post(reverse("api:event_handle", args=[event.pk]), {"decision": "reject", "reason": "x"}, format="json")
    assert response.status_code == 403 and "不能办理此环节" in response.json()["detail"]
    event.refresh_from_db()
    assert event.status == "handling"
    bad = api_as(people["grid_leader"]).post(reverse("api:event_handle", args=[event.pk]), {"decision": "dispatch"}, format="json")
    assert bad.status_code == 400 and "不能“派单至部门”" in bad.json()["detail"]


def test_attachment_download_is_scoped(county, people, event):
    attachment = Attachment.objects.get()
    url = reverse("api:event_attachment", args=[event.pk, attachment.pk])
    response = api_as(people["grid_leader"]).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert api_as(people["zhaocun_office"]).get(url).status_code == 404
    assert api_as(people["grid_leader"]).get(reverse("api:event_attachment", args=[event.pk, attachment.pk + 99])).status_code == 404


# ---------------------------------------------------------------- regions, categories


def test_regions_are_the_subtree_of_the_users_posts(county, people):
    client = api_as(people["village_cadre"])
    names = [row["name"] for row in client.get(reverse("api:regions")).json()["results"]]
    assert names == ["楼星村", "第1网格", "第1微网格", "第2网格"]
    grids = client.get(reverse("api:regions"), {"tier": "grid"}).json()["results"]
    assert [row["name"] for row in grids] == ["第1网格", "第2网格"] and grids[0]["parent"] == county.louxing.pk
    children = client.get(reverse("api:regions"), {"parent": county.grid1.pk}).json()["results"]
    assert [row["name"] for row in children] == ["第1微网格"]
    assert client.get(reverse("api:region_detail", args=[county.taiping.pk])).status_code == 404
    member = api_as(people["grid_member"])
    reportable = member.get(reverse("api:regions"), {"reportable": "true"}).json()["results"]
    assert [row["name"] for row in reportable] == ["第1网格", "第1微网格"]
    assert client.get(reverse("api:region_detail", args=[county.grid2.pk])).json()["boundary"] is None


def test_categories_list_subcategories_with_their_parent(county, people, category):
    rows = api_as(people["grid_member"]).get(reverse("api:categories")).json()
    row = next(r for r in rows if r["id"] == category.pk)
    assert row["parent_name"] == "测试大类" and row["code"] == "T01"


# ---------------------------------------------------------------- big patrol


def test_patrol_reports_list_and_detail(county, people, patrol_report):
    client = api_as(people["department"])
    rows = client.get(reverse("api:patrol_reports")).json()["results"]
    assert [r["number"] for r in rows] == [patrol_report.number] and rows[0]["verdict"] == "pending"
    assert client.get(reverse("api:patrol_reports"), {"verdict": "true"}).json()["results"] == []
    assert [r["number"] for r in client.get(reverse("api:patrol_reports"), {"q": "住宅 未审批"}).json()["results"]] == [
        patrol_report.number]
    assert client.get(reverse("api:patrol_reports"), {"q": "住宅 违建"}).json()["results"] == []
    detail = client.get(reverse("api:patrol_report_detail", args=[patrol_report.pk])).json()
    assert detail["description"] == "新建住宅未审批" and len(detail["attachments"]) == 1
    assert detail["history"][0]["label"] == "村（居）上报"
    file_url = reverse("api:patrol_report_attachment", args=[patrol_report.pk, detail["attachments"][0]["id"]])
    assert client.get(file_url).status_code == 200
    assert api_as(people["henan_cadre"]).get(file_url).status_code == 404


def test_patrol_scores_live_for_the_township_and_refused_elsewhere(county, people, patrol_report):
    month = timezone.localdate().strftime("%Y-%m")
    response = api_as(people["township_office"]).get(reverse("api:patrol_scores"), {"township": county.taiping.pk, "month": month})
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["kind"] == "month" and data["published"] is False
    assert {row["village"] for row in data["rows"]} == {"楼星村", "大楼村"} and data["rows"][0]["score"] == "60.00"
    quarter = api_as(people["township_office"]).get(reverse("api:patrol_scores"),
                                                    {"township": county.taiping.pk, "quarter": "2026Q1"}).json()
    assert quarter["kind"] == "quarter" and quarter["rows"][0]["grade"]
    # A village cadre sees only published circulars; another township's office not even the township.
    unpublished = api_as(people["village_cadre"]).get(reverse("api:patrol_scores"), {"township": county.taiping.pk, "month": month})
    assert unpublished.status_code == 404
    assert api_as(people["zhaocun_office"]).get(reverse("api:patrol_scores"),
                                                {"township": county.taiping.pk, "month": month}).status_code == 404
    bad = api_as(people["township_office"]).get(reverse("api:patrol_scores"), {"township": county.taiping.pk, "month": "3月"})
    assert bad.status_code == 400 and "月份格式" in bad.json()["detail"]


# ---------------------------------------------------------------- rectification


def test_committee_reports_progress_and_claims_done_with_evidence(county, people, plan, django_capture_on_commit_callbacks):
    from rectification import services as rect_services

    item = plan.items.get()
    rect_services.update_item(item, by=people["township_committee"], responsible_leader="张书记", responsible_unit="党政办",
                              measures="逐户排查", deadline=timezone.localdate() + datetime.timedelta(days=30))
    committee = api_as(people["township_committee"])
    plans = committee.get(reverse("api:plans")).json()["results"]
    assert [p["id"] for p in plans] == [plan.pk] and plans[0]["item_count"] == 1
    detail = committee.get(reverse("api:item_detail", args=[item.pk])).json()
    assert detail["actions"] == {"step": "progress", "may_report_progress": True}

    progress = committee.post(reverse("api:item_progress", args=[item.pk]),
                              {"reported_on": timezone.localdate().isoformat(), "text": "已排查 120 户", "files": [photo()]},
                              format="multipart")
    assert progress.status_code == 201, progress.content
    entry = progress.json()["progress"][-1]
    assert entry["text"] == "已排查 120 户" and len(entry["attachments"]) == 1
    assert committee.get(entry["attachments"][0]["url"]).status_code == 200

    no_files = committee.post(reverse("api:item_claim", args=[item.pk]), {"text": "已完成"}, format="multipart")
    assert no_files.status_code == 400
    claimed = committee.post(reverse("api:item_claim", args=[item.pk]), {"text": "已完成", "files": [photo()]},
                             format="multipart")
    assert claimed.status_code == 201 and claimed.json()["status"] == "done"
    assert claimed.json()["actions"] == {"step": "verify", "may_report_progress": False}

    office = api_as(people["county_office"])
    refused = office.post(reverse("api:item_progress", args=[item.pk]),
                          {"reported_on": timezone.localdate().isoformat(), "text": "x"}, format="json")
    assert refused.status_code == 403


# ---------------------------------------------------------------- public notices


def test_published_notices_are_public_and_drafts_never_appear(county, people, plan, published_notice):
    from rectification.models import ProgressNotice

    draft = ProgressNotice.objects.create(plan=plan, version=2, title="草稿", created_by=people["township_committee"])
    anonymous = APIClient()
    rows = anonymous.get(reverse("api:notices")).json()["results"]
    assert [r["id"] for r in rows] == [published_notice.pk]
    assert rows[0]["html_url"].endswith(f"/public/notices/{published_notice.pk}/")
    assert anonymous.get(reverse("api:notice_detail", args=[published_notice.pk])).json()["content"] == {"title": "公开通报"}
    assert anonymous.get(reverse("api:notice_detail", args=[draft.pk])).status_code == 404


# ---------------------------------------------------------------- rate limits


def test_writes_beyond_the_rate_get_a_clear_429(settings, county, people, category):
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "write_user": "2/min", "write_ip": "100/min"}
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = rates
    try:
        client = api_as(people["grid_member"])
        for number in range(2):
            assert client.post(reverse("api:events"), report_payload(county, category, idempotency_key=f"r{number}"),
                               format="json").status_code == 201
        limited = client.post(reverse("api:events"), report_payload(county, category, idempotency_key="r3"), format="json")
        assert limited.status_code == 429
        assert limited.json()["detail"].startswith("请求过于频繁，请在") and int(limited["Retry-After"]) > 0
        assert client.get(reverse("api:events")).status_code == 200  # reads are not limited
        # Another token of another user has its own budget; the address budget is shared.
        assert api_as(people["grid_leader"]).post(reverse("api:events"), {}, format="json").status_code == 400
        SimpleRateThrottle.THROTTLE_RATES = {**rates, "write_user": "100/min", "write_ip": "1/min"}
        assert api_as(people["grid_leader"]).post(reverse("api:events"), {}, format="json").status_code == 429
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original
    assert api_settings is not None
