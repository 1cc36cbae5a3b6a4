"""Long work run as a Celery task: imports, batches of documents, large exports.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from .kinds import label_of, running_label_of


def _result_path(job: Job, filename: str) -> str:
    # A random directory per run: result files are never guessable, even where MEDIA_ROOT is exposed.
    return f"jobs/results/{job.created_at:%Y/%m}/{uuid.uuid4().hex}/{filename}"


def _upload_path(job: Job, filename: str) -> str:
    return f"jobs/uploads/{uuid.uuid4().hex}/{filename}"


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "进行中"
        SUCCEEDED = "succeeded", "已完成"
        FAILED = "failed", "失败"
        PARTLY_FAILED = "partly_failed", "部分失败"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.PARTLY_FAILED)

    # A key an app registered (jobs.kinds); its Chinese label comes from the registry, not from choices here.
    kind = models.CharField("类型", max_length=32)
    title = models.CharField("名称", max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="发起人", on_delete=models.CASCADE,
                              related_name="jobs")
    region = models.ForeignKey("grid.Region", verbose_name="所涉区域", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    params = models.JSONField("参数", default=dict, blank=True)
    input_file = models.FileField("上传文件", upload_to=_upload_path, blank=True, max_length=300)
    input_name = models.CharField("上传文件名", max_length=255, blank=True)

    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField("当前步骤", max_length=100, blank=True)
    done = models.PositiveIntegerField("已处理", default=0)
    total = models.PositiveIntegerField("总数", default=0)
    errors = models.JSONField("出错的行或文件", default=list, blank=True,
                              help_text="每项：row（行号）或 item（文件名）与 message（中文原因）")
    summary = models.TextField("结果摘要", blank=True)

    result_file = models.FileField("结果文件", upload_to=_result_path, blank=True, max_length=300)
    result_name = models.CharField("结果文件名", max_length=255, blank=True)
    result_url = models.CharField("结果页面", max_length=300, blank=True, help_text="导入后的记录页面等")

    run_token = models.CharField("运行标识", max_length=32, blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField("运行次数", default=0)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    heartbeat_at = models.DateTimeField("最近进度时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "后台任务"
        verbose_name_plural = "后台任务"
        ordering = ["-id"]
        indexes = [models.Index(fields=["owner", "-id"])]

    def __str__(self):
        return f"{self.title}（#{self.pk}）"

    def get_kind_display(self) -> str:
        return label_of(self.kind)

    @property
    def status_label(self) -> str:
        """排队中 / 进行中 (生成中 for a document) / 已完成 / 失败 / 部分失败."""
        if self.status == self.Status.RUNNING:
            return running_label_of(self.kind) or self.get_status_display()
        return self.get_status_display()

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(100, int(self.done * 100 / self.total))

    def get_permission_region(self):
        return self.region


def owned_jobs(user) -> models.QuerySet[Job]:
    """A job is its owner's only: its pages (jobs/views.py) and its audit entries (the rule JobsConfig.ready
    registers) show it to nobody else, superusers and the auditors of its region included."""
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(owner=user)
