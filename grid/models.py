from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Case, IntegerField, OrderBy, Q, Subquery, Value, When
from django.utils import timezone
from treebeard.mp_tree import MP_Node

from . import roles

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
    boundary = models.JSONField(
        "边界", null=True, blank=True,
        help_text="可选：GeoJSON Polygon 或 MultiPolygon（WGS-84，坐标为 [经度, 纬度]），Open311 按位置确定网格",
    )
    # The boundary's bounding box, written with the boundary (grid.boundaries.set_boundary) so that a
    # point lookup filters candidates in SQL before testing any polygon.
    boundary_west = models.FloatField("边界最小经度", null=True, blank=True, editable=False)
    boundary_east = models.FloatField("边界最大经度", null=True, blank=True, editable=False)
    boundary_south = models.FloatField("边界最小纬度", null=True, blank=True, editable=False)
    boundary_north = models.FloatField("边界最大纬度", null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "区域"
        verbose_name_plural = "区域"
        indexes = [
            # Subtree filters are `path LIKE 'prefix%'`; PostgreSQL uses an index for that only with
            # pattern ops (or the C collation). Other databases ignore opclasses.
            models.Index(fields=["path"], name="region_path_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["boundary_west", "boundary_east", "boundary_south", "boundary_north"],
                         name="region_boundary_box_idx"),
        ]

    def __str__(self):
        return self.full_path or self.name

    @property
    def place_name(self) -> str:
        """The path as a place is written in Chinese, without separators: 某县太平镇楼星村第1网格."""
        return (self.full_path or self.name).replace(PATH_SEPARATOR, "")

    def clean(self):
        if PATH_SEPARATOR in (self.name or ""):
            raise ValidationError({"name": f"名称中不能含有“{PATH_SEPARATOR}”。"})

    @property
    def household_warning(self) -> str:
        """The grid-size norm of the grid governance plans (300–500 / 100–150 households), as a warning."""
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


def paths_from_root(path: str) -> list[str]:
    """The materialised paths of the region at `path` and of every region above it, the root's first."""
    step = Region.steplen
    return [path[:end] for end in range(step, len(path) + 1, step)]


def parent_path(path: str) -> str:
    """The materialised path of the region above the region at `path` ("" for the root)."""
    return path[: -Region.steplen]


class Department(models.Model):
    """A township office or county department (e.g. 太平镇 农业农村办)."""

    name = models.CharField("名称", max_length=100)
    region = models.ForeignKey(Region, verbose_name="所属区域", on_delete=models.PROTECT, related_name="departments")
    is_grid_centre = models.BooleanField(
        "网格化服务中心", default=False,
        help_text="县网格化服务中心（镇呼县应时接收乡镇上报并派单给县直部门）；中心不是派单对象",
    )

    class Meta:
        verbose_name = "部门"
        verbose_name_plural = "部门"
        ordering = ["region__path", "name"]
        constraints = [models.UniqueConstraint(fields=["region", "name"], name="department_unique_name_in_region")]

    def __str__(self):
        return f"{self.region.name}{self.name}"


class GroupRobot(models.Model):
    """The 企业微信/政务微信 group robot of a township (or the county) or of a department: 待办 and 督办 of
    the events handled there are posted to its group (grid/message_channels.py)."""

    name = models.CharField("名称", max_length=100, help_text="例如：太平镇网格工作群")
    region = models.ForeignKey(Region, verbose_name="区域", on_delete=models.CASCADE, related_name="group_robots",
                               help_text="该区域及其下级办理的事件发到此群")
    department = models.ForeignKey(Department, verbose_name="部门", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="group_robots", help_text="填写时只发该部门办理的事件")
    webhook_url = models.URLField(
        "机器人地址", max_length=500,
        help_text="群机器人的 Webhook 地址，例如 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
    )
    enabled = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "群机器人"
        verbose_name_plural = "群机器人"
        ordering = ["region__path", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region"], condition=Q(department__isnull=True, enabled=True),
                                    name="group_robot_one_per_region"),
            models.UniqueConstraint(fields=["department"], condition=Q(enabled=True),
                                    name="group_robot_one_per_department"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        if self.department_id and self.region_id and self.department.region_id != self.region_id:
            raise ValidationError({"department": "部门须属于所选区域。"})


class Role(models.Model):
    """A role with a stable key and the permissions a post of it grants on its subtree."""

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


def posted_at_township_or_below() -> Q:
    """A condition on posts: the post's region is a township or a region below one (not the county)."""
    township_depth = Tier.objects.filter(key="township").values("depth")[:1]
    return Q(region__tier__depth__gte=Subquery(township_depth))


class PostQuerySet(models.QuerySet):
    def active(self, on=None):
        today = on or timezone.localdate()
        return self.filter(Q(start_date__lte=today), Q(end_date__isnull=True) | Q(end_date__gt=today))

    def granting(self, *perms: str) -> PostQuerySet:
        """The posts through which their role grants one of `perms` ("app_label.codename") over the
        post's region: the role holds it, and where the role grants it only at a township or below
        (grid.roles.township_posts_only), the post is there. One filter(), so that a later
        values_list("role__permissions__codename") reads the permission that matched. Every query of
        posts by permission goes through here; a user's own grants are read by grid.access.region_grants,
        which applies the same rule."""
        condition = Q()
        for perm in perms:
            app_label, codename = perm.split(".", 1)
            held = Q(role__permissions__content_type__app_label=app_label, role__permissions__codename=codename)
            township_only = sorted(key for key in roles.TOWNSHIP_BIG_PATROL_ROLES if roles.township_posts_only(key, perm))
            if township_only:
                held &= ~Q(role__key__in=township_only) | posted_at_township_or_below()
            condition |= held
        return self.filter(condition)


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


class EventCategory(models.Model):
    """A two-level category tree of grid events (大类 → 小类), editable in the admin."""

    parent = models.ForeignKey(
        "self", verbose_name="上级类别", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    code = models.CharField("编码", max_length=32, unique=True)
    name = models.CharField("名称", max_length=100)
    sort_order = models.PositiveIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)
    is_public = models.BooleanField(
        "对外公开", default=False,
        help_text="公开的类别，其事件的公开信息（类别、状态、时间、所在网格或村、约略位置）可经 Open311 无密钥查询；"
                  "小类与其大类都公开时才公开。矛盾纠纷、安保维稳等敏感类别不要公开",
    )

    class Meta:
        verbose_name = "事件类别"
        verbose_name_plural = "事件类别"
        ordering = ["sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["parent", "name"], name="event_category_unique_name")]

    def __str__(self):
        return f"{self.parent.name}/{self.name}" if self.parent_id else self.name

    def clean(self):
        if self.parent_id and self.parent.parent_id:
            raise ValidationError({"parent": "事件类别只有两级：上级类别必须是大类。"})

    @property
    def is_public_service(self) -> bool:
        """Whether events of this category are listed to the public: it and its 大类 are both public."""
        return self.is_public and (self.parent_id is None or self.parent.is_public)


class CategoryAttribute(models.Model):
    """An extra field a category asks for when an event is reported (GeoReport v2 service attribute)."""

    class DataType(models.TextChoices):
        STRING = "string", "文字（一行）"
        TEXT = "text", "文字（多行）"
        NUMBER = "number", "整数"
        DATETIME = "datetime", "日期时间"
        SINGLE = "singlevaluelist", "单选"
        MULTI = "multivaluelist", "多选"

    category = models.ForeignKey(EventCategory, verbose_name="事件类别", on_delete=models.CASCADE,
                                 related_name="attributes")
    code = models.SlugField("编码", max_length=32, help_text="接口中的属性编码，如 lamp_no")
    name = models.CharField("名称", max_length=50, help_text="表单与事件页显示的名称，如 路灯编号")
    datatype = models.CharField("类型", max_length=16, choices=DataType.choices, default=DataType.STRING)
    required = models.BooleanField("必填", default=False)
    description = models.CharField("填写说明", max_length=200, blank=True)
    choices = models.TextField("选项", blank=True, help_text="单选、多选的选项，每行一个")
    sort_order = models.PositiveIntegerField("排序", default=0)

    class Meta:
        verbose_name = "类别附加字段"
        verbose_name_plural = "类别附加字段"
        ordering = ["sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="category_attribute_unique_code")]

    def __str__(self):
        return f"{self.category}：{self.name}"

    @property
    def options(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self):
        listed = self.datatype in (self.DataType.SINGLE, self.DataType.MULTI)
        if listed and not self.options:
            raise ValidationError({"choices": "单选、多选字段至少要有一个选项。"})
        if not listed and self.options:
            raise ValidationError({"choices": "只有单选、多选字段才有选项。"})


class CategoryRouting(models.Model):
    """Which department of a township leads a category (吹哨报到 dispatch target)."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.CASCADE, related_name="category_routes")
    category = models.ForeignKey(EventCategory, verbose_name="事件类别", on_delete=models.CASCADE, related_name="routes")
    department = models.ForeignKey(Department, verbose_name="牵头部门", on_delete=models.CASCADE, related_name="routes")

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "派单路由"
        verbose_name_plural = "派单路由"
        constraints = [models.UniqueConstraint(fields=["township", "category"], name="category_routing_unique")]

    def __str__(self):
        return f"{self.township.name}：{self.category} → {self.department.name}"

    def get_permission_region(self):
        return self.township


def overdue_q(now: datetime.datetime | None = None, prefix: str = "") -> Q:
    """超期 (overdue), the one rule every page, list, count, export and API answer uses: the event is
    open and its current step's deadline (`step_due_at`, written with the step's TaskDeadline) has
    passed at `now` (default: the clock). No periodic job sets it; the 督办 scan only acts on it."""
    return Q(**{f"{prefix}status__in": Event.OPEN_STATUSES, f"{prefix}step_due_at__lt": now or timezone.now()})


def overdue_first(now: datetime.datetime | None = None) -> OrderBy:
    """An order putting the overdue events (overdue_q at `now`) before the others."""
    return Case(When(overdue_q(now), then=Value(0)), default=Value(1), output_field=IntegerField()).asc()


class EventQuerySet(models.QuerySet):
    def overdue(self, now: datetime.datetime | None = None) -> EventQuerySet:
        return self.filter(overdue_q(now))


class Event(models.Model):
    """A grid event (网格事件) reported by a grid member and moved between tiers by EventFlow."""

    class Urgency(models.TextChoices):
        NORMAL = "normal", "一般"
        URGENT = "urgent", "紧急"
        CRITICAL = "critical", "特急"

    class Source(models.TextChoices):
        PATROL = "patrol", "网格巡查"
        PUBLIC = "public", "群众反映"
        HOTLINE = "12345", "12345"
        ASSIGNED = "assigned", "上级交办"
        OTHER = "other", "其他"

    class Status(models.TextChoices):
        REPORTED = "reported", "已上报"
        HANDLING = "handling", "处置中"
        DISPATCHED = "dispatched", "部门办理中"
        VERIFYING = "verifying", "待核实"
        CLOSED = "closed", "已办结"
        REJECTED = "rejected", "已驳回"
        MERGED = "merged", "已合并"

    OPEN_STATUSES = (Status.REPORTED, Status.HANDLING, Status.DISPATCHED, Status.VERIFYING)

    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上报人", on_delete=models.PROTECT, related_name="reported_events",
        db_index=False,  # event_reporter_status_idx (below) starts with it
    )
    region = models.ForeignKey(
        Region, verbose_name="发生区域", on_delete=models.PROTECT, related_name="events",
        db_index=False,  # event_region_recent_idx (below) starts with it
    )
    handling_region = models.ForeignKey(
        Region, verbose_name="当前处置层级区域", on_delete=models.PROTECT, related_name="handling_events",
        help_text="事件当前在哪一级处置；逐级上报时沿上级区域上移",
        db_index=False,  # event_handling_status_idx (below) starts with it
    )
    department = models.ForeignKey(
        Department, verbose_name="承办部门", null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    category = models.ForeignKey(EventCategory, verbose_name="类别", on_delete=models.PROTECT, related_name="events")
    flow_policy = models.ForeignKey(
        "FlowPolicy", verbose_name="流程策略版本", null=True, blank=True, on_delete=models.PROTECT, related_name="events",
        help_text="上报时生效的流程策略版本，事件按该版本办结；留空为系统默认流程",
    )
    title = models.CharField("标题", max_length=100)
    description = models.TextField("描述")
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField("地址", max_length=200, blank=True)
    attributes = models.JSONField("附加信息", default=dict, blank=True,
                                  help_text="类别附加字段的取值：{编码: 值}")
    occurred_at = models.DateTimeField("发生时间")
    urgency = models.CharField("紧急程度", max_length=16, choices=Urgency.choices, default=Urgency.NORMAL)
    source = models.CharField("来源", max_length=16, choices=Source.choices, default=Source.PATROL)
    idempotency_key = models.CharField("提交标识", max_length=64, help_text="客户端生成；同一上报重复提交只产生一个事件")
    # Indexed by event_status_recent_idx (below), which starts with it (db_index would add two more
    # indexes to every write of an event: a plain one and one for LIKE, which nothing asks of a status).
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.REPORTED)
    duplicate_of = models.ForeignKey(
        "self", verbose_name="重复于", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    result = models.TextField("办理结果", blank=True)
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="处置人", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="最近一次就地处置或部门办结的办理人：另有可核实的人时，他不核实自己的处置",
    )
    rejection_reason = models.TextField("驳回理由", blank=True)
    return_count = models.PositiveIntegerField("核实不满意退回次数", default=0)
    step_due_at = models.DateTimeField(
        "当前环节办理时限", null=True, blank=True, db_index=True,
        help_text="当前待办环节的截止时间（与该环节的任务时限一致）；是否超期由它和当前时间算出（grid.models.overdue_q）",
    )
    rating = models.PositiveSmallIntegerField("满意度", null=True, blank=True, help_text="1–5")
    rating_comment = models.CharField("评价", max_length=200, blank=True)
    created_at = models.DateTimeField("上报时间", default=timezone.now)  # indexed with id below
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)

    objects = EventQuerySet.as_manager()

    # A post in a department holds "view_dispatched_event" for the events its department handles
    # (承办部门), not for its whole region: grid.access.scope and the permission backend read this.
    department_views = {"grid.view_event": ("grid.view_dispatched_event", "department_id")}

    class Meta:
        verbose_name = "网格事件"
        verbose_name_plural = "网格事件"
        ordering = ["-id"]
        permissions = [
            ("triage_event", "网格研判处置事件"),
            ("handle_village_event", "村级处置事件"),
            ("dispatch_event", "乡镇派单或处置事件"),
            ("centre_dispatch_event", "县网格化中心派单或回访事件"),
            ("handle_dispatched_event", "部门办理派单事件"),
            ("view_dispatched_event", "查看本部门承办的事件"),
            ("verify_event", "核实事件办理结果"),
            ("export_event", "导出事件"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reporter", "idempotency_key"], name="event_idempotent_report"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | (Q(latitude__gte=-90) & Q(latitude__lte=90)),
                name="event_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | (Q(longitude__gte=-180) & Q(longitude__lte=180)),
                name="event_longitude_range",
            ),
            models.CheckConstraint(condition=Q(rating__isnull=True) | Q(rating__gte=1, rating__lte=5), name="event_rating_range"),
        ]
        indexes = [
            models.Index(fields=["region", "-id"], name="event_region_recent_idx"),
            models.Index(fields=["status", "-id"], name="event_status_recent_idx"),
            # The lists' default order, newest report first by report time (imported events keep theirs).
            models.Index(fields=["region", "-created_at", "-id"], name="event_region_reported_idx"),
            # The same order over a whole county or township: read newest first, stop after a page
            # (with created_at alone PostgreSQL sorted every event of the county for each page).
            models.Index(fields=["-created_at", "-id"], name="event_reported_idx"),
            # "My tasks": open events at a step, by the region handling them (grid.event_lists.my_tasks).
            models.Index(fields=["handling_region", "status"], name="event_handling_status_idx"),
            # A reporter's events at a step (the reporter verifies their own: my tasks, the home page):
            # by reporter alone, a grid member's few waiting events were picked out of all they reported.
            models.Index(fields=["reporter", "status"], name="event_reporter_status_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def overdue_at(self, now: datetime.datetime) -> bool:
        """overdue_q for one event in memory."""
        return self.is_open and self.step_due_at is not None and self.step_due_at < now

    @property
    def is_overdue(self) -> bool:
        """超期 now (overdue_q); what the pages, the export and the API show."""
        return self.overdue_at(timezone.now())


class EventMonthCount(models.Model):
    """How many events of a month lie under a region, by the child region they lie under, their category
    and their outcome: the dashboards' event figures read these rows instead of the events
    (grid.event_counts keeps them in step with the events and rebuilds them)."""

    # No index of their own: the unique key leads with the root, and areas and categories that have
    # events are never deleted.
    root = models.ForeignKey(Region, verbose_name="区域", on_delete=models.CASCADE, related_name="+", db_index=False)
    area = models.ForeignKey(Region, verbose_name="下级区域", on_delete=models.CASCADE, related_name="+",
                             db_index=False, help_text="事件所在的下一级区域；事件就在本区域时为本区域")
    month = models.DateField("上报月份", help_text="上报时间（本地时间）所在月份的第一天")
    category = models.ForeignKey(EventCategory, verbose_name="类别", on_delete=models.CASCADE, related_name="+",
                                 db_index=False)
    outcome = models.CharField("结果", max_length=8, help_text="open 办理中 / closed 已办结 / ended 驳回或合并")
    events = models.IntegerField("事件数", default=0)

    class Meta:
        verbose_name = "事件月度计数"
        verbose_name_plural = "事件月度计数"
        constraints = [
            models.UniqueConstraint(fields=["root", "month", "area", "category", "outcome"],
                                    name="event_month_count_key"),
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.outcome} {self.events}"


class PatrolLog(models.Model):
    """One patrol of a grid member (巡查记录): when, where, households visited, events found."""

    member = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="网格员", on_delete=models.PROTECT, related_name="patrol_logs")
    region = models.ForeignKey(Region, verbose_name="巡查网格", on_delete=models.PROTECT, related_name="patrol_logs")
    kind = models.CharField(
        "巡查类型", max_length=16, default="daily",
        choices=[("daily", "日常巡查"), ("visit", "入户走访"), ("sweep", "全面排查"), ("joint", "联合检查")],
    )
    date = models.DateField("日期", db_index=True)
    started_at = models.TimeField("开始时间")
    ended_at = models.TimeField("结束时间")
    route = models.TextField("路线或走访点位", blank=True)
    households_visited = models.PositiveIntegerField("走访户数", default=0)
    findings = models.TextField("发现情况", blank=True)
    events = models.ManyToManyField(Event, verbose_name="关联事件", blank=True, related_name="patrol_logs")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "巡查记录"
        verbose_name_plural = "巡查记录"
        ordering = ["-date", "-started_at"]
        indexes = [models.Index(fields=["member", "date"])]

    def __str__(self):
        return f"{self.date} {self.member} {self.get_kind_display()}"

    def clean(self):
        if self.started_at and self.ended_at and self.ended_at <= self.started_at:
            raise ValidationError({"ended_at": "结束时间必须晚于开始时间。"})


class WorkDiary(models.Model):
    """A grid member's daily work diary (工作日志), reviewed by the grid leader."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="网格员", on_delete=models.PROTECT, related_name="work_diaries")
    region = models.ForeignKey(Region, verbose_name="网格", on_delete=models.PROTECT, related_name="work_diaries")
    date = models.DateField("日期")
    content = models.TextField("工作内容")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审核人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    review_comment = models.TextField("审核意见", blank=True)
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "工作日志"
        verbose_name_plural = "工作日志"
        ordering = ["-date"]
        permissions = [("review_workdiary", "审核工作日志")]
        constraints = [models.UniqueConstraint(fields=["author", "date"], name="work_diary_one_per_day")]

    def __str__(self):
        return f"{self.date} {self.author}"


class CadenceRule(models.Model):
    """What a grid member must do how often, from the plans (daily patrol, visits, sweeps on 1st/15th…)."""

    class Period(models.TextChoices):
        DAILY = "daily", "每日"
        WEEKLY = "weekly", "每周"
        MONTHLY = "monthly", "每月"
        SEMIMONTHLY = "semimonthly", "每月1日、15日"
        QUARTERLY = "quarterly", "每季度"

    name = models.CharField("名称", max_length=100)
    patrol_kind = models.CharField("对应巡查类型", max_length=16, choices=PatrolLog._meta.get_field("kind").choices)
    period = models.CharField("周期", max_length=16, choices=Period.choices)
    times = models.PositiveSmallIntegerField("每周期次数", default=1)
    grace_days = models.PositiveSmallIntegerField(
        "宽限天数", default=3,
        help_text="每月1日、15日的排查在当天或其后这么多天内完成即计；限定了“前若干天”的每月、每季度规则在期限后这么多天内完成仍计",
    )
    window_days = models.PositiveSmallIntegerField(
        "限前若干天", default=0,
        help_text="每月、每季度规则：只计周期开始后这么多天内完成的（如“每季度初”填 10）；0 表示整个周期",
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "巡查频次规则"
        verbose_name_plural = "巡查频次规则"
        ordering = ["id"]

    def __str__(self):
        return f"{self.name}（{self.get_period_display()} {self.times} 次）"


class Household(models.Model):
    """One household of a grid's register (户情台账), with the categories the visit rules target.

    《基层治理网格化实施方案》: 网格长每周对生活困难家庭、空巢老人家庭、重点人员、特殊人群等登门走访，每月至少对网格内居民
    走访一遍 (篇6); 每季度走访一遍重点户和困难户，一年至少走访一遍全体住户 (篇4).
    """

    region = models.ForeignKey(Region, verbose_name="所在网格", on_delete=models.PROTECT, related_name="households_register")
    head_name = models.CharField("户主", max_length=50)
    address = models.CharField("住址", max_length=200)
    is_hardship = models.BooleanField("困难户", default=False, help_text="生活困难家庭、空巢老人、残疾家庭、留守儿童等")
    is_key = models.BooleanField("重点户", default=False, help_text="重点人员、特殊人群、流动人口等")
    registered_on = models.DateField("登记日期", default=timezone.localdate, help_text="自该日起计入走访")
    left_on = models.DateField("迁出日期", null=True, blank=True, help_text="自该日起不再计入走访")
    note = models.CharField("备注", max_length=200, blank=True)

    class Meta:
        verbose_name = "住户"
        verbose_name_plural = "住户"
        ordering = ["region__path", "address", "head_name"]
        constraints = [models.UniqueConstraint(fields=["region", "address", "head_name"], name="household_unique_in_grid")]

    def __str__(self):
        return f"{self.head_name}（{self.address}）"

    @property
    def categories(self) -> str:
        return "、".join(label for flag, label in ((self.is_hardship, "困难户"), (self.is_key, "重点户")) if flag)


class HouseholdVisit(models.Model):
    """One door-to-door visit of a household (入户走访): who, when, what was found, photos as attachments."""

    household = models.ForeignKey(Household, verbose_name="住户", on_delete=models.PROTECT, related_name="visits")
    visitor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="走访人", on_delete=models.PROTECT,
                                related_name="household_visits")
    date = models.DateField("走访日期")
    note = models.TextField("走访情况")
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    region_path_lookup = "household__region__path"

    class Meta:
        verbose_name = "入户走访"
        verbose_name_plural = "入户走访"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["visitor", "date"]), models.Index(fields=["household", "date"])]

    def __str__(self):
        return f"{self.date} {self.household}"

    def get_permission_region(self):
        return self.household.region


class VisitCadenceRule(models.Model):
    """How often the holders of a role must visit which households of their regions (走访频次规则).

    A period is met when every target household was visited `times` times by the holder within the
    period's counted days: the whole period, or its first `window_days` days, plus `grace_days`."""

    class Period(models.TextChoices):
        WEEKLY = "weekly", "每周"
        MONTHLY = "monthly", "每月"
        QUARTERLY = "quarterly", "每季度"
        YEARLY = "yearly", "每年"

    class Target(models.TextChoices):
        ALL = "all", "全体住户"
        HARDSHIP = "hardship", "困难户"
        KEY = "key", "重点户"

    name = models.CharField("名称", max_length=100)
    role = models.ForeignKey(Role, verbose_name="岗位角色", on_delete=models.PROTECT, related_name="visit_rules")
    period = models.CharField("周期", max_length=16, choices=Period.choices)
    target = models.CharField("走访对象", max_length=16, choices=Target.choices)
    times = models.PositiveSmallIntegerField("每户每周期次数", default=1)
    window_days = models.PositiveSmallIntegerField("限前若干天", default=0, help_text="只计周期开始后这么多天内的走访；0 表示整个周期")
    grace_days = models.PositiveSmallIntegerField("宽限天数", default=0, help_text="期限后这么多天内完成的走访仍计入该周期")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "走访频次规则"
        verbose_name_plural = "走访频次规则"
        ordering = ["id"]

    def __str__(self):
        return f"{self.name}（{self.get_period_display()}·{self.get_target_display()}）"

    def clean(self):
        if self.times < 1:
            raise ValidationError({"times": "每户每周期次数至少为 1。"})


class DiaryReviewRule(models.Model):
    """Who reviews the work diaries of a region's subtree (工作日志审核). Without a rule the holders of
    grid.review_workdiary review (网格长、网格指导员); the city-community plan has them confirmed by the
    社区党委书记 (六、(六)工作日志制度). The nearest region with a rule decides."""

    region = models.OneToOneField(Region, verbose_name="区域", on_delete=models.CASCADE, related_name="diary_review_rule")
    reviewer_role = models.ForeignKey(Role, verbose_name="审核角色", on_delete=models.PROTECT, related_name="+")

    region_path_lookup = "region__path"

    class Meta:
        verbose_name = "工作日志审核设置"
        verbose_name_plural = "工作日志审核设置"
        ordering = ["region__path"]

    def __str__(self):
        return f"{self.region.name}：{self.reviewer_role.name}审核工作日志"

    def get_permission_region(self):
        return self.region

    def clean(self):
        if self.reviewer_role_id and not self.reviewer_role.permissions.filter(
                content_type__app_label="grid", codename="review_workdiary").exists():
            raise ValidationError({"reviewer_role": "该角色没有“审核工作日志”权限，请先在角色中授予。"})


class StaffAssessmentRule(models.Model):
    """How a region (a township or the county) weighs its grid members' quarterly and yearly assessment
    (网格员考核: 优秀、合格、基本合格、不合格). Members are assessed by the rule of their nearest region
    that has one; without any, the defaults below apply."""

    region = models.OneToOneField(Region, verbose_name="区域", on_delete=models.CASCADE, related_name="staff_assessment_rule")
    cadence_weight = models.PositiveSmallIntegerField("巡查频次完成率权重", default=40)
    events_found_weight = models.PositiveSmallIntegerField("发现上报事件权重", default=20)
    events_closed_weight = models.PositiveSmallIntegerField("事件办结率权重", default=15)
    diary_weight = models.PositiveSmallIntegerField("工作日志权重", default=15)
    verification_weight = models.PositiveSmallIntegerField("核实一次通过率权重", default=10)
    events_per_month = models.PositiveSmallIntegerField("每月应发现上报事件数", default=2)
    excellent_from = models.PositiveSmallIntegerField("优秀分数线", default=90)
    qualified_from = models.PositiveSmallIntegerField("合格分数线", default=75)
    basic_from = models.PositiveSmallIntegerField("基本合格分数线", default=60)

    region_path_lookup = "region__path"

    class Meta:
        verbose_name = "网格员考核规则"
        verbose_name_plural = "网格员考核规则"
        ordering = ["region__path"]

    def __str__(self):
        return f"{self.region.name}网格员考核规则"

    def get_permission_region(self):
        return self.region

    def clean(self):
        weights = (self.cadence_weight + self.events_found_weight + self.events_closed_weight + self.diary_weight
                   + self.verification_weight)
        errors = {}
        if weights != 100:
            errors["cadence_weight"] = f"各项权重之和应为 100，现为 {weights}。"
        if not 100 >= self.excellent_from > self.qualified_from > self.basic_from:
            errors["excellent_from"] = "分数线应满足：100 ≥ 优秀 > 合格 > 基本合格。"
        if errors:
            raise ValidationError(errors)


class FlowPolicy(models.Model):
    """One version of a county's (or a township's own) grid event flow: the handling chain, where
    dispatch is allowed, who verifies, send-back limits; and the two switches of the other flows that
    higher layers read (the township's review of big-patrol reports, the office's verification before
    a rectification item is closed). A version in force is never edited: a case
    keeps the version it was reported under, and a change is a new version with its own date."""

    TIER_ORDER = ("grid", "village", "township", "county")
    TIER_NAMES = {"grid": "网格", "village": "村（社区）", "township": "乡镇（街道）", "county": "县网格化服务中心"}

    class Verifier(models.TextChoices):
        REPORTER_OR_GRID_LEADER = "reporter_or_grid_leader", "上报人或网格长核实"
        REPORTER = "reporter", "上报人核实"
        GRID_LEADER = "grid_leader", "网格长核实"
        CALLBACK = "callback", "县网格化服务中心电话回访"

    region = models.ForeignKey(
        Region, verbose_name="适用区域", on_delete=models.PROTECT, related_name="flow_policies",
        help_text="县（全县适用）或乡镇（覆盖本县策略）",
    )
    version = models.PositiveIntegerField("版本号", editable=False)
    effective_from = models.DateField("生效日期", default=timezone.localdate, help_text="自该日起上报的事件按本版本办理")
    use_grid = models.BooleanField("网格处置", default=True)
    use_village = models.BooleanField("村级处置", default=True)
    use_township = models.BooleanField("乡镇处置", default=True)
    use_county = models.BooleanField("县网格化中心派单（镇呼县应）", default=False)
    dispatch_at_grid = models.BooleanField("网格长可派单给乡镇部门", default=False)
    dispatch_at_village = models.BooleanField("村级可派单给乡镇部门", default=False)
    dispatch_at_township = models.BooleanField("乡镇可派单给乡镇部门（吹哨报到）", default=True)
    dispatch_at_county = models.BooleanField("县网格化中心可派单给县直部门", default=False)
    verifier = models.CharField("核实人", max_length=32, choices=Verifier.choices, default=Verifier.REPORTER_OR_GRID_LEADER)
    returns_before_escalation = models.PositiveSmallIntegerField(
        "核实退回次数上限", null=True, blank=True,
        help_text="核实不满意退回超过该次数后，事件上报上一级处置；留空为不限",
    )
    department_may_send_back = models.BooleanField("部门可退回", default=True)
    send_back_limit = models.PositiveSmallIntegerField("部门退回次数上限", null=True, blank=True, help_text="留空为不限")
    patrol_township_review = models.BooleanField(
        "大巡查上报先经乡镇巡查办审核", default=False,
        help_text="开启后，村（居）上报先由乡镇巡查办（党政办）审核，通过后再由牵头部门核实；关闭时直接由牵头部门核实",
    )
    rectification_office_verifies = models.BooleanField(
        "整改事项须经巡察办验收后销号", default=True,
        help_text="关闭时，党组织申报已整改（附佐证）即予销号，不再经县委巡察办验收",
    )
    note = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    region_path_lookup = "region__path"

    class Meta:
        verbose_name = "流程策略"
        verbose_name_plural = "流程策略"
        ordering = ["region__path", "-effective_from", "-version"]
        constraints = [models.UniqueConstraint(fields=["region", "version"], name="flow_policy_unique_version")]

    def __str__(self):
        return f"{self.region.name if self.region_id else ''}流程策略 第{self.version or '-'}版（{self.effective_from}起）"

    def get_permission_region(self):
        return self.region

    @property
    def chain(self) -> list[str]:
        """The handling tiers in order, from the lowest."""
        return [key for key in self.TIER_ORDER if getattr(self, f"use_{key}")]

    def dispatches_at(self, tier_key: str) -> bool:
        return tier_key in self.chain and bool(getattr(self, f"dispatch_at_{tier_key}", False))

    def is_in_force(self) -> bool:
        return self.effective_from <= timezone.localdate()


class FlowPolicyDeadline(models.Model):
    """A policy's deadline for a tier and urgency, and what a timeout does."""

    class Action(models.TextChoices):
        SUPERVISE = "supervise", "仅督办"
        ESCALATE = "escalate", "督办并自动上报上一级"
        ESCALATE_NOTIFY = "escalate_notify", "督办、自动上报并通知上级领导"

    policy = models.ForeignKey(FlowPolicy, verbose_name="流程策略", on_delete=models.CASCADE, related_name="deadlines")
    tier = models.CharField("层级", max_length=16, choices=[(key, FlowPolicy.TIER_NAMES[key]) for key in FlowPolicy.TIER_ORDER])
    urgency = models.CharField("紧急程度", max_length=16, choices=Event.Urgency.choices)
    hours = models.PositiveIntegerField("时限（小时）")
    working_hours = models.BooleanField("按工作日计时", default=False, help_text="跳过周末和节假日")
    action = models.CharField("超期处理", max_length=16, choices=Action.choices, default=Action.SUPERVISE)

    class Meta:
        verbose_name = "流程策略时限"
        verbose_name_plural = "流程策略时限"
        ordering = ["policy", "tier", "urgency"]
        constraints = [models.UniqueConstraint(fields=["policy", "tier", "urgency"], name="flow_policy_deadline_unique")]

    def __str__(self):
        return f"{self.get_tier_display()}·{self.get_urgency_display()}：{self.hours} 小时，{self.get_action_display()}"
