"""What the API shows and accepts. Output serializers read already-scoped objects; input serializers only
decode and type-check: the rules are in the services (grid.events, rectification.services)."""

from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from governance.audit_labels import action_label
from grid.case_record import disposal_result
from grid.events import DECISION_LABELS
from grid.models import Event, EventCategory, Region, parent_path
from inspection.models import PatrolReport
from rectification import states as rect_states
from rectification.models import ProgressEntry, RectificationItem, RectificationPlan

MAX_ID = 999_999_999_999_999_999  # record ids fit a 64-bit key; larger numbers are refused, not looked up


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="错误说明（中文）")
    errors = serializers.ListField(child=serializers.CharField(), help_text="逐条错误")


def _name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# ---------------------------------------------------------------- shared pieces


class RegionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    full_path = serializers.CharField()


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["image", "video", "document"])
    name = serializers.CharField(source="original_name")
    mime_type = serializers.CharField()
    size = serializers.IntegerField()
    taken_at = serializers.DateTimeField(allow_null=True, help_text="照片 EXIF 拍摄时间")
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True, help_text="照片 EXIF 纬度")
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, allow_null=True, help_text="照片 EXIF 经度")
    url = serializers.SerializerMethodField(help_text="下载地址（同样需要认证）")
    warnings = serializers.SerializerMethodField(help_text="拍摄时间、位置与上报不一致的提示")

    def get_url(self, attachment) -> str:
        owner_url = self.context["attachment_url"]
        return self.context["request"].build_absolute_uri(owner_url(attachment))

    def get_warnings(self, attachment) -> list[str]:
        return self.context.get("warnings", {}).get(attachment.pk, [])


class HistorySerializer(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    action = serializers.CharField(help_text="审计操作标识，如 event.escalate")
    label = serializers.SerializerMethodField(help_text="操作的中文说明")
    actor = serializers.SerializerMethodField(help_text="操作人姓名（系统自动操作为空）")

    def get_label(self, entry) -> str:
        return action_label(entry.action)

    def get_actor(self, entry) -> str:
        return _name(entry.actor) if entry.actor_id else ""


class CaseEvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="attachment.pk")
    role = serializers.CharField(help_text="上报照片（处置前）、处置照片（处置后）、上报材料、处置佐证或佐证材料")
    name = serializers.CharField(source="attachment.original_name")
    url = serializers.SerializerMethodField(help_text="下载地址（同样需要认证）")

    def get_url(self, item) -> str:
        return self.context["request"].build_absolute_uri(self.context["attachment_url"](item.attachment))


class CaseDetailSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class CaseStepSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="办理人姓名（系统自动操作为“系统”）")
    action = serializers.CharField(help_text="审计操作标识，如 event.escalate")
    label = serializers.CharField(help_text="决定的中文说明，如“上报上一级”")
    where = serializers.CharField(help_text="办理时事件所在的处置区域，如“楼星村”")
    opinion_label = serializers.CharField(help_text="意见的名称：上报理由、处置结果、派单意见、退回理由……")
    opinion = serializers.CharField(help_text="意见、理由或结果的原文")
    details = serializers.SerializerMethodField(help_text="其他内容：承办部门、办理要求、办理时限")
    evidence = CaseEvidenceSerializer(many=True)

    def get_details(self, step) -> CaseDetailSerializer(many=True):
        return [{"name": name, "value": value} for name, value in step.details]


# ---------------------------------------------------------------- the user, categories, regions


class PostSerializer(serializers.Serializer):
    role = serializers.CharField(source="role.key")
    role_name = serializers.CharField(source="role.name")
    region = RegionRefSerializer()
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    posts = PostSerializer(many=True)
    permissions = serializers.ListField(child=serializers.CharField(), help_text="岗位带来的权限（app.codename）")


class CategorySerializer(serializers.ModelSerializer):
    parent = serializers.IntegerField(source="parent_id", allow_null=True)
    parent_name = serializers.CharField(source="parent.name", allow_null=True, default=None)

    class Meta:
        model = EventCategory
        fields = ["id", "code", "name", "parent", "parent_name"]


class RegionSerializer(serializers.ModelSerializer):
    tier = serializers.CharField(source="tier.key")
    tier_name = serializers.CharField(source="tier.name")
    parent = serializers.SerializerMethodField()
    has_boundary = serializers.SerializerMethodField()

    class Meta:
        model = Region
        fields = ["id", "name", "code", "full_path", "tier", "tier_name", "depth", "households", "parent", "has_boundary"]

    def get_parent(self, region) -> int | None:
        return self.context.get("parents", {}).get(parent_path(region.path)) if region.depth > 1 else None

    def get_has_boundary(self, region) -> bool:
        return region.boundary is not None


class RegionDetailSerializer(RegionSerializer):
    boundary = serializers.JSONField(allow_null=True, help_text="GeoJSON Polygon / MultiPolygon（[经度, 纬度]）")

    class Meta(RegionSerializer.Meta):
        fields = RegionSerializer.Meta.fields + ["boundary"]


# ---------------------------------------------------------------- events


class EventSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    urgency_label = serializers.CharField(source="get_urgency_display")
    source_label = serializers.CharField(source="get_source_display")
    category = CategorySerializer()
    region = RegionRefSerializer()
    handling_region = RegionRefSerializer()
    handling_tier = serializers.CharField(source="handling_region.tier.key")
    department = serializers.CharField(source="department.name", allow_null=True, default=None)
    reporter = serializers.SerializerMethodField()
    is_overdue = serializers.BooleanField(read_only=True, help_text="超期：未办结，且当前环节已过办理时限")

    class Meta:
        model = Event
        fields = ["id", "title", "status", "status_label", "urgency", "urgency_label", "source", "source_label",
                  "category", "region", "handling_region", "handling_tier", "department", "reporter", "is_overdue",
                  "occurred_at", "created_at", "updated_at", "closed_at"]

    def get_reporter(self, event) -> str:
        return _name(event.reporter)


class AvailableActionsSerializer(serializers.Serializer):
    step = serializers.ChoiceField(choices=["handle", "department", "verify"], allow_null=True,
                                   help_text="当前环节（事件已结束时为空）")
    decisions = serializers.ListField(child=serializers.ChoiceField(choices=sorted(DECISION_LABELS)),
                                      help_text="本人现在可作的决定；为空表示本人不能办理当前环节")
    may_rate = serializers.BooleanField(help_text="本人可评价（上报人，已办结且未评价）")


class EventDetailSerializer(EventSerializer):
    attachments = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    result = serializers.SerializerMethodField(help_text="处置或办理结果（上报理由见 timeline）")
    timeline = serializers.SerializerMethodField(help_text="办理经过：每一步的办理人、时间、层级、决定、意见与佐证")
    actions = serializers.SerializerMethodField()
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", allow_null=True)
    attributes = serializers.DictField(read_only=True, help_text="类别附加字段的取值：{编码: 值}（多选为列表）")

    class Meta(EventSerializer.Meta):
        fields = EventSerializer.Meta.fields + [
            "description", "latitude", "longitude", "address", "attributes", "result", "rejection_reason", "return_count",
            "rating", "rating_comment", "duplicate_of", "attachments", "history", "timeline", "actions",
        ]

    def get_attachments(self, event) -> AttachmentSerializer(many=True):
        return AttachmentSerializer(self.context["attachments"], many=True, context=self.context).data

    def get_history(self, event) -> HistorySerializer(many=True):
        return HistorySerializer(self.context["history"], many=True, context=self.context).data

    def get_result(self, event) -> str:
        return disposal_result(event)

    def get_timeline(self, event) -> CaseStepSerializer(many=True):
        return CaseStepSerializer(self.context["timeline"], many=True, context=self.context).data

    def get_actions(self, event) -> AvailableActionsSerializer:
        return self.context["actions"]


class EventCreateSerializer(serializers.Serializer):
    region = serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                      help_text="发生区域编号（须为本人有上报岗位的网格、微网格或村）")
    category = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="事件小类编号（见 /api/v1/categories/）")
    title = serializers.CharField(max_length=100)
    description = serializers.CharField()
    occurred_at = serializers.DateTimeField(help_text="发生时间，不能晚于当前时间")
    urgency = serializers.ChoiceField(choices=Event.Urgency.choices, default=Event.Urgency.NORMAL)
    source = serializers.ChoiceField(choices=Event.Source.choices, default=Event.Source.PATROL)
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                        min_value=-90, max_value=90)
    longitude = serializers.DecimalField(max_digits=9, decimal_places=6, required=False, allow_null=True,
                                         min_value=-180, max_value=180)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    attributes = serializers.DictField(
        required=False, default=dict,
        help_text="类别附加字段：{编码: 值}，多选为值的列表（JSON 正文；见 /open311/v2/services/<编码>.json 的 attributes）",
    )
    idempotency_key = serializers.CharField(
        max_length=64, required=False,
        help_text="提交标识（必填：此字段或请求头 Idempotency-Key 二选一）：同一标识重复提交只产生一个事件",
    )
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list,
                                  help_text="照片、短视频或文档（multipart/form-data）")


class HandleSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["resolve", "escalate", "merge", "reject", "dispatch"])
    result = serializers.CharField(required=False, allow_blank=True, default="", help_text="办结时的处置结果")
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="上报、驳回的理由")
    department = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID,
                                          help_text="派单部门编号")
    duplicate_of = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID,
                                            help_text="合并到的事件编号")
    opinion = serializers.CharField(required=False, allow_blank=True, default="", max_length=500, help_text="派单意见")
    requirements = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000,
                                         help_text="派单的办理要求")
    due_on = serializers.DateField(required=False, allow_null=True, default=None,
                                   help_text="派单的办理时限（日期，今天起 90 天内；不填按时限规则）")
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list,
                                  help_text="办结佐证（办结时至少一份）")


class DepartmentStepSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["resolve", "send_back"])
    result = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class VerifySerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["satisfied", "return"])
    reason = serializers.CharField(required=False, allow_blank=True, default="", help_text="不满意时的理由")


class RateSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


# ---------------------------------------------------------------- big patrol


class PatrolReportSerializer(serializers.ModelSerializer):
    village = RegionRefSerializer()
    township = RegionRefSerializer()
    item_code = serializers.CharField(source="item.code")
    item_name = serializers.CharField(source="item.name")
    lead_department = serializers.CharField(source="item.lead_department.name")
    verdict_label = serializers.CharField(source="get_verdict_display")
    earns_points = serializers.BooleanField()
    points = serializers.DecimalField(source="earned_points", max_digits=6, decimal_places=2,
                                      help_text="加分：属实、未被认定弄虚作假且不是通气上报时为目录事项分值，否则为 0")

    class Meta:
        model = PatrolReport
        fields = ["id", "number", "township", "village", "item_code", "item_name", "lead_department", "occurred_at",
                  "location", "reported_on", "verdict", "verdict_label", "verified_on", "points", "earns_points",
                  "registration_number", "is_fraud"]


class PatrolReportDetailSerializer(PatrolReportSerializer):
    follow_up_label = serializers.CharField(source="get_follow_up_display")
    attachments = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta(PatrolReportSerializer.Meta):
        fields = PatrolReportSerializer.Meta.fields + [
            "description", "verification_note", "follow_up", "follow_up_label", "follow_up_note", "fraud_note",
            "attachments", "history",
        ]

    def get_attachments(self, report) -> AttachmentSerializer(many=True):
        return AttachmentSerializer(self.context["attachments"], many=True, context=self.context).data

    def get_history(self, report) -> HistorySerializer(many=True):
        return HistorySerializer(self.context["history"], many=True, context=self.context).data


class ScoreRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField(required=False, help_text="月度排名")
    village = serializers.CharField()
    base = serializers.CharField(required=False, help_text="基础分（两位小数的字符串）")
    additions = serializers.CharField(required=False)
    deductions = serializers.CharField(required=False)
    veto = serializers.BooleanField(required=False)
    score = serializers.CharField(required=False, help_text="月度得分")
    months = serializers.ListField(child=serializers.CharField(), required=False, help_text="季度：三个月得分")
    average = serializers.CharField(required=False, help_text="季度：月平均分")
    grade = serializers.CharField(required=False, help_text="季度：等次")


class ScoresSerializer(serializers.Serializer):
    township = RegionRefSerializer()
    kind = serializers.ChoiceField(choices=["month", "quarter"])
    period = serializers.CharField(help_text="YYYY-MM 或 YYYYQn")
    title = serializers.CharField()
    published = serializers.BooleanField(help_text="是否为已发布通报的得分快照")
    rows = ScoreRowSerializer(many=True)


# ---------------------------------------------------------------- rectification


class PlanSerializer(serializers.ModelSerializer):
    organisation = RegionRefSerializer()
    round = serializers.CharField(source="round.name", allow_null=True, default=None)
    item_count = serializers.IntegerField()
    closed_count = serializers.IntegerField()
    overdue_count = serializers.IntegerField()
    figures = serializers.SerializerMethodField(help_text="rectification.states 的全部计数与整改率、销号率（%）")

    class Meta:
        model = RectificationPlan
        fields = ["id", "title", "organisation", "round", "group_name", "inspected_from", "inspected_to", "feedback_on",
                  "document_title", "document_number", "item_count", "closed_count", "overdue_count", "figures"]

    def get_figures(self, plan) -> dict:
        return rect_states.plan_figures(plan).as_dict()


class ItemSerializer(serializers.ModelSerializer):
    plan = serializers.IntegerField(source="plan_id")
    organisation = serializers.CharField(source="plan.organisation.full_path")
    status_label = serializers.CharField(source="get_status_display")
    is_overdue = serializers.SerializerMethodField(help_text="已逾期：未销号、非待验收，且整改时限（或新的整改时限）已过")
    awaiting = serializers.SerializerMethodField(help_text="待验收：已申请销号，等待县委巡察办验收")

    def get_is_overdue(self, item) -> bool:
        return rect_states.is_overdue(item)

    def get_awaiting(self, item) -> bool:
        return rect_states.is_awaiting(item)

    class Meta:
        model = RectificationItem
        fields = ["id", "plan", "organisation", "number", "category", "subcategory", "title", "responsible_leader",
                  "responsible_unit", "deadline", "new_deadline", "status", "status_label", "is_overdue", "awaiting",
                  "closed_at"]


class ProgressEntrySerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    reported_by = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    class Meta:
        model = ProgressEntry
        fields = ["id", "kind", "kind_label", "reported_on", "text", "reported_by", "created_at", "attachments"]

    def get_reported_by(self, entry) -> str:
        return _name(entry.reported_by)

    def get_attachments(self, entry) -> AttachmentSerializer(many=True):
        return AttachmentSerializer(self.context["files"].get(entry.pk, []), many=True, context=self.context).data


class ItemActionsSerializer(serializers.Serializer):
    step = serializers.CharField(allow_null=True, help_text="流程当前环节（assign / progress / verify）")
    may_report_progress = serializers.BooleanField(help_text="本人可报送进展、申请销号")


class ItemDetailSerializer(ItemSerializer):
    progress = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()

    class Meta(ItemSerializer.Meta):
        fields = ItemSerializer.Meta.fields + ["description", "measures", "result", "unfinished_reason", "next_steps",
                                               "progress", "history", "actions"]

    def get_progress(self, item) -> ProgressEntrySerializer(many=True):
        return ProgressEntrySerializer(self.context["entries"], many=True, context=self.context).data

    def get_history(self, item) -> HistorySerializer(many=True):
        return HistorySerializer(self.context["history"], many=True, context=self.context).data

    def get_actions(self, item) -> ItemActionsSerializer:
        return self.context["actions"]


class ProgressCreateSerializer(serializers.Serializer):
    reported_on = serializers.DateField(help_text="进展日期，不早于反馈日期、不晚于今天")
    text = serializers.CharField()
    files = serializers.ListField(child=serializers.FileField(), required=False, default=list)


class ClaimSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="整改完成情况")
    long_term = serializers.BooleanField(required=False, default=False, help_text="长期坚持")
    files = serializers.ListField(child=serializers.FileField(), min_length=1, help_text="整改佐证材料（至少一份）")


# ---------------------------------------------------------------- public notices


class NoticeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    plan = serializers.IntegerField(source="plan_id")
    organisation = serializers.CharField(source="plan.organisation.full_path")
    title = serializers.CharField()
    version = serializers.IntegerField()
    published_at = serializers.DateTimeField()
    html_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    def get_html_url(self, notice) -> str:
        return self.context["request"].build_absolute_uri(reverse("public_notices:detail", args=[notice.pk]))

    def get_pdf_url(self, notice) -> str:
        return self.context["request"].build_absolute_uri(reverse("public_notices:pdf", args=[notice.pk]))


class NoticeDetailSerializer(NoticeSerializer):
    content = serializers.JSONField(help_text="公开时冻结的通报数据（标题、各部分文字、问题清单、数字）")
