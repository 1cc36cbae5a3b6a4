"""Rectification plans and items (整改), their progress, accountability and the published notices.
Design notes: docs/architecture/rectification.md."""

import string

from django.conf import settings
from django.core.exceptions import ValidationError
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
        COUNTY = "county", "处级干部"
        SECTION = "section", "科级干部"
        GENERAL = "general", "一般干部"
        VILLAGE = "village", "村（社区）干部"
        OTHER = "other", "其他人员"

    class Measure(models.TextChoices):
        PARTY_DISCIPLINE = "party_discipline", "党纪处分"
        GOVERNMENT_SANCTION = "gov_sanction", "政务处分"
        CASE = "case", "立案审查调查"
        GOVERNMENT_CASE = "gov_case", "政务立案"
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

    # Seen where rectification.view_accountability is held over the plan's organisation, which not every
    # reader of the plan holds (an inspection group reads plans and items only).
    region_path_lookup = "plan__organisation__path"

    class Meta:
        verbose_name = "问责处理"
        verbose_name_plural = "问责处理"
        ordering = ["id"]

    def __str__(self):
        return f"{self.person} {self.get_measure_display()}"

    def get_permission_region(self):
        return self.plan.organisation


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
    deadline_text = models.CharField("整改时限（原文）", max_length=100, blank=True,
                                     help_text="整改方案中的原始写法，如“2024年12月前”；通报按原文印出")
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    result = models.TextField("整改情况", blank=True, help_text="通报中“整改情况”的文字")
    unfinished_reason = models.TextField("未完成原因", blank=True)
    next_steps = models.TextField("下一步措施", blank=True)
    new_deadline = models.DateField("新的整改时限", null=True, blank=True)
    is_overdue = models.BooleanField("已逾期", default=False, db_index=True)
    closed_at = models.DateTimeField("销号时间", null=True, blank=True)
    flow_policy = models.ForeignKey(
        "grid.FlowPolicy", verbose_name="流程策略版本", null=True, blank=True, on_delete=models.PROTECT,
        related_name="rectification_items",
        help_text="整改流程启动时生效的流程策略版本（销号是否须经验收），事项按该版本办结；留空为默认流程",
    )

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
    template = models.ForeignKey("NoticeTemplate", verbose_name="通报模板", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="notices", help_text="起草时本县的模板版本；空为默认模板")
    edits = models.JSONField("修改的文字", default=dict, blank=True, help_text="审定前按部分修改的文字（键 → 文字）")
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


class NumberingStyle(models.TextChoices):
    """How a level of the notice is numbered (the label shows the first number)."""

    PAREN_CN = "paren_cn", "（一）"
    CN_COMMA = "cn_comma", "一、"
    ARABIC_DOT = "arabic_dot", "1."
    ARABIC_FULLWIDTH = "arabic_fullwidth", "1．"
    PAREN_ARABIC = "paren_arabic", "（1）"
    CIRCLED = "circled", "①"


# Placeholders an opening or a title may use, with what they stand for.
TEMPLATE_PLACEHOLDERS = {
    "县委": "如“某县委”，取自区域树",
    "巡察组": "如“县委第一巡察组”",
    "进驻日期": "巡察进驻日期",
    "撤离日期": "巡察撤离日期",
    "反馈日期": "巡察反馈日期",
    "被巡察党组织": "如“太平镇党委”",
    "党委全称": "如“中共太平镇委员会”",
}
# The names the first versions used; templates saved with them still fill and still validate.
LEGACY_PLACEHOLDERS = {
    "county_committee": "县委", "group": "巡察组", "inspected_from": "进驻日期", "inspected_to": "撤离日期",
    "feedback_on": "反馈日期", "party_organisation": "被巡察党组织", "committee": "党委全称",
}


def with_chinese_placeholders(text: str) -> str:
    """A title or opening written with the first versions' names, in today's ({group} → {巡察组})."""
    for old, new in LEGACY_PLACEHOLDERS.items():
        text = text.replace("{" + old + "}", "{" + new + "}")
    return text

DEFAULT_MEASURE_NAMES = {
    "party_discipline": "党纪处分", "gov_sanction": "政务处分", "case": "立案", "gov_case": "政务立案",
    "examination": "责令检查", "admonishment": "诫勉谈话", "reminder_talk": "提醒谈话", "criticism": "批评教育",
}
DEFAULT_LEVEL_NAMES = {"county": "处级干部", "section": "科级干部", "general": "其他人员", "village": "其他人员",
                       "other": "其他人员"}


def default_measure_names():
    return dict(DEFAULT_MEASURE_NAMES)


def default_level_names():
    return dict(DEFAULT_LEVEL_NAMES)


class NoticeTemplate(models.Model):
    """One version of a county's template of the progress notice (headings, sentences, numbering, names).

    A version is never changed once saved: editing writes the next version, and a notice keeps the
    version it was drafted with. A county without a template uses the unsaved default (`NoticeTemplate()`).
    """

    county = models.ForeignKey(Region, verbose_name="县", on_delete=models.PROTECT, related_name="notice_templates")
    version = models.PositiveIntegerField("版本", editable=False)
    title = models.CharField("标题", max_length=200, default="{党委全称}关于巡察整改进展情况的通报")
    opening = models.TextField(
        "开头语",
        default="根据{县委}巡察工作统一部署，{进驻日期}至{撤离日期}，{巡察组}对{被巡察党组织}"
                "开展了巡察，并于{反馈日期}反馈了巡察意见。按照党务公开原则和巡察工作有关要求，现将巡察整改情况予以公布。",
        help_text="可用占位符：" + "、".join(f"{{{k}}} {v}" for k, v in TEMPLATE_PLACEHOLDERS.items()),
    )
    heading_organisation = models.CharField("一级标题一", max_length=200, default="被巡察党组织及其主要负责人组织落实整改情况")
    heading_problems = models.CharField("一级标题二", max_length=200,
                                        default="巡察反馈问题的整改情况（集中整改期内已完成的整改事项）")
    heading_handling = models.CharField("一级标题三", max_length=200, default="巡察反馈问题的处理情况")
    heading_people = models.CharField("标题三（一）", max_length=200, default="运用监督执纪“四种形态”处理情况")
    heading_petitions = models.CharField("标题三（二）", max_length=200, default="转办信访件办理及追回资金")
    heading_unfinished = models.CharField("一级标题四", max_length=200, default="需要进一步整改的事项及措施")
    heading_next = models.CharField("一级标题五", max_length=200, default="下一步计划")
    category_numbering = models.CharField("巡察重点（类别）编号", max_length=20, choices=NumberingStyle.choices,
                                          default=NumberingStyle.PAREN_CN)
    subheading_numbering = models.CharField("子类编号（每类重新编号）", max_length=20, choices=NumberingStyle.choices,
                                            default=NumberingStyle.ARABIC_DOT)
    problem_numbering = models.CharField("问题编号（全文连续）", max_length=20, choices=NumberingStyle.choices,
                                         default=NumberingStyle.PAREN_ARABIC)
    unfinished_numbering = models.CharField("第四部分事项编号", max_length=20, choices=NumberingStyle.choices,
                                            default=NumberingStyle.ARABIC_DOT)
    next_plan = models.TextField(
        "下一步计划（默认文字）",
        default="下一步，我们将坚持目标不变、标准不降、力度不减，对已完成的整改事项巩固成果、防止反弹，对正在整改的事项"
                "紧盯不放、按期完成，对需要长期坚持的事项建立长效机制，持续推动巡察整改落地见效。",
        help_text="整改方案未填写“下一步工作打算”时使用；每行一段",
    )
    closing = models.TextField("结束语", default="欢迎广大干部群众对巡察整改落实情况进行监督。如有意见建议，请及时向我们反映。",
                               help_text="仅在整改方案填写了真实联系方式时，与联系方式一并印出")
    measure_names = models.JSONField("处理方式的写法", default=default_measure_names, blank=True,
                                     help_text="处理方式代码 → 通报中的写法，按此顺序印出")
    level_names = models.JSONField("层级的写法", default=default_level_names, blank=True,
                                   help_text="层级代码 → 通报中的写法；写法相同的层级合并计数")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="修改人", null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("修改时间", auto_now_add=True)

    region_path_lookup = "county__path"

    class Meta:
        verbose_name = "通报模板"
        verbose_name_plural = "通报模板"
        ordering = ["county_id", "-version"]
        constraints = [models.UniqueConstraint(fields=["county", "version"], name="notice_template_unique_version")]

    def __str__(self):
        return f"{self.county.name}通报模板（第{self.version}版）" if self.county_id else "默认通报模板"

    def get_permission_region(self):
        return self.county

    def clean(self):
        errors = {}
        for field in ("title", "opening"):
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(getattr(self, field) or "") if name is not None}
            except ValueError:
                errors[field] = "花括号不成对：占位符须写成 {名称} 的形式。"
                continue
            unknown = sorted(names - set(TEMPLATE_PLACEHOLDERS) - set(LEGACY_PLACEHOLDERS))
            if unknown:
                errors[field] = (f"未知的占位符：{'、'.join('{' + n + '}' for n in unknown)}。可用："
                                 + "、".join("{" + k + "}" for k in TEMPLATE_PLACEHOLDERS) + "。")
        for field, choices in (("measure_names", Accountability.Measure), ("level_names", Accountability.Level)):
            value = getattr(self, field)
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                errors[field] = "须为“代码: 写法”的对照表。"
                continue
            unknown = sorted(set(value) - set(choices.values))
            if unknown:
                errors[field] = f"未知的代码：{'、'.join(unknown)}。可用：{'、'.join(choices.values)}。"
        if errors:
            raise ValidationError(errors)
