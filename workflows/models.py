from django.db import models
from viewflow.workflow.models import Process, Task


class EventProcess(Process):
    """The EventFlow process; its artifact is the grid.Event it moves."""

    class Meta:
        proxy = True
        verbose_name = "网格事件流程"
        verbose_name_plural = "网格事件流程"


class SLARule(models.Model):
    """How long a tier may take on an event of an urgency (and optionally a category)."""

    class Clock(models.TextChoices):
        NATURAL = "natural", "自然小时"
        WORKING = "working", "工作日（按节假日日历）"

    tier = models.ForeignKey("grid.Tier", verbose_name="层级", on_delete=models.CASCADE, related_name="sla_rules")
    urgency = models.CharField("紧急程度", max_length=16, choices=[
        ("normal", "一般"), ("urgent", "紧急"), ("critical", "特急"),
    ])
    category = models.ForeignKey(
        "grid.EventCategory", verbose_name="类别（留空为全部）", null=True, blank=True, on_delete=models.CASCADE
    )
    hours = models.PositiveIntegerField("时限（小时）")
    clock = models.CharField("计时方式", max_length=16, choices=Clock.choices, default=Clock.NATURAL)
    auto_escalate = models.BooleanField("超期自动上报上一级", default=False)

    class Meta:
        verbose_name = "时限规则"
        verbose_name_plural = "时限规则"
        ordering = ["tier__depth", "urgency"]
        constraints = [
            models.UniqueConstraint(fields=["tier", "urgency", "category"], name="sla_rule_unique"),
            models.UniqueConstraint(
                fields=["tier", "urgency"], condition=models.Q(category__isnull=True), name="sla_rule_unique_default"
            ),
        ]

    def __str__(self):
        return f"{self.tier.name}·{self.get_urgency_display()}：{self.hours} 小时"


class Holiday(models.Model):
    """The holiday calendar for working-day SLAs: holidays, and weekend days made working days (调休)."""

    class Source(models.TextChoices):
        MANUAL = "manual", "手工录入"
        PACKAGE = "holidays", "节假日数据包"

    date = models.DateField("日期", unique=True)
    name = models.CharField("名称", max_length=50)
    is_working_day = models.BooleanField("调休上班", default=False)
    source = models.CharField(
        "来源", max_length=16, choices=Source.choices, default=Source.MANUAL,
        help_text="fill_holidays 只增改、删除来自数据包的日期；手工录入（或在后台改过）的日期保持不变",
    )

    class Meta:
        verbose_name = "节假日"
        verbose_name_plural = "节假日"
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} {self.name}"


class TaskDeadline(models.Model):
    """The SLA deadline of one waiting flow task, indexed so the overdue scan never reads open rows in Python."""

    task = models.OneToOneField(Task, verbose_name="任务", on_delete=models.CASCADE, related_name="deadline")
    due_at = models.DateTimeField("截止时间")
    is_open = models.BooleanField("未完成", default=True)
    supervised_at = models.DateTimeField("督办时间", null=True, blank=True)
    escalated_at = models.DateTimeField("自动上报时间", null=True, blank=True)

    class Meta:
        verbose_name = "任务时限"
        verbose_name_plural = "任务时限"
        indexes = [
            models.Index(
                fields=["due_at"], name="deadline_open_unsupervised_idx",
                condition=models.Q(is_open=True, supervised_at__isnull=True),
            ),
        ]

    def __str__(self):
        return f"{self.task_id} 截止 {self.due_at:%Y-%m-%d %H:%M}"


class PatrolReportProcess(Process):
    """The PatrolReportFlow process (大巡查上报); its artifact is the inspection.PatrolReport it moves."""

    class Meta:
        proxy = True
        verbose_name = "大巡查上报流程"
        verbose_name_plural = "大巡查上报流程"


class MobileInspectionProcess(Process):
    """The MobileInspectionFlow process (机动巡察); its artifact is the inspection.MobileProposal it moves."""

    class Meta:
        proxy = True
        verbose_name = "机动巡察审批流程"
        verbose_name_plural = "机动巡察审批流程"


class RectificationProcess(Process):
    """The RectificationFlow process (整改); its artifact is the rectification.RectificationItem it moves."""

    class Meta:
        proxy = True
        verbose_name = "巡察整改流程"
        verbose_name_plural = "巡察整改流程"
