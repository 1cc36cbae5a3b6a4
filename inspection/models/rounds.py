"""Models of the county inspection (巡察): rounds, groups, targets, mobile proposals, findings, talks, clues, letters, look-backs."""

import datetime
import re

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from governance.chinese_numerals import chinese_ordinal
from grid.models import Department, Region

# A group's name as the published documents give it: 县委第三巡察组 (the 县委 may be left out when typed).
_GROUP_NAME = re.compile(r"(县委)?第[一二三四五六七八九十百千零〇0-9]+巡察组")

# ------------------------------------------------------------------ county inspection rounds (巡察)
# The county inspection round plan and the county inspection practice: a round inspects township
# party committees and village party organisations with one group per township; some townships
# in full, others a fixed number of villages plus mobile inspection of more chosen within N days.


class InspectionRound(models.Model):
    """A round of county inspection (e.g. 十五届县委第二轮巡察)."""

    county = models.ForeignKey(Region, verbose_name="县", on_delete=models.PROTECT, related_name="inspection_rounds")
    term = models.CharField("届次", max_length=20, help_text="如：十五届")
    number = models.PositiveSmallIntegerField("轮次")
    name = models.CharField("名称", max_length=100)
    arrival_date = models.DateField("进驻日期")
    withdrawal_date = models.DateField("撤回日期")
    rectification_months = models.PositiveSmallIntegerField(
        "集中整改期（月）", default=1,
        help_text="反馈后集中整改的月数（1个月一整改）：反馈移交的整改事项，整改时限默认为反馈日期后这么多个月，可逐项修改")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="创建人", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)

    region_path_lookup = "county__path"

    class Meta:
        verbose_name = "巡察轮次"
        verbose_name_plural = "巡察轮次"
        ordering = ["-arrival_date", "-id"]
        permissions = [("manage_inspectionround", "组织巡察轮次（巡察办）")]
        constraints = [
            models.UniqueConstraint(fields=["county", "term", "number"], name="inspection_round_unique_number"),
            models.CheckConstraint(condition=models.Q(withdrawal_date__gt=models.F("arrival_date")),
                                   name="inspection_round_dates_in_order"),
        ]

    def __str__(self):
        return self.name

    def get_permission_region(self):
        return self.county


class InspectionGroup(models.Model):
    """A group of a round (第一巡察组…) and the township it inspects, with its village rule."""

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.CASCADE, related_name="groups")
    number = models.PositiveSmallIntegerField("组号")
    name = models.CharField("名称", max_length=50)
    township = models.ForeignKey(Region, verbose_name="巡察乡镇", on_delete=models.PROTECT, related_name="inspection_groups")
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="组长", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    deputies = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="副组长", blank=True, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, verbose_name="组员", blank=True, related_name="+")
    inspect_all_villages = models.BooleanField("巡察全部村", default=False)
    fixed_villages = models.PositiveSmallIntegerField("固定巡察村数", default=6)
    mobile_villages = models.PositiveSmallIntegerField("机动巡察村数上限", default=6)
    mobile_days = models.PositiveSmallIntegerField("进驻后确定机动村的天数", default=7)
    # The timeline after withdrawal (三报告四清单 → 领导小组 → 书记专题会 → 反馈).
    reported_on = models.DateField("向领导小组汇报日期", null=True, blank=True)
    secretary_meeting_on = models.DateField("书记专题会日期", null=True, blank=True)
    feedback_on = models.DateField("反馈日期", null=True, blank=True)
    feedback_document = models.CharField("反馈文件", max_length=100, blank=True)

    region_path_lookup = "township__path"

    class Meta:
        verbose_name = "巡察组"
        verbose_name_plural = "巡察组"
        ordering = ["round_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["round", "number"], name="inspection_group_unique_number"),
            models.UniqueConstraint(fields=["round", "township"], name="inspection_group_one_per_township"),
        ]

    def __str__(self):
        return f"{self.round.name}{self.name}"

    def get_permission_region(self):
        return self.township

    @property
    def published_name(self) -> str:
        """"县委第N巡察组", as the rectification notice's opening and the letters name the group (a progress
        notice: "…县委第三巡察组对太平镇党委开展了巡察"): the name with 县委 before it, or — for a name
        of another shape — from the group's number."""
        name = (self.name or "").strip()
        if _GROUP_NAME.fullmatch(name):
            return name if name.startswith("县委") else f"县委{name}"
        return f"县委第{chinese_ordinal(self.number)}巡察组" if self.number else "县委巡察组"


class RoundTarget(models.Model):
    """An organisation inspected in a round: a township party committee or a village party organisation."""

    class VillageClass(models.TextChoices):
        KEY = "key", "重点村"
        ADVANCED = "advanced", "先进村"
        ORDINARY = "ordinary", "一般村"

    # The county inspection practice: 重点村 直接巡察, 先进村 调研巡察, 一般村 延伸巡察.
    MODE_BY_CLASS = {"key": "直接巡察", "advanced": "调研巡察", "ordinary": "延伸巡察"}

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.CASCADE, related_name="targets")
    group = models.ForeignKey(InspectionGroup, verbose_name="巡察组", on_delete=models.CASCADE, related_name="targets")
    organisation = models.ForeignKey(Region, verbose_name="被巡察党组织", on_delete=models.PROTECT, related_name="inspection_targets")
    village_class = models.CharField("村分类", max_length=16, choices=VillageClass.choices, blank=True)
    is_mobile = models.BooleanField("机动巡察", default=False)
    added_at = models.DateTimeField("确定时间", auto_now_add=True)

    region_path_lookup = "organisation__path"

    class Meta:
        verbose_name = "巡察对象"
        verbose_name_plural = "巡察对象"
        ordering = ["round_id", "group_id", "organisation__path"]
        constraints = [models.UniqueConstraint(fields=["round", "organisation"], name="round_target_once")]

    def __str__(self):
        return f"{self.organisation.name}（{self.round.name}）"

    def get_permission_region(self):
        return self.organisation

    @property
    def mode(self) -> str:
        return self.MODE_BY_CLASS.get(self.village_class, "")


class MobileProposal(models.Model):
    """A group leader's proposal of a village for mobile inspection (机动巡察), decided by the leading group."""

    class Decision(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "同意"
        REJECTED = "rejected", "不同意"

    group = models.ForeignKey(InspectionGroup, verbose_name="巡察组", on_delete=models.CASCADE, related_name="proposals")
    village = models.ForeignKey(Region, verbose_name="村（社区）", on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("理由")
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="提出人", on_delete=models.PROTECT, related_name="+")
    proposed_on = models.DateField("提出日期")
    decision = models.CharField("审批结果", max_length=16, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审批人", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    decision_note = models.TextField("审批意见", blank=True)

    region_path_lookup = "village__path"

    class Meta:
        verbose_name = "机动巡察提议"
        verbose_name_plural = "机动巡察提议"
        ordering = ["-proposed_on", "-id"]
        permissions = [("decide_mobileproposal", "审批机动巡察（领导小组）")]

    def __str__(self):
        return f"{self.group.name}提议机动巡察{self.village.name}"

    def get_permission_region(self):
        return self.village


class FocusCategory(models.Model):
    """The round's focus taxonomy (三个聚焦 and their sub-headings), editable per round."""

    class AppliesTo(models.TextChoices):
        TOWNSHIP = "township", "乡镇党委"
        VILLAGE = "village", "村级党组织"
        BOTH = "both", "均适用"

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.CASCADE, related_name="focus_categories")
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    title = models.CharField("标题", max_length=200)
    applies_to = models.CharField("适用对象", max_length=16, choices=AppliesTo.choices, default=AppliesTo.BOTH)
    order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "巡察监督重点"
        verbose_name_plural = "巡察监督重点"
        ordering = ["round_id", "parent_id", "order", "id"]

    def __str__(self):
        return self.title


class InspectionFinding(models.Model):
    """A problem found in a round (问题底稿), classified by the focus taxonomy; fed back to its target."""

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.PROTECT, related_name="findings")
    group = models.ForeignKey(InspectionGroup, verbose_name="巡察组", on_delete=models.PROTECT, related_name="findings")
    target = models.ForeignKey(RoundTarget, verbose_name="巡察对象", on_delete=models.PROTECT, related_name="findings")
    village = models.ForeignKey(
        Region, verbose_name="涉及村（社区）", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    focus = models.ForeignKey(FocusCategory, verbose_name="问题类别", on_delete=models.PROTECT, related_name="findings")
    title = models.CharField("问题", max_length=300)
    description = models.TextField("具体表现")
    people_involved = models.CharField("涉及人员", max_length=200, blank=True, help_text="用于书记专题会点人点事点问题建议清单")
    suggestion = models.TextField("处理建议", blank=True)
    for_secretary_meeting = models.BooleanField("列入书记专题会建议清单", default=False)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)
    fed_back_at = models.DateTimeField("反馈时间", null=True, blank=True, help_text="反馈后被巡察党组织可见")

    region_path_lookup = "target__organisation__path"

    class Meta:
        verbose_name = "巡察发现问题"
        verbose_name_plural = "巡察发现问题"
        ordering = ["round_id", "target_id", "id"]

    def __str__(self):
        return self.title

    def get_permission_region(self):
        return self.village or self.target.organisation


class TalkRecord(models.Model):
    """A talk (谈话) held by a group."""

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.PROTECT, related_name="talks")
    group = models.ForeignKey(InspectionGroup, verbose_name="巡察组", on_delete=models.PROTECT, related_name="talks")
    target = models.ForeignKey(RoundTarget, verbose_name="巡察对象", on_delete=models.PROTECT, related_name="talks")
    held_on = models.DateField("谈话日期")
    interviewee = models.CharField("谈话对象", max_length=100)
    position = models.CharField("职务", max_length=100, blank=True)
    summary = models.TextField("谈话要点")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+")

    region_path_lookup = "target__organisation__path"

    class Meta:
        verbose_name = "谈话记录"
        verbose_name_plural = "谈话记录"
        ordering = ["-held_on", "-id"]

    def __str__(self):
        return f"{self.held_on} {self.interviewee}"

    def get_permission_region(self):
        return self.target.organisation


class ProblemClue(models.Model):
    """A problem clue (问题线索): seen only by the group leader, the inspection office and discipline."""

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.PROTECT, related_name="clues")
    group = models.ForeignKey(InspectionGroup, verbose_name="巡察组", on_delete=models.PROTECT, related_name="clues")
    target = models.ForeignKey(RoundTarget, verbose_name="巡察对象", on_delete=models.PROTECT, related_name="clues")
    people_involved = models.CharField("涉及人员", max_length=200)
    description = models.TextField("线索内容")
    source = models.CharField("线索来源", max_length=100, blank=True, help_text="如：来信、谈话、查阅资料")
    disposal = models.CharField("处置建议", max_length=200, blank=True, help_text="如：移交县纪委监委")
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="记录人", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    region_path_lookup = "target__organisation__path"

    class Meta:
        verbose_name = "问题线索"
        verbose_name_plural = "问题线索"
        ordering = ["-recorded_at", "-id"]

    def __str__(self):
        return f"问题线索：{self.people_involved}"

    def get_permission_region(self):
        return self.target.organisation


class InspectionLetter(models.Model):
    """A numbered letter of a round, tracked until answered (提醒函, 督办函, 建议书, 整改提示)."""

    class Kind(models.TextChoices):
        REMINDER = "reminder", "巡察提醒函"
        SUPERVISION = "supervision", "典型问题督办函"
        RECOMMENDATION = "recommendation", "巡察建议书"
        RECTIFICATION = "rectification", "巡察整改工作提示"

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.PROTECT, related_name="letters")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    number = models.CharField("文号", max_length=60)
    recipient = models.ForeignKey(
        Region, verbose_name="收文党组织", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
    )
    recipient_department = models.ForeignKey(
        Department, verbose_name="收文部门", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="巡察建议书发往县直部门",
    )
    subject = models.CharField("事由", max_length=200)
    body = models.TextField("正文")
    issued_on = models.DateField("发文日期")
    reply_due = models.DateField("书面回复期限", null=True, blank=True)
    replied_on = models.DateField("回复日期", null=True, blank=True)
    reply_summary = models.TextField("回复情况", blank=True)
    # The daily job's record that it told the office (audit row, notice once); no page reads it: 逾期未回复
    # is computed (letter_overdue_q, InspectionLetter.reply_overdue).
    is_overdue = models.BooleanField("逾期未回复", default=False, db_index=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="发文人", on_delete=models.PROTECT, related_name="+")

    region_path_lookup = "round__county__path"

    class Meta:
        verbose_name = "巡察文书"
        verbose_name_plural = "巡察文书"
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["round", "number"], name="inspection_letter_unique_number"),
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | models.Q(recipient_department__isnull=False),
                name="inspection_letter_has_recipient",
            ),
        ]

    def __str__(self):
        return f"{self.number} {self.subject}"

    def get_permission_region(self):
        return self.recipient or self.round.county

    def reply_overdue_on(self, today: datetime.date) -> bool:
        """letter_overdue_q for one letter in memory."""
        return self.replied_on is None and self.reply_due is not None and self.reply_due < today

    @property
    def reply_overdue(self) -> bool:
        """逾期未回复 today (letter_overdue_q); what the pages and the export show."""
        return self.reply_overdue_on(timezone.localdate())


def letter_overdue_q(today: datetime.date | None = None) -> Q:
    """逾期未回复, the one rule every list, filter, export and count of letters uses: not answered, and
    the reply date lies before `today` (default: the local date), whether or not the daily job has run."""
    return Q(replied_on__isnull=True, reply_due__lt=today or timezone.localdate())


class LookBack(models.Model):
    """A later check (回头看) of a target's rectification."""

    round = models.ForeignKey(InspectionRound, verbose_name="轮次", on_delete=models.PROTECT, related_name="look_backs")
    target = models.ForeignKey(RoundTarget, verbose_name="巡察对象", on_delete=models.PROTECT, related_name="look_backs")
    scheduled_on = models.DateField("计划日期")
    done_on = models.DateField("完成日期", null=True, blank=True)
    result = models.TextField("回头看发现", blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="安排人", on_delete=models.PROTECT, related_name="+")

    region_path_lookup = "target__organisation__path"

    class Meta:
        verbose_name = "巡察回头看"
        verbose_name_plural = "巡察回头看"
        ordering = ["scheduled_on", "id"]

    def __str__(self):
        return f"{self.target.organisation.name} 回头看 {self.scheduled_on}"

    def get_permission_region(self):
        return self.target.organisation
