"""Creating, checking and revoking API credentials (device tokens, Open311 keys); every change audited."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import audit
from grid.models import Region, Role
from grid.services import create_post

from .models import DeviceToken, Open311Client

TOKEN_PREFIX = "gv_"
KEY_PREFIX = "o311_"
MAX_TOKENS_PER_USER = 20
# Last-used times are written at most this often per token (not on every request).
TOUCH_EVERY_SECONDS = 300


class CredentialError(ValidationError):
    """A user mistake creating a credential; the message is in Chinese."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


# ---------------------------------------------------------------- device tokens


def create_device_token(*, by, name: str) -> tuple[DeviceToken, str]:
    """A new token for the acting user's device; returns (token row, the key — shown once, never stored)."""
    if by is None or not by.is_authenticated or not by.is_active:
        raise PermissionDenied("请先登录。")
    name = (name or "").strip()
    if not name:
        raise CredentialError("请填写设备名称（如“张网格员的手机”）。")
    if len(name) > 50:
        raise CredentialError("设备名称不能超过 50 个字。")
    with transaction.atomic():
        active = DeviceToken.objects.select_for_update().filter(user=by, revoked_at__isnull=True)
        if active.count() >= MAX_TOKENS_PER_USER:
            raise CredentialError(f"每人最多 {MAX_TOKENS_PER_USER} 个有效令牌，请先吊销不用的令牌。")
        key = _new_key(TOKEN_PREFIX)
        token = DeviceToken.objects.create(user=by, name=name, prefix=key[:8], key_hash=digest(key))
        audit.record("api_token.create", actor=by, obj=token, after={"name": name, "prefix": token.prefix},
                     object_repr=f"{by.get_username()}：{name}")
    return token, key


def revoke_device_token(token: DeviceToken, *, by) -> DeviceToken:
    """Revoke one of the acting user's tokens (a superuser may revoke anyone's)."""
    if not (by.is_authenticated and (token.user_id == by.pk or by.is_superuser)):
        raise PermissionDenied("只能吊销自己的令牌。")
    with transaction.atomic():
        token = DeviceToken.objects.select_for_update().get(pk=token.pk)
        if token.revoked_at is not None:
            raise CredentialError("该令牌已吊销。")
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("api_token.revoke", actor=by, obj=token, after={"name": token.name, "prefix": token.prefix},
                     object_repr=f"{token.user.get_username()}：{token.name}")
    return token


def revoke_own_device_tokens(*, by, pks=None) -> int:
    """Revoke the acting user's active tokens (only those of `pks`, if given), e.g. after a password
    change; returns how many were revoked."""
    if by is None or not by.is_authenticated:
        raise PermissionDenied("请先登录。")
    revoked = 0
    with transaction.atomic():
        tokens = DeviceToken.objects.select_for_update().filter(user=by, revoked_at__isnull=True)
        if pks is not None:
            tokens = tokens.filter(pk__in=list(pks))
        for token in tokens.order_by("pk"):
            revoke_device_token(token, by=by)
            revoked += 1
    return revoked


HOLDS_A_TOKEN = "holds_a_device_token"


def holds_a_token(user) -> bool:
    """Whether the user has an active device token (kept with their cached access, see ApiConfig)."""
    return DeviceToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def token_for_key(key: str) -> DeviceToken | None:
    """The active token with this key (its user active), or None; touches last_used_at now and then."""
    if not key or not key.startswith(TOKEN_PREFIX) or len(key) > 100:
        return None
    token = (DeviceToken.objects.select_related("user").filter(key_hash=digest(key), revoked_at__isnull=True).first())
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOUCH_EVERY_SECONDS:
        DeviceToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# ---------------------------------------------------------------- Open311 clients


OPEN311_ROLE = "open311_client"


def open311_role():
    """The role of Open311 service accounts: it may report events, nothing else (created on first use)."""
    role, created = Role.objects.get_or_create(
        key=OPEN311_ROLE, defaults={"name": "Open311 接入方", "description": "外部系统经 Open311 接口上报群众反映的事件；只能上报，不能查看"},
    )
    if created:
        role.permissions.set(Permission.objects.filter(content_type__app_label="grid", codename="add_event"))
    return role


def create_open311_client(*, by, name: str, jurisdiction: Region) -> tuple[Open311Client, str]:
    """A new Open311 client of a county with its own service account; returns (client, key shown once).

    The service account holds a post at the county whose role grants grid.add_event only, so that
    requests go through grid.events.report_event like any report; it has no password, so it cannot
    log in, and no view permission, so it sees nothing.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise CredentialError("请填写接入方名称（不超过 100 个字）。")
    if jurisdiction.tier.key != "county" and not jurisdiction.is_root():
        raise CredentialError("Open311 的辖区须为县。")
    if Open311Client.objects.filter(name=name).exists():
        raise CredentialError(f"接入方“{name}”已存在。")
    with transaction.atomic():
        username = f"open311-{secrets.token_hex(4)}"
        account = get_user_model().objects.create(username=username, first_name=f"Open311：{name}"[:150])
        account.set_unusable_password()
        account.save(update_fields=["password"])
        create_post(user=account, role=open311_role(), region=jurisdiction, note=f"Open311 接入方：{name}")
        key = _new_key(KEY_PREFIX)
        client = Open311Client.objects.create(name=name, jurisdiction=jurisdiction, reporter=account,
                                              prefix=key[:9], key_hash=digest(key))
        audit.record("open311_client.create", actor=by, obj=client,
                     after={"name": name, "jurisdiction": jurisdiction.full_path, "prefix": client.prefix})
    return client, key


def revoke_open311_client(client: Open311Client, *, by) -> Open311Client:
    with transaction.atomic():
        client = Open311Client.objects.select_for_update().get(pk=client.pk)
        if client.revoked_at is None:
            client.revoked_at = timezone.now()
            client.save(update_fields=["revoked_at"])
            audit.record("open311_client.revoke", actor=by, obj=client, after={"name": client.name})
    return client


def client_for_key(key: str) -> Open311Client | None:
    if not key or not key.startswith(KEY_PREFIX) or len(key) > 100:
        return None
    return (Open311Client.objects.select_related("jurisdiction", "reporter")
            .filter(key_hash=digest(key), revoked_at__isnull=True).first())
