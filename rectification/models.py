"""Rectification plans and items (整改), their progress, accountability and the published notices.
Design notes: docs/architecture/rectification.md."""

from django.conf import settings
from django.db import models

from grid.models import Region


class RectificationPlan(models.Model):
    """The rectification plan of one inspected organisation after a round's feedback."""

    organisation = models.ForeignKey(Region, verbose_name="整改党组织", on_delete=models.PROTECT, related_name="rectification_plans")
    round = models.ForeignKey(
        "inspection.InspectionRound", verbose_name="巡察轮次", null=True, blank=True, on_delete=models.PROTECT,
        related_name="rectification_plans",
    )
    group_name = models.CharField("巡察组", max_length=50, blank=True, help_text="如：县委第一巡察组")
    inspected_from = models.DateField("巡察开始日期", null=True, blank=True)
    inspected_to = models.DateField("巡察结束日期", null=True, blank=True)
    feedback_on = models.DateField("反馈日期", null=True, blank=True)
    title = models.CharField("名称", max_length=200)
    first_responsible = models.CharField("第一责任人", max_length=100, blank=True)
    document_title = models.CharField("整改方案文件", max_length=200, blank=True)
    document_number = models.CharField("文号", max_length=60, blank=True, help_text="如：〇〇委〔2024〕9号")
    organisation_text = models.TextField("整改工作组织情况", blank=True, help_text="通报第一部分的补充文字")
    next_plan = models.TextField("下一步工作打算", blank=True)
    contact = models.CharField("意见反馈联系方式", max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    region_path_lookup = "organisation__path"

    class Meta:
        verbose_name = "整改方案"
        verbose_name_plural = "整改方案"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["organisation", "round"], name="rectification_plan_once_per_round")]
        permissions = [
            ("verify_rectificationitem", "验收整改事项（销号）"),
            ("approve_notice", "审定整改进展情况通报"),
        ]

    def __str__(self):
        return self.title

    def get_permission_region(self):
        return self.organisation


class PlanMeeting(models.Model):
    """A meeting held for the rectification (党委会, 专题民主生活会, …)."""

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="meetings")
    held_on = models.DateField("日期")
    kind = models.CharField("会议类型", max_length=50, help_text="如：党委会、专题民主生活会、专题组织生活会")
    topic = models.CharField("议题", max_length=200)

    class Meta:
        verbose_name = "整改会议"
        verbose_name_plural = "整改会议"
        ordering = ["held_on", "id"]

    def __str__(self):
        return f"{self.held_on} {self.kind}"


class PlanMeasure(models.Model):
    """A rule or regulation adopted as an institutional measure (建章立制)."""

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="measures")
    name = models.CharField("制度名称", max_length=200)
    adopted_on = models.DateField("出台日期", null=True, blank=True)

    class Meta:
        verbose_name = "建章立制"
        verbose_name_plural = "建章立制"
        ordering = ["adopted_on", "id"]

    def __str__(self):
        return self.name


class MoneyRecovered(models.Model):
    """Money recovered (挽回经济损失 / 清退), with what it came from."""

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="recoveries")
    amount = models.DecimalField("金额（元）", max_digits=14, decimal_places=2)
    source = models.CharField("事由", max_length=200)

    class Meta:
        verbose_name = "追回资金"
        verbose_name_plural = "追回资金"
        ordering = ["id"]

    def __str__(self):
        return f"{self.amount} 元 {self.source}"


class Accountability(models.Model):
    """A person handled for a problem (问责): level and measure."""

    class Level(models.TextChoices):
        SECTION = "section", "科级干部"
        GENERAL = "general", "一般干部"
        VILLAGE = "village", "村（社区）干部"
        OTHER = "other", "其他人员"

    class Measure(models.TextChoices):
        CASE = "case", "立案审查调查"
        EXAMINATION = "examination", "责令检查"
        ADMONISHMENT = "admonishment", "诫勉谈话"
        REMINDER_TALK = "reminder_talk", "提醒谈话"
        CRITICISM = "criticism", "批评教育"

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="accountabilities")
    item = models.ForeignKey("RectificationItem", verbose_name="整改事项", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="accountabilities")
    person = models.CharField("姓名或职务", max_length=100)
    level = models.CharField("层级", max_length=16, choices=Level.choices)
    measure = models.CharField("处理方式", max_length=16, choices=Measure.choices)
    decided_on = models.DateField("处理日期", null=True, blank=True)

    class Meta:
        verbose_name = "问责处理"
        verbose_name_plural = "问责处理"
        ordering = ["id"]

    def __str__(self):
        return f"{self.person} {self.get_measure_display()}"


class PetitionTransfer(models.Model):
    """A petition (信访件) transferred by the group, and whether it was closed (办结)."""

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="petitions")
    summary = models.CharField("信访事项", max_length=300)
    received_on = models.DateField("转办日期", null=True, blank=True)
    closed_on = models.DateField("办结日期", null=True, blank=True)

    class Meta:
        verbose_name = "转办信访件"
        verbose_name_plural = "转办信访件"
        ordering = ["id"]

    def __str__(self):
        return self.summary


class RectificationItem(models.Model):
    """One problem to rectify, numbered continuously across its plan under the focus categories."""

    class Status(models.TextChoices):
        PENDING = "pending", "未整改"
        IN_PROGRESS = "in_progress", "正在整改中"
        DONE = "done", "已整改"
        FULLY_DONE = "fully_done", "已整改到位"
        ONGOING = "ongoing", "长期坚持"

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="items")
    finding = models.OneToOneField(
        "inspection.InspectionFinding", verbose_name="巡察发现问题", null=True, blank=True, on_delete=models.PROTECT,
        related_name="rectification_item",
    )
    number = models.PositiveIntegerField("序号")
    category = models.CharField("类别", max_length=200, blank=True, help_text="巡察监督重点（如“三个聚焦”之一）")
    subcategory = models.CharField("子类", max_length=200, blank=True)
    title = models.CharField("问题", max_length=300)
    description = models.TextField("具体表现", blank=True)
    responsible_leader = models.CharField("责任领导", max_length=100, blank=True)
    responsible_unit = models.CharField("责任单位", max_length=100, blank=True)
    measures = models.TextField("整改措施", blank=True)
    deadline = models.DateField("整改时限", null=True, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    result = models.TextField("整改情况", blank=True, help_text="通报中“整改情况”的文字")
    unfinished_reason = models.TextField("未完成原因", blank=True)
    next_steps = models.TextField("下一步措施", blank=True)
    new_deadline = models.DateField("新的整改时限", null=True, blank=True)
    is_overdue = models.BooleanField("已逾期", default=False, db_index=True)
    closed_at = models.DateTimeField("销号时间", null=True, blank=True)

    region_path_lookup = "plan__organisation__path"

    class Meta:
        verbose_name = "整改事项"
        verbose_name_plural = "整改事项"
        ordering = ["plan_id", "number"]
        constraints = [models.UniqueConstraint(fields=["plan", "number"], name="rectification_item_unique_number")]

    def __str__(self):
        return f"{self.number}. {self.title}"

    def get_permission_region(self):
        return self.plan.organisation


class ProgressEntry(models.Model):
    """A dated progress report on an item (with evidence through governance.evidence)."""

    item = models.ForeignKey(RectificationItem, verbose_name="整改事项", on_delete=models.CASCADE, related_name="progress")
    reported_on = models.DateField("日期")
    text = models.TextField("进展情况")
    kind = models.CharField("类型", max_length=16, default="progress",
                            choices=[("progress", "进展"), ("claim", "申请销号"), ("verified", "验收通过"), ("returned", "退回")])
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="填报人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("填报时间", auto_now_add=True)

    class Meta:
        verbose_name = "整改进展"
        verbose_name_plural = "整改进展"
        ordering = ["reported_on", "id"]

    def __str__(self):
        return f"{self.reported_on} {self.text[:20]}"

    def get_permission_region(self):
        return self.item.plan.organisation


class ProgressNotice(models.Model):
    """A version of a plan's progress notice: draft → approved → published (frozen)."""

    class State(models.TextChoices):
        DRAFT = "draft", "草稿"
        APPROVED = "approved", "已审定"
        PUBLISHED = "published", "已公开"

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.PROTECT, related_name="notices")
    version = models.PositiveIntegerField("版本")
    state = models.CharField("状态", max_length=16, choices=State.choices, default=State.DRAFT, db_index=True)
    title = models.CharField("标题", max_length=200)
    signed_by = models.CharField("落款", max_length=100, blank=True)
    signed_on = models.DateField("成文日期", null=True, blank=True)
    content = models.JSONField("冻结内容", null=True, blank=True, help_text="公开时冻结的通报数据")
    html = models.TextField("公开 HTML", blank=True)
    pdf = models.FileField("公开 PDF", upload_to="notices/%Y/", blank=True)
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="审定人", null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField("审定时间", null=True, blank=True)
    published_at = models.DateTimeField("公开时间", null=True, blank=True, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="起草人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("起草时间", auto_now_add=True)

    region_path_lookup = "plan__organisation__path"

    class Meta:
        verbose_name = "整改进展情况通报"
        verbose_name_plural = "整改进展情况通报"
        ordering = ["plan_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["plan", "version"], name="progress_notice_unique_version")]

    def __str__(self):
        return f"{self.title}（第{self.version}版）"

    def get_permission_region(self):
        return self.plan.organisation
