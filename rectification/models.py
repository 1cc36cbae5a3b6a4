"""Rectification plans and items (整改). A round's feedback hands its findings over as items."""

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
    title = models.CharField("名称", max_length=200)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    region_path_lookup = "organisation__path"

    class Meta:
        verbose_name = "整改方案"
        verbose_name_plural = "整改方案"
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["organisation", "round"], name="rectification_plan_once_per_round")]

    def __str__(self):
        return self.title

    def get_permission_region(self):
        return self.organisation


class RectificationItem(models.Model):
    """One problem to rectify; from an inspection finding when handed over at feedback."""

    class Status(models.TextChoices):
        PENDING = "pending", "待整改"
        IN_PROGRESS = "in_progress", "正在整改中"
        DONE = "done", "已整改"

    plan = models.ForeignKey(RectificationPlan, verbose_name="整改方案", on_delete=models.CASCADE, related_name="items")
    finding = models.OneToOneField(
        "inspection.InspectionFinding", verbose_name="巡察发现问题", null=True, blank=True, on_delete=models.PROTECT,
        related_name="rectification_item",
    )
    number = models.PositiveIntegerField("序号")
    title = models.CharField("问题", max_length=300)
    description = models.TextField("具体表现", blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)

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
