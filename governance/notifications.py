"""In-app notifications (督办, 待办, 办理结果) and email where configured.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from .models import Notification

logger = logging.getLogger(__name__)

# Backends that deliver nothing real: the embedded run prints mail to the console.
_NON_DELIVERING_BACKENDS = {"django.core.mail.backends.console.EmailBackend", "django.core.mail.backends.dummy.EmailBackend"}


def email_enabled() -> bool:
    return settings.EMAIL_BACKEND not in _NON_DELIVERING_BACKENDS


def notify(recipient, *, kind: str, title: str, body: str = "", url: str = "", dedupe_key: str | None = None) -> Notification | None:
    """Put a notice in the recipient's inbox (a user or a user id) and email it after commit when the
    recipient has an address. None when already sent."""
    recipient_id = getattr(recipient, "pk", recipient)
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient_id=recipient_id, kind=kind, title=title[:200], body=body, url=url[:500], dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if dedupe_key and Notification.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if email_enabled():  # whether the recipient has an address is read when sending
        transaction.on_commit(lambda: _send_email(notification.pk))
    return notification


def _send_email(notification_pk: int) -> None:
    notification = Notification.objects.select_related("recipient").filter(pk=notification_pk, emailed_at__isnull=True).first()
    if notification is None or not notification.recipient.email:
        return
    link = f"\n\n{settings.SITE_URL.rstrip('/')}{notification.url}" if notification.url and settings.SITE_URL else ""
    try:
        send_mail(f"[{notification.get_kind_display()}] {notification.title}", f"{notification.body}{link}",
                  settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
    except Exception:  # mail trouble must not break the business action that already committed
        logger.exception("sending notification %s by email failed", notification_pk)
        return
    Notification.objects.filter(pk=notification_pk).update(emailed_at=timezone.now())


def inbox_for(user):
    return Notification.objects.filter(recipient=user).order_by("-id")


# The unread count is on every page (the menu's badge). It is counted at most once a minute per user
# and kept in the cache; every write of a user's notices drops it at once and again after the commit.
# A count taken inside that window can outlive the commit, hence the short life.
UNREAD_SECONDS = 60
_UNREAD_NAMESPACE = getattr(settings, "ACCESS_CACHE_NAMESPACE", "")
_unread_generation = [0]  # moved by the test suite, so a rolled-back test's counts are not reused
UNREAD_ATTR = "_gv_unread_count"  # set on request.user by whoever already read the cache this request


def unread_key(user_pk) -> str:
    return f"gv:unread:{_UNREAD_NAMESPACE}{_unread_generation[0]}:{user_pk}"


def forget_unread(user_pks: Iterable) -> None:
    keys = [unread_key(pk) for pk in set(user_pks)]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def unread_count(user) -> int:
    count = getattr(user, UNREAD_ATTR, None)
    if count is None:
        count = cache.get(unread_key(user.pk))
    if count is None:
        count = Notification.objects.filter(recipient=user, read_at__isnull=True).count()
        cache.set(unread_key(user.pk), count, UNREAD_SECONDS)
    return count


def _notice_written(sender, instance, **kwargs) -> None:
    forget_unread([instance.recipient_id])


post_save.connect(_notice_written, sender=Notification, dispatch_uid="gv_unread_save", weak=False)
post_delete.connect(_notice_written, sender=Notification, dispatch_uid="gv_unread_delete", weak=False)


def mark_read(user, ids=None) -> int:
    """Mark the user's own notices read (all of them when `ids` is None); returns how many changed."""
    notices = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        notices = notices.filter(pk__in=ids)
    changed = notices.update(read_at=timezone.now())
    forget_unread([user.pk])
    setattr(user, UNREAD_ATTR, None)  # this request's page shows the new count
    return changed
