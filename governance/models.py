import hashlib
import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("审计日志只允许追加，不能修改。")

    def delete(self):
        raise PermissionError("审计日志只允许追加，不能删除。")


class AuditEntry(models.Model):
    """One append-only row of the audit trail, chained to the previous row by a hash.

    `entry_hash` covers this row's content and `previous_hash`; editing or deleting any row breaks
    the chain from there on, which `manage.py verify_audit` reports.
    """

    created_at = models.DateTimeField("时间", db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", db_constraint=False,
    )
    actor_name = models.CharField("操作人账号", max_length=150, blank=True)
    # On PostgreSQL these indexes have no LIKE-only copies: migration 0005 drops the ones the schema
    # editor adds for indexed text fields (tests/performance/test_indexes.py keeps them out).
    action = models.CharField("操作", max_length=100, db_index=True)
    object_type = models.CharField("对象类型", max_length=100, blank=True, db_index=True)
    object_id = models.CharField("对象编号", max_length=64, blank=True, db_index=True)
    object_repr = models.CharField("对象", max_length=300, blank=True)
    region_path = models.CharField("区域路径", max_length=255, blank=True, help_text="用于按区域限定可见范围")
    before = models.JSONField("变更前", null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField("变更后", null=True, blank=True, encoder=DjangoJSONEncoder)
    request_id = models.CharField("请求编号", max_length=64, blank=True)
    previous_hash = models.CharField("前一条哈希", max_length=64)
    entry_hash = models.CharField("本条哈希", max_length=64, unique=True)

    objects = AuditEntryQuerySet.as_manager()

    region_path_lookup = "region_path"

    class Meta:
        verbose_name = "审计日志"
        verbose_name_plural = "审计日志"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["region_path"], name="audit_region_prefix_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name or '系统'} {self.action} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("审计日志只允许追加，不能修改。")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计日志只允许追加，不能删除。")

    def content_for_hash(self) -> dict:
        return hashed_content(getattr(self, name) for name in HASHED_FIELDS)

    def compute_hash(self) -> str:
        return chain_hash(self.previous_hash, self.content_for_hash())


# What an audit row's hash covers (attribute names), besides the previous row's hash.
HASHED_FIELDS = ("created_at", "actor_id", "actor_name", "action", "object_type", "object_id", "object_repr",
                 "region_path", "before", "after", "request_id")
# json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")) without building an encoder per row.
_canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


def hashed_content(values) -> dict:
    """The content of one audit row as hashed, from the values of HASHED_FIELDS in that order (a model
    instance's attributes, or one row read as a tuple)."""
    content = dict(zip(HASHED_FIELDS, values, strict=True))
    content["created_at"] = content["created_at"].isoformat(timespec="microseconds")
    return content


def chain_hash(previous_hash: str, content: dict) -> str:
    return hashlib.sha256((previous_hash + _canonical_json(content)).encode("utf-8")).hexdigest()


class AuditChainHead(models.Model):
    """The single row that serialises writers of the chain and remembers its last hash.

    Writers update this row first, which takes the write lock on SQLite and a row lock on PostgreSQL,
    so two concurrent writers cannot both chain onto the same previous row. The stored hash also
    reveals rows deleted from the end of the chain.
    """

    writes = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="")

    class Meta:
        verbose_name = "审计链头"
        verbose_name_plural = "审计链头"

    def __str__(self):
        return f"审计链：{self.writes} 条"


class Attachment(models.Model):
    """A piece of evidence (photo, short video, document) attached to any record.

    Written only by `governance.evidence`, which checks the type by content and reads EXIF.
    Files are served by a view that checks access to the owning record, never from a public URL.
    """

    class Kind(models.TextChoices):
        IMAGE = "image", "照片"
        VIDEO = "video", "视频"
        DOCUMENT = "document", "文档"

    owner_type = models.ForeignKey("contenttypes.ContentType", verbose_name="所属对象类型", on_delete=models.CASCADE)
    owner_id = models.PositiveBigIntegerField("所属对象编号")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    file = models.FileField("文件", upload_to="evidence/%Y/%m/")
    thumbnail = models.FileField("缩略图", upload_to="evidence/thumbs/%Y/%m/", blank=True)
    original_name = models.CharField("原文件名", max_length=255)
    mime_type = models.CharField("内容类型", max_length=100)
    size = models.PositiveBigIntegerField("大小（字节）")
    sha256 = models.CharField("SHA-256", max_length=64)
    taken_at = models.DateTimeField("拍摄时间（EXIF）", null=True, blank=True)
    latitude = models.DecimalField("纬度（EXIF）", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度（EXIF）", max_digits=9, decimal_places=6, null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上传人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)

    class Meta:
        verbose_name = "附件"
        verbose_name_plural = "附件"
        ordering = ["id"]
        indexes = [models.Index(fields=["owner_type", "owner_id"])]

    def __str__(self):
        return self.original_name


class Notification(models.Model):
    """One message in a user's in-app inbox (督办, assignments, returns). Email follows where configured."""

    class Kind(models.TextChoices):
        TASK = "task", "待办"
        SUPERVISION = "supervision", "督办"
        RESULT = "result", "办理结果"
        SYSTEM = "system", "系统"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="接收人", on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField("类别", max_length=16, choices=Kind.choices, default=Kind.SYSTEM)
    title = models.CharField("标题", max_length=200)
    body = models.TextField("内容", blank=True)
    url = models.CharField("链接", max_length=500, blank=True)
    dedupe_key = models.CharField(
        "去重键", max_length=200, null=True, blank=True, unique=True,
        help_text="同一件事只通知一次（例如同一任务的同一次督办）",
    )
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)
    read_at = models.DateTimeField("已读时间", null=True, blank=True)
    emailed_at = models.DateTimeField("邮件发送时间", null=True, blank=True)

    class Meta:
        verbose_name = "通知"
        verbose_name_plural = "通知"
        ordering = ["-id"]
        indexes = [models.Index(fields=["recipient", "read_at"])]

    def __str__(self):
        return self.title


class OutboxMessage(models.Model):
    """A Celery message kept in the database until the broker has accepted it (governance/outbox.py).

    Written when a task is queued; marked sent only after Redis took it. A row left pending (the broker
    was down) is sent again by `manage.py flush_outbox` and the `governance.tasks.flush_outbox` beat job.
    """

    task_id = models.CharField("任务编号", max_length=64, unique=True)
    task_name = models.CharField("任务", max_length=200)
    args = models.JSONField("位置参数", default=list, blank=True)
    kwargs = models.JSONField("关键字参数", default=dict, blank=True)
    options = models.JSONField("发送选项", default=dict, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    attempted_at = models.DateTimeField("最近发送时间", null=True, blank=True)
    attempts = models.PositiveIntegerField("发送次数", default=0)
    sent_at = models.DateTimeField("送达队列时间", null=True, blank=True, db_index=True)
    last_error = models.TextField("最近错误", blank=True)

    class Meta:
        verbose_name = "待发任务"
        verbose_name_plural = "待发任务"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_pending_idx"),
        ]

    def __str__(self):
        return f"{self.task_name} [{self.task_id}]"


class MobileNumber(models.Model):
    """A user's mobile phone number, for 待办 and 督办 by SMS (governance/channels.py)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE,
                                related_name="mobile_number")
    number = models.CharField("手机号", max_length=11, validators=[RegexValidator(r"^1\d{10}$", "请输入 11 位手机号。")])
    receives_sms = models.BooleanField("接收短信提醒", default=True)

    class Meta:
        verbose_name = "手机号"
        verbose_name_plural = "手机号"

    def __str__(self):
        return f"{self.user.get_username()}：{mask_phone(self.number)}"


def mask_phone(number: str) -> str:
    """138****5678: how a phone number appears in logs and lists."""
    digits = str(number or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


class ChannelMessage(models.Model):
    """One message to a group robot (企业微信/政务微信) or by SMS, sent by governance/channels.py.

    One row per recipient and occasion (`dedupe_key`): a job run twice, or a Celery message delivered
    twice, sends nothing twice. Failed sends wait `next_attempt_at` and are tried again."""

    class Channel(models.TextChoices):
        ROBOT = "robot", "群机器人"
        SMS = "sms", "短信"

    channel = models.CharField("渠道", max_length=8, choices=Channel.choices)
    target = models.CharField("发送到", max_length=500, help_text="群机器人地址或手机号")
    text = models.TextField("内容")
    dedupe_key = models.CharField("去重键", max_length=200, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    next_attempt_at = models.DateTimeField("下次发送时间", db_index=True)
    attempts = models.PositiveIntegerField("发送次数", default=0)
    sent_at = models.DateTimeField("发送成功时间", null=True, blank=True)
    last_error = models.CharField("最近错误", max_length=500, blank=True)

    class Meta:
        verbose_name = "外部消息"
        verbose_name_plural = "外部消息"
        ordering = ["-id"]
        indexes = [models.Index(fields=["next_attempt_at"], condition=models.Q(sent_at__isnull=True),
                                name="channel_message_pending_idx")]

    def __str__(self):
        return f"{self.get_channel_display()} → {self.shown_target}"

    @property
    def shown_target(self) -> str:
        """The target as lists and logs show it: a phone masked, a robot without its key."""
        if self.channel == self.Channel.SMS:
            return mask_phone(self.target)
        return self.target.split("?", 1)[0]
