"""Models of the township big patrol (大巡查): catalog, village ledgers and reports, findings, checks, confirmations, circulars."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from grid.models import Department, Region


class PatrolCategory(models.Model):
    """A category of the township big-patrol catalog and the department that leads it.

    Source: the township big patrol plan, 四、职责分工 (each office's 巡查监管 duties).
    """

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="patrol_categories")
    name = models.CharField("类别", max_length=100)
    lead_department = models.ForeignKey(
        Department, verbose_name="牵头部门", on_delete=models.PROTECT, related_name="led_patrol_categories"
    )

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡查目录类别"
        verbose_name_plural = "巡查目录类别"
        ordering = ["township_id", "lead_department_id", "id"]
        constraints = [models.UniqueConstraint(fields=["township", "name"], name="patrol_category_unique_in_township")]

    def __str__(self):
        return self.name

    def get_permission_region(self):
        return self.township


class SupervisionGroup(models.Model):
    """A township supervision group (巡查督查组) and the villages it checks each month."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="supervision_groups")
    number = models.PositiveSmallIntegerField("组号")
    name = models.CharField("名称", max_length=50)
    scope_description = models.TextField("巡查督查范围", blank=True)
    villages = models.ManyToManyField(Region, verbose_name="负责村（居）", related_name="supervising_groups", blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="组员", related_name="supervision_groups", blank=True,
        help_text="以本组名义督查、录入发现问题的人员（须有巡查督查组岗位）",
    )

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡查督查组"
        verbose_name_plural = "巡查督查组"
        ordering = ["township_id", "number"]
        constraints = [models.UniqueConstraint(fields=["township", "number"], name="supervision_group_unique_number")]

    def __str__(self):
        return self.name

    def get_permission_region(self):
        return self.township


# ------------------------------------------------------------------ township big patrol (大巡查)
# The township big patrol plan, 五、奖惩细则: villages report catalog issues to the lead department, which
# verifies and registers them (附件4) and awards the item's points; issues others find first cost
# the village the item's points times the finder's multiplier; a central finding vetoes the month.


class CatalogItem(models.Model):
    """One item of a township's patrol catalog (巡查目录, the plan's 附件2)."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="catalog_items")
    code = models.CharField("编号", max_length=32)
    name = models.CharField("事项", max_length=200)
    category = models.ForeignKey(PatrolCategory, verbose_name="类别", on_delete=models.PROTECT, related_name="items")
    lead_department = models.ForeignKey(
        Department, verbose_name="牵头部门", on_delete=models.PROTECT, related_name="catalog_items"
    )
    points = models.DecimalField("分值", max_digits=6, decimal_places=2)
    evidence_required = models.TextField("佐证要求", blank=True)
    is_active = models.BooleanField("启用", default=True)

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡查目录事项"
        verbose_name_plural = "巡查目录事项"
        ordering = ["township_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["township", "code"], name="catalog_item_unique_code"),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="catalog_item_points_positive"),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def get_permission_region(self):
        return self.township


class VillagePatrol(models.Model):
    """One patrol of a village's patrol team, a row of its ledger (村级巡查工作台账, the plan's 附件3)."""

    village = models.ForeignKey(Region, verbose_name="村（居）", on_delete=models.PROTECT, related_name="village_patrols")
    date = models.DateField("巡查日期", db_index=True)
    patrollers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name="巡查人员", related_name="village_patrols",
        help_text="村（居）巡查人员不少于2名",
    )
    items = models.ManyToManyField(CatalogItem, verbose_name="巡查事项", blank=True, related_name="village_patrols")
    route = models.TextField("巡查路线或地点", blank=True)
    findings = models.TextField("巡查情况", blank=True, help_text="未发现问题时填写“未发现问题”")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    region_path_lookup = "village__path"

    class Meta:
        verbose_name = "村级巡查台账"
        verbose_name_plural = "村级巡查台账"
        ordering = ["-date", "-id"]

    def __str__(self):
        return f"{self.date} {self.village.name}巡查"

    def get_permission_region(self):
        return self.village


class PatrolReport(models.Model):
    """A village's report of a catalog issue to the lead department (上报), verified and registered there."""

    class Verdict(models.TextChoices):
        PENDING = "pending", "待核实"
        TRUE = "true", "属实"
        FALSE = "false", "不属实"
        DUPLICATE = "duplicate", "重复"

    class FollowUp(models.TextChoices):
        NONE = "", "无"
        ENFORCEMENT = "enforcement", "执法处置"
        RECTIFICATION = "rectification", "责令整改"

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="+")
    village = models.ForeignKey(Region, verbose_name="村（居）", on_delete=models.PROTECT, related_name="patrol_reports")
    number = models.CharField("编号", max_length=32)
    item = models.ForeignKey(CatalogItem, verbose_name="目录事项", on_delete=models.PROTECT, related_name="reports")
    patrol = models.ForeignKey(
        VillagePatrol, verbose_name="巡查台账记录", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    occurred_at = models.DateTimeField("发生时间")
    location = models.CharField("地点", max_length=200)
    description = models.TextField("问题描述")
    reported_on = models.DateField("上报日期", db_index=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="上报人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="导入的历史上报可以为空",
    )
    idempotency_key = models.CharField(
        "提交标识", max_length=64, blank=True, help_text="客户端生成；同一上报重复提交只产生一条上报",
    )
    verdict = models.CharField("核实结果", max_length=16, choices=Verdict.choices, default=Verdict.PENDING, db_index=True)
    verified_on = models.DateField("核实日期", null=True, blank=True, db_index=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="核实人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification_note = models.TextField("核实情况", blank=True)
    duplicate_of = models.ForeignKey(
        "self", verbose_name="重复于", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates"
    )
    points = models.DecimalField(
        "加分", max_digits=6, decimal_places=2, default=0,
        help_text="核实属实时按目录分值记入；之后修改目录分值不影响已核实的上报",
    )
    registration_number = models.CharField("登记备案号", max_length=32, blank=True)
    registered_at = models.DateTimeField("登记备案时间", null=True, blank=True)
    follow_up = models.CharField("后续处置", max_length=16, choices=FollowUp.choices, blank=True, default="")
    follow_up_note = models.TextField("后续处置情况", blank=True)
    is_fraud = models.BooleanField("弄虚作假", default=False, help_text="纪检监察认定后，其加分冲销")
    fraud_note = models.TextField("弄虚作假认定情况", blank=True)
    fraud_flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="认定人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fraud_flagged_at = models.DateTimeField("认定时间", null=True, blank=True)
    flow_policy = models.ForeignKey(
        "grid.FlowPolicy", verbose_name="流程策略版本", null=True, blank=True, on_delete=models.PROTECT,
        related_name="patrol_reports", help_text="上报时生效的流程策略版本（是否经乡镇审核），上报按该版本办结；留空为默认流程",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="乡镇审核人", null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    reviewed_at = models.DateTimeField("乡镇审核时间", null=True, blank=True)
    review_passed = models.BooleanField("乡镇审核通过", null=True, blank=True)
    review_note = models.TextField("乡镇审核意见", blank=True)
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    region_path_lookup = "village__path"

    class Meta:
        verbose_name = "村级巡查上报"
        verbose_name_plural = "村级巡查上报"
        ordering = ["-reported_on", "-id"]
        permissions = [
            ("verify_patrolreport", "核实登记村级上报（牵头部门）"),
            ("review_patrolreport", "审核村级上报（乡镇巡查办）"),
            ("flag_patrol_fraud", "认定弄虚作假（纪检监察）"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["township", "number"], name="patrol_report_unique_number"),
            models.UniqueConstraint(
                fields=["reporter", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                name="patrol_report_idempotent_submit",
            ),
            models.CheckConstraint(
                condition=models.Q(verdict="pending") | models.Q(verified_on__isnull=False),
                name="patrol_report_verified_has_date",
            ),
        ]
        indexes = [
            models.Index(fields=["township", "verified_on"], name="patrol_report_scoring_idx"),
            models.Index(fields=["village", "item", "reported_on"], name="patrol_report_match_idx"),
        ]

    def __str__(self):
        return f"{self.number} {self.village.name} {self.item.name}"

    def get_permission_region(self):
        return self.village

    @property
    def is_tipped_off(self) -> bool:
        """Filed after a finding of the same village and item that was not yet released to the village
        (read from the `tipped_off` annotation of scoring.with_tip_off where present)."""
        if "tipped_off" in self.__dict__:
            return bool(self.__dict__["tipped_off"])
        if self.pk is None or self.created_at is None:
            return False
        return tip_off_findings(village=self.village_id, item=self.item_id, reported_on=self.reported_on,
                                filed_at=self.created_at).exists()

    @property
    def earns_points(self) -> bool:
        return self.verdict == self.Verdict.TRUE and not self.is_fraud and not self.is_tipped_off

    @property
    def earned_points(self) -> Decimal:
        """The points the report adds: its item's points when it earns them, else 0 (every list, export,
        API answer and score reads this)."""
        return self.points if self.earns_points else Decimal("0.00")


class PatrolFinding(models.Model):
    """A catalog issue in a village found by someone else (督查组, 部门, 区/市/省, 12345, 信访, 中央)."""

    class Source(models.TextChoices):
        TOWNSHIP_GROUP = "township_group", "镇督查组"
        TOWNSHIP_DEPARTMENT = "township_department", "镇部门"
        DISTRICT = "district", "区"
        CITY = "city", "市"
        PROVINCE = "province", "省"
        HOTLINE_12345 = "12345", "12345"
        TOWNSHIP_PETITION = "township_petition", "镇信访"
        DISTRICT_PETITION = "district_petition", "区信访"
        CITY_PETITION = "city_petition", "市信访"
        PROVINCE_PETITION = "province_petition", "省信访"
        PUBLIC_OPINION = "public_opinion", "舆情"
        MAYOR_MAILBOX = "mayor_mailbox", "市长信箱"
        MAYOR_HOTLINE = "mayor_hotline", "市长热线"
        CENTRAL = "central", "中央"

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="+")
    village = models.ForeignKey(Region, verbose_name="村（居）", on_delete=models.PROTECT, related_name="patrol_findings")
    number = models.CharField("编号", max_length=32)
    item = models.ForeignKey(CatalogItem, verbose_name="目录事项", on_delete=models.PROTECT, related_name="findings")
    source = models.CharField("来源", max_length=24, choices=Source.choices)
    group = models.ForeignKey(
        SupervisionGroup, verbose_name="督查组", null=True, blank=True, on_delete=models.PROTECT, related_name="findings"
    )
    discovered_on = models.DateField("发现日期", db_index=True)
    location = models.CharField("地点", max_length=200, blank=True)
    description = models.TextField("问题描述", blank=True)
    is_true = models.BooleanField("是否属实", null=True, blank=True, help_text="空：待核实")
    verification_note = models.TextField("核实情况", blank=True)
    matched_report = models.ForeignKey(
        PatrolReport, verbose_name="对应上报", null=True, blank=True, on_delete=models.PROTECT, related_name="findings",
        help_text="村（居）此前已上报的同一问题",
    )
    points = models.DecimalField(
        "目录分值", max_digits=6, decimal_places=2, default=0, help_text="登记时的目录分值；扣分 = 分值 × 来源倍数",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="录入人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    registered_at = models.DateTimeField(
        "登记备案时间", null=True, blank=True, help_text="登记前村（居）看不到（不得与村“通气”）",
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="登记人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_fraud = models.BooleanField("弄虚作假", default=False, help_text="纪检监察认定后，其扣分冲销")
    fraud_note = models.TextField("弄虚作假认定情况", blank=True)
    fraud_flagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="认定人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    fraud_flagged_at = models.DateTimeField("认定时间", null=True, blank=True)
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    region_path_lookup = "village__path"

    class Meta:
        verbose_name = "巡查发现问题"
        verbose_name_plural = "巡查发现问题"
        ordering = ["-discovered_on", "-id"]
        permissions = [("register_patrolfinding", "登记备案巡查发现问题")]
        constraints = [models.UniqueConstraint(fields=["township", "number"], name="patrol_finding_unique_number")]
        indexes = [models.Index(fields=["township", "discovered_on"], name="patrol_finding_scoring_idx")]

    def __str__(self):
        return f"{self.number} {self.village.name} {self.item.name}（{self.get_source_display()}）"

    def get_permission_region(self):
        return self.village


class SupervisionCheck(models.Model):
    """A supervision group's check of one of its villages (at least monthly, 附件1)."""

    group = models.ForeignKey(SupervisionGroup, verbose_name="督查组", on_delete=models.PROTECT, related_name="checks")
    village = models.ForeignKey(Region, verbose_name="村（居）", on_delete=models.PROTECT, related_name="supervision_checks")
    date = models.DateField("督查日期", db_index=True)
    checked_by = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="督查人员", related_name="+")
    ledger_ok = models.BooleanField("台账规范", default=True)
    notes = models.TextField("督查情况", blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="录入人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("录入时间", auto_now_add=True)

    region_path_lookup = "village__path"

    class Meta:
        verbose_name = "督查记录"
        verbose_name_plural = "督查记录"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["village", "date"], name="supervision_check_month_idx")]

    def __str__(self):
        return f"{self.date} {self.group.name} 督查 {self.village.name}"

    def get_permission_region(self):
        return self.village


class DepartmentConfirmation(models.Model):
    """A lead department confirms its month's points for the villages (by the 5th of the next month)."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey(Department, verbose_name="部门", on_delete=models.PROTECT, related_name="patrol_confirmations")
    month = models.DateField("月份", help_text="该月1日")
    confirmed_at = models.DateTimeField("确认时间")
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="确认人", on_delete=models.PROTECT, related_name="+")
    note = models.TextField("说明", blank=True)

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "部门月度考评确认"
        verbose_name_plural = "部门月度考评确认"
        ordering = ["-month", "department_id"]
        permissions = [("confirm_month", "确认本部门月度考评")]
        constraints = [models.UniqueConstraint(fields=["department", "month"], name="department_confirmation_once")]

    def __str__(self):
        return f"{self.department.name} {self.month:%Y-%m} 考评确认"

    def get_permission_region(self):
        return self.township


class Circular(models.Model):
    """The office's monthly circular (通报, by the 10th) or quarterly grade sheet of a township."""

    class Period(models.TextChoices):
        MONTH = "month", "月度通报"
        QUARTER = "quarter", "季度考评"

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="patrol_circulars")
    period = models.CharField("类型", max_length=8, choices=Period.choices)
    period_start = models.DateField("起始月份", help_text="月或季度第一个月的1日")
    published_at = models.DateTimeField("通报时间")
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="通报人", on_delete=models.PROTECT, related_name="+")
    scores = models.JSONField("通报时的得分", default=list, help_text="通报发出时的得分快照")

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡查考评通报"
        verbose_name_plural = "巡查考评通报"
        ordering = ["-period_start", "period"]
        permissions = [("publish_circular", "发布巡查考评通报")]
        constraints = [models.UniqueConstraint(fields=["township", "period", "period_start"], name="circular_once_per_period")]

    def __str__(self):
        return f"{self.township.name} {self.period_start:%Y-%m} {self.get_period_display()}"


# ------------------------------------------------------------------ township big patrol: the plan's rules as data
# The township big patrol plan, 五、奖惩细则: only 行政村(居) are rewarded and penalised; finders' multipliers
# and the quarterly incentive are the township's to set, each change effective from a date so that a
# changed plan does not rewrite months already scored.


class AssessmentExemption(models.Model):
    """A region of a township that is not subject to the big-patrol assessment (e.g. an 工业园区).

    Its reports and findings are still recorded; it is left out of rankings, circulars, grades and charts."""

    region = models.OneToOneField(Region, verbose_name="区域", on_delete=models.CASCADE, related_name="assessment_exemption")
    reason = models.CharField("理由", max_length=200, default="非行政村（居），不列入大巡查考评对象")
    created_at = models.DateTimeField("设置时间", auto_now_add=True)

    region_path_lookup = "region__path"

    class Meta:
        verbose_name = "不参加考评的区域"
        verbose_name_plural = "不参加考评的区域"
        ordering = ["region__path"]

    def __str__(self):
        return f"{self.region.name}（不参加考评）"

    def get_permission_region(self):
        return self.region


class SourceMultiplier(models.Model):
    """The multiplier of a finder (来源) in a township from a date on: the deduction is points × multiplier.

    A finding uses the row of its township and source with the latest effective date on or before its
    discovery; without one, the plan's default applies."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="+")
    source = models.CharField("来源", max_length=24, choices=PatrolFinding.Source.choices)
    multiplier = models.PositiveSmallIntegerField("扣分倍数")
    effective_from = models.DateField("生效日期")
    note = models.CharField("依据", max_length=200, blank=True)

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "来源扣分倍数"
        verbose_name_plural = "来源扣分倍数"
        ordering = ["township_id", "source", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["township", "source", "effective_from"],
                                               name="source_multiplier_once_per_date")]

    def __str__(self):
        return f"{self.get_source_display()} ×{self.multiplier}（{self.effective_from} 起）"

    def get_permission_region(self):
        return self.township


class IncentiveRate(models.Model):
    """The quarterly reward of a grade in a township's incentive plan (激励方案), from a date on."""

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="+")
    grade = models.CharField("等次", max_length=8, choices=[(g, g) for g in ("优秀", "良好", "一般", "合格")])
    amount = models.DecimalField("奖励金额（元）", max_digits=10, decimal_places=2)
    effective_from = models.DateField("生效日期")

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "季度激励标准"
        verbose_name_plural = "季度激励标准"
        ordering = ["township_id", "-effective_from", "grade"]
        constraints = [models.UniqueConstraint(fields=["township", "grade", "effective_from"],
                                               name="incentive_rate_once_per_date")]

    def __str__(self):
        return f"{self.grade} {self.amount} 元（{self.effective_from} 起）"

    def get_permission_region(self):
        return self.township



class PatrolWorkRecord(models.Model):
    """A monthly work meeting or analysis (四、(十), 六、(六)) or a 宣传办 简讯 (四、(十五)) of a township's big patrol."""

    class Kind(models.TextChoices):
        MEETING = "meeting", "工作会议（分析研判）"
        BRIEFING = "briefing", "宣传简讯"

    township = models.ForeignKey(Region, verbose_name="乡镇", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    date = models.DateField("日期", db_index=True)
    title = models.CharField("标题或议题", max_length=200)
    note = models.TextField("情况", blank=True, help_text="会议：参加部门、通报和研究的问题；简讯：刊发渠道")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="登记人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("登记时间", auto_now_add=True)

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "大巡查会议与简讯"
        verbose_name_plural = "大巡查会议与简讯"
        ordering = ["-date", "-id"]

    def __str__(self):
        return f"{self.date} {self.get_kind_display()} {self.title}"

    def get_permission_region(self):
        return self.township

def tip_off_findings(*, village, item, reported_on, filed_at):
    """Findings that make a village report filed at `filed_at` a tip-off (六、(二) 不得与村“通气”): of the
    same village and item, discovered on or before the report's day, recorded before the report was
    filed and registered (released to the village) only after it, found true and not fraud. A finding
    counts once registered: until then the village may not learn of it, not even through its report's
    points. Accepts values or OuterRef()s."""
    return PatrolFinding.objects.filter(
        village=village, item=item, discovered_on__lte=reported_on, created_at__lt=filed_at,
        registered_at__gt=filed_at, is_true=True, is_fraud=False,
    )
