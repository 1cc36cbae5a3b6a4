"""Optional two-factor authentication (TOTP) for county and township posts."""

from __future__ import annotations

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from governance.models import AuditEntry

pytestmark = pytest.mark.django_db

PASSWORD = "Test@2026pw"


def code_for(device: TOTPDevice, *, step_offset: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift + step_offset):06d}"


def login(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


def enrol(client, user) -> TOTPDevice:
    client.force_login(user)
    page = client.get("/accounts/two-factor/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post("/accounts/two-factor/", {"action": "enrol", "token": code_for(device)})
    assert response.status_code == 200 and "恢复码只显示这一次" in response.content.decode()
    device.refresh_from_db()
    return device


def test_a_township_post_enrols_with_a_qr_code_and_the_code_from_it(client, personas):
    user = personas["township_committee"]
    client.force_login(user)
    page = client.get("/accounts/two-factor/")
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html and "启用两步验证" in html
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post("/accounts/two-factor/", {"action": "enrol", "token": "000000" if code_for(device) != "000000" else "111111"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    assert client.post("/accounts/two-factor/", {"action": "enrol", "token": code_for(device)}).status_code == 200
    assert TOTPDevice.objects.filter(user=user, confirmed=True).count() == 1
    entry = AuditEntry.objects.filter(action="two_factor.enrol").get()
    assert entry.actor == user and device.key not in str(entry.after)
    # The session that enrolled keeps working.
    assert client.get("/inbox/").status_code == 200


@pytest.mark.parametrize("role", ["county_office", "township_office", "discipline"])
def test_county_and_township_posts_may_enrol(client, personas, role):
    client.force_login(personas[role])
    assert "<svg" in client.get("/accounts/two-factor/").content.decode()


@pytest.mark.parametrize("role", ["grid_member", "village_cadre", "outsider"])
def test_grid_and_village_posts_are_not_offered_two_factor(client, personas, role):
    client.force_login(personas[role])
    page = client.get("/accounts/two-factor/")
    assert "<svg" not in page.content.decode() and "县、乡镇岗位" in page.content.decode()
    response = client.post("/accounts/two-factor/", {"action": "enrol", "token": "123456"})
    assert response.status_code in (403, 422)
    assert not TOTPDevice.objects.filter(user=personas[role], confirmed=True).exists()


def test_after_enrolling_the_login_asks_for_the_code(client, personas):
    user = personas["county_office"]
    device = enrol(client, user)
    client.logout()

    login(client, user)
    # The password alone opens nothing: every page leads to the code page.
    for path in ("/", "/inbox/", "/grid/events/", "/rectification/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/verify/"), path

    page = client.get("/accounts/two-factor/verify/?next=/inbox/")
    assert page.status_code == 200 and "验证码" in page.content.decode()
    bad = client.post("/accounts/two-factor/verify/", {"token": "12345", "next": "/inbox/"})
    assert bad.status_code == 422 and "验证码不正确" in bad.content.decode()
    assert client.get("/inbox/").status_code == 302
    # Right after a wrong code even the right one waits (django-otp's growing delay).
    hasty = client.post("/accounts/two-factor/verify/", {"token": code_for(device), "next": "/inbox/"})
    assert hasty.status_code == 422 and "错误次数过多" in hasty.content.decode()

    device.refresh_from_db()
    device.throttle_reset()  # as if the delay had passed
    # (The enrolment used this time step's code; a code is never accepted twice: take the next one.)
    good = client.post("/accounts/two-factor/verify/", {"token": code_for(device, step_offset=1), "next": "/inbox/"})
    assert good.status_code == 302 and good["Location"] == "/inbox/"
    assert client.get("/inbox/").status_code == 200


def test_the_code_page_does_not_redirect_to_other_sites(client, personas):
    user = personas["county_office"]
    device = enrol(client, user)
    client.logout()
    login(client, user)
    response = client.post("/accounts/two-factor/verify/",
                           {"token": code_for(device, step_offset=1), "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_user_without_a_device_logs_in_with_the_password_only(client, personas):
    login(client, personas["county_office"])
    assert client.get("/inbox/").status_code == 200


def test_turning_off_needs_a_valid_code_and_is_audited(client, personas):
    user = personas["township_office"]
    device = enrol(client, user)
    refused = client.post("/accounts/two-factor/", {"action": "disable", "token": "not-a-code"})
    assert refused.status_code == 422
    assert TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    # A code not yet used (the next time step: a used code is not accepted twice).
    response = client.post("/accounts/two-factor/", {"action": "disable", "token": code_for(device, step_offset=1)})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(action="two_factor.disable", actor=user).exists()
    client.logout()
    login(client, user)
    assert client.get("/inbox/").status_code == 200


def test_an_older_session_is_asked_for_the_code_once_the_no_device_note_runs_out(client, personas):
    """Pages do not look for a device on every request; an enrolment made elsewhere applies within minutes."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from config.two_factor import TwoFactorMiddleware

    user = personas["township_committee"]
    old_session = Client()
    login(old_session, user)
    assert old_session.get("/inbox/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        assert old_session.get("/inbox/").status_code == 200
    assert not [q for q in captured.captured_queries if "otp_totp_totpdevice" in q["sql"]]

    enrol(client, user)  # in another browser
    assert old_session.get("/inbox/").status_code == 200  # within the note's minutes
    session = old_session.session
    session[TwoFactorMiddleware.SESSION_KEY] = 0  # the note ran out
    session.save()
    response = old_session.get("/inbox/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/two-factor/verify/")
