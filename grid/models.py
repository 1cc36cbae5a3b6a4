from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from treebeard.mp_tree import MP_Node

PATH_SEPARATOR = "/"


class Tier(models.Model):
    """A level of the region tree (县, 乡镇, 村, 网格, 微网格). Counties use 3, 4 or 5 of them."""

    key = models.SlugField("标识", max_length=32, unique=True)
    name = models.CharField("名称", max_length=32, unique=True)
    depth = models.PositiveSmallIntegerField("层次", unique=True, help_text="根为 1，逐级加 1")
    households_min = models.PositiveIntegerField("规范户数下限", null=True, blank=True)
    households_max = models.PositiveIntegerField("规范户数上限", null=True, blank=True)

    class Meta:
        verbose_name = "层级"
        verbose_name_plural = "层级"
        ordering = ["depth"]

    def __str__(self):
        return self.name


class Region(MP_Node):
    """One node of the county's region tree: county → township → village → grid → micro-grid."""

    name = models.CharField("名称", max_length=100)
    code = models.CharField("编码", max_length=32, unique=True, null=True, blank=True)
    tier = models.ForeignKey(Tier, verbose_name="层级", on_delete=models.PROTECT, related_name="regions")
    households = models.PositiveIntegerField("户数", null=True, blank=True)
    full_path = models.CharField("完整路径", max_length=500, unique=True, editable=False)


    class Meta:
        verbose_name = "区域"
        verbose_name_plural = "区域"
        indexes = [
            # Subtree filters are `path LIKE 'prefix%'`; PostgreSQL uses an index for that only with
            # pattern ops (or the C collation). Other databases ignore opclasses.
            models.Index(fields=["path"], name="region_path_prefix_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self):
        return self.full_path or self.name

    def clean(self):
        if PATH_SEPARATOR in (self.name or ""):
            raise ValidationError({"name": f"名称中不能含有“{PATH_SEPARATOR}”。"})

    @property
    def household_warning(self) -> str:
        """The grid-size norm of `grid-governance-plans.txt` (300–500 / 100–150 households), as a warning."""
        tier = self.tier
        if self.households is None or (tier.households_min is None and tier.households_max is None):
            return ""
        low, high = tier.households_min, tier.households_max
        if (low is not None and self.households < low) or (high is not None and self.households > high):
            return f"{tier.name}户数 {self.households} 超出规范范围 {low or 0}–{high or '不限'} 户"
        return ""

    def regions_in_subtree(self):
        return Region.objects.filter(path__startswith=self.path)

    def scope_path(self) -> str:
        return self.path


class Department(models.Model):
    """A township office or county department (e.g. 太平镇 农业农村办)."""

    name = models.CharField("名称", max_length=100)
    region = models.ForeignKey(Region, verbose_name="所属区域", on_delete=models.PROTECT, related_name="departments")

    class Meta:
        verbose_name = "部门"
        verbose_name_plural = "部门"
        ordering = ["region__path", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="department_unique_name_in_region")]

    def __str__(self):
        return f"{self.region.name}{self.name}"


class Role(models.Model):
    """A role with a stable key (DESIGN.md §3) and the permissions a post of it grants on its subtree."""

    key = models.SlugField("标识", max_length=32, unique=True)
    name = models.CharField("名称", max_length=50)
    description = models.TextField("职责说明", blank=True)
    permissions = models.ManyToManyField(Permission, verbose_name="权限", blank=True, related_name="grid_roles")

    class Meta:
        verbose_name = "角色"
        verbose_name_plural = "角色"
        ordering = ["id"]

    def __str__(self):
        return self.name


class PostQuerySet(models.QuerySet):
    def active(self, on=None):
        today = on or timezone.localdate()
        return self.filter(Q(start_date__lte=today), Q(end_date__isnull=True) | Q(end_date__gt=today))


class Post(models.Model):
    """A user holding a role at a region (and optionally in a department) for a period.

    `end_date` is the first day the post is no longer held: ending a post today revokes it at once.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="用户", on_delete=models.CASCADE, related_name="posts")
    role = models.ForeignKey(Role, verbose_name="角色", on_delete=models.PROTECT, related_name="posts")
    region = models.ForeignKey(Region, verbose_name="区域", on_delete=models.PROTECT, related_name="posts")
    department = models.ForeignKey(
        Department, verbose_name="部门", null=True, blank=True, on_delete=models.PROTECT, related_name="posts"
    )
    start_date = models.DateField("任职起", default=timezone.localdate)
    end_date = models.DateField("任职止", null=True, blank=True, help_text="自该日起不再任职")
    note = models.CharField("备注", max_length=200, blank=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = "岗位"
        verbose_name_plural = "岗位"
        ordering = ["user__username", "start_date"]
        indexes = [models.Index(fields=["user", "end_date"])]

    def __str__(self):
        return f"{self.user.get_username()}：{self.region}·{self.role.name}"

    @property
    def is_active(self) -> bool:
        today = timezone.localdate()
        return self.start_date <= today and (self.end_date is None or self.end_date > today)

    def clean(self):
        if self.end_date and self.end_date < self.start_date:
            raise ValidationError({"end_date": "任职止日期不能早于任职起日期。"})
        if self.department_id and self.region_id:
            if not self.region.path.startswith(self.department.region.path):
                raise ValidationError({"department": "部门必须属于岗位所在区域或其上级区域。"})
