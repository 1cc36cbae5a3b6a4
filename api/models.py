"""Credentials of the open API: device tokens of users, and API keys of Open311 clients.

Only a SHA-256 of each key is stored; the key itself is shown once, when it is created.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from grid.models import Event, Region


class DeviceToken(models.Model):
    """A token one user created for one device (a field app, a script); revoked, it stops working at once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE,
                             related_name="device_tokens")
    name = models.CharField("设备名称", max_length=50)
    prefix = models.CharField("令牌前缀", max_length=12, help_text="令牌的前几位，用于辨认")
    key_hash = models.CharField("令牌摘要", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "设备令牌"
        verbose_name_plural = "设备令牌"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.user.get_username()}：{self.name}（{self.prefix}…）"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Open311Client(models.Model):
    """A system allowed to post Open311 service requests (e.g. the 12345 hotline platform) in one county.

    Requests it posts are reported as its service account, a user that holds grid.add_event on the
    county through a region grant (and no post, so it sees nothing in the UI).
    """

    name = models.CharField("名称", max_length=100, unique=True)
    jurisdiction = models.ForeignKey(Region, verbose_name="辖区（县）", on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上报账号", on_delete=models.PROTECT,
                                 related_name="+")
    prefix = models.CharField("密钥前缀", max_length=12)
    key_hash = models.CharField("密钥摘要", max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = "Open311 接入方"
        verbose_name_plural = "Open311 接入方"
        ordering = ["name"]

    def __str__(self):
        return self.name


class Open311Request(models.Model):
    """An event that came in through Open311, and which client posted it (it may follow only its own)."""

    client = models.ForeignKey(Open311Client, verbose_name="接入方", on_delete=models.PROTECT, related_name="requests")
    event = models.OneToOneField(Event, verbose_name="网格事件", on_delete=models.CASCADE, related_name="open311")
    device_id = models.CharField("设备标识", max_length=100, blank=True)
    account_id = models.CharField("账号标识", max_length=100, blank=True)
    contact = models.CharField("联系方式", max_length=200, blank=True, help_text="提交人姓名、电话、邮箱（不对外提供）")
    created_at = models.DateTimeField("提交时间", auto_now_add=True)

    class Meta:
        verbose_name = "Open311 请求"
        verbose_name_plural = "Open311 请求"
        ordering = ["-id"]
        indexes = [models.Index(fields=["client", "-id"], name="open311_client_recent_idx")]

    def __str__(self):
        return f"{self.client.name} #{self.event_id}"
