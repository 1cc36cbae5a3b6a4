"""The inbox: one notice per dedupe key, unread counts and marking read touch only one's own notices."""

import pytest
from django.core import mail
from django.db import transaction
from django.urls import reverse

from governance.models import Notification
from governance.notifications import mark_read, notify, unread_count


@pytest.fixture
def two_users(personas):
    return personas["grid_member"], personas["grid_leader"]


def test_same_dedupe_key_notifies_once(two_users):
    member, _ = two_users
    assert notify(member, kind="supervision", title="督办", dedupe_key="supervision:1") is not None
    assert notify(member, kind="supervision", title="督办", dedupe_key="supervision:1") is None
    assert Notification.objects.filter(recipient=member).count() == 1


def test_unread_count_and_mark_read_touch_only_own_notices(two_users):
    member, leader = two_users
    for number in range(3):
        notify(member, kind="task", title=f"待办{number}")
    notify(leader, kind="task", title="别人的")
    assert unread_count(member) == 3
    first = Notification.objects.filter(recipient=member).first()
    assert mark_read(member, ids=[first.pk, Notification.objects.get(recipient=leader).pk]) == 1
    assert unread_count(member) == 2 and unread_count(leader) == 1
    assert mark_read(member) == 2 and unread_count(member) == 0 and unread_count(leader) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_email_is_sent_after_commit_and_only_when_configured(settings, county, personas):
    member = personas["grid_member"]
    member.email = "member@example.com"
    member.save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    notify(member, kind="task", title="不发邮件")
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with transaction.atomic():
        notify(member, kind="supervision", title="请办理")
        assert len(mail.outbox) == 0  # nothing leaves before the change is committed
    assert len(mail.outbox) == 1 and "请办理" in mail.outbox[0].subject
    assert Notification.objects.get(title="请办理").emailed_at is not None
    assert Notification.objects.get(title="不发邮件").emailed_at is None


def test_inbox_page_lists_and_marks_read(client, two_users):
    member, leader = two_users
    notify(member, kind="supervision", title="督办：事件超期", url="/grid/events/1/")
    notify(leader, kind="task", title="别人的消息")
    client.force_login(member)
    page = client.get(reverse("inbox")).content.decode()
    assert "督办：事件超期" in page and "别人的消息" not in page
    assert 'class="gv-badge">1<' in client.get("/").content.decode()
    client.post(reverse("inbox"))
    assert unread_count(member) == 0 and unread_count(leader) == 1
