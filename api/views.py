"""/api/v1/: the UI's data and actions for devices and scripts.
Design notes: docs/architecture/api.md."""

from __future__ import annotations

from collections import defaultdict

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import chinese_dates
from governance.audit import entries_for
from governance.evidence import attachment_response, attachments_of, disagreement_warnings
from governance.models import Attachment
from grid import case_record
from grid import events as event_services
from grid.access import get_object_for_user, region_grants, require_perm, scope
from grid.event_forms import EventFilterForm
from grid.event_lists import EVENT_SORTS, EventFilters, my_tasks, region_events, with_list_columns
from grid.event_rules import may_view_events
from grid.models import Department, Event, EventCategory, Post, Region, overdue_first, parent_path
from inspection.models import PatrolReport
from inspection.patrol import circulars
from inspection.patrol.circular_access import circular_data, township_for
from inspection.patrol.report_forms import ReportFilterForm
from inspection.patrol.scoring import with_tip_off
from rectification import notices as notice_services
from rectification import services as rect_services
from rectification import states as rect_states
from rectification.models import ProgressEntry, RectificationItem, RectificationPlan
from rectification.rectification_flow import position

from . import serializers as s
from .pagination import UncountedPagination

VIEW_EVENT = "grid.view_event"
VIEW_REPORT = "inspection.view_patrolreport"
VIEW_PLAN = "rectification.view_rectificationplan"
VIEW_ITEM = "rectification.view_rectificationitem"

ERRORS = {
    400: OpenApiResponse(s.ErrorSerializer, description="输入有误（中文说明）"),
    401: OpenApiResponse(s.ErrorSerializer, description="未认证"),
    403: OpenApiResponse(s.ErrorSerializer, description="无权执行"),
    404: OpenApiResponse(s.ErrorSerializer, description="不存在或不在本人辖区"),
    429: OpenApiResponse(s.ErrorSerializer, description="写操作过于频繁"),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 404)}
WRITE_PARSERS = [MultiPartParser, FormParser, JSONParser]


def _errors(*codes):
    return {code: ERRORS[code] for code in codes}


def _paginate(view: APIView, request, queryset, serializer_class, **context):
    paginator = view.paginator
    rows = paginator.paginate_queryset(queryset, request, view=view)
    data = serializer_class(rows, many=True, context={"request": request, **context}).data
    return paginator.get_paginated_response(data)


class PagedAPIView(APIView):
    """A list: pages without a total count (drf-spectacular reads pagination_class for the schema)."""

    pagination_class = UncountedPagination

    @property
    def paginator(self):
        if not hasattr(self, "_paginator"):
            self._paginator = self.pagination_class()
        return self._paginator


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except ValueError:
        raise ValidationError({name: "须为整数。"}) from None
    return number if 0 < number < 2**62 else -1


# ---------------------------------------------------------------- me, categories


class MeView(APIView):
    name = "当前用户"  # the browsable page's title
    @extend_schema(summary="当前用户、在任岗位与权限", responses={200: s.MeSerializer, **READ_ERRORS}, tags=["用户"])
    def get(self, request):
        user = request.user
        posts = Post.objects.active().filter(user=user).select_related("role", "region", "department").order_by("id")
        data = {"id": user.pk, "username": user.get_username(), "name": user.get_full_name() or user.get_username(),
                "posts": posts, "permissions": sorted(region_grants(user).perms)}
        return Response(s.MeSerializer(data).data)


class CategoryListView(APIView):
    name = "事件类别"  # the browsable page's title
    @extend_schema(summary="事件类别（大类与小类；上报时选小类）", responses={200: s.CategorySerializer(many=True), **READ_ERRORS},
                   tags=["网格事件"])
    def get(self, request):
        categories = EventCategory.objects.filter(is_active=True).select_related("parent").order_by(
            "parent__sort_order", "sort_order", "code")
        return Response(s.CategorySerializer(categories, many=True).data)


# ---------------------------------------------------------------- regions


def _region_parents(regions) -> dict[str, int]:
    paths = {parent_path(region.path) for region in regions if region.depth > 1}
    return dict(Region.objects.filter(path__in=paths).values_list("path", "pk"))


class RegionListView(PagedAPIView):
    name = "区域"  # the browsable page's title
    @extend_schema(
        summary="本人可查看的区域（岗位所在区域及其全部下级）",
        parameters=[
            OpenApiParameter("tier", str, description="层级标识", enum=["county", "township", "village", "grid", "microgrid"]),
            OpenApiParameter("parent", int, description="只列此区域的直接下级"),
            OpenApiParameter("q", str, description="按名称搜索"),
            OpenApiParameter("reportable", bool, description="只列本人可以上报事件的区域（上报时选用）"),
        ],
        responses={200: s.RegionSerializer(many=True), **READ_ERRORS}, tags=["区域"],
    )
    def get(self, request):
        regions = scope(request.user, Region.objects.select_related("tier"), "grid.view_region")
        if request.query_params.get("reportable") in ("1", "true", "True"):
            regions = regions.filter(pk__in=scope(request.user, Region.objects.all(), "grid.add_event").values("pk"))
        tier = request.query_params.get("tier")
        if tier:
            regions = regions.filter(tier__key=tier)
        parent = _int_param(request, "parent")
        if parent is not None:
            found = Region.objects.filter(pk=parent).values_list("path", flat=True).first() or "-"
            regions = regions.filter(path__startswith=found, depth=len(found) // Region.steplen + 1)
        q = (request.query_params.get("q") or "").strip()[:50]
        if q:
            regions = regions.filter(name__icontains=q)
        paginator = self.paginator
        rows = paginator.paginate_queryset(regions.order_by("path"), request, view=self)
        data = s.RegionSerializer(rows, many=True, context={"parents": _region_parents(rows)}).data
        return paginator.get_paginated_response(data)


class RegionDetailView(APIView):
    name = "区域详情"  # the browsable page's title
    @extend_schema(summary="区域详情（含可选边界）", responses={200: s.RegionDetailSerializer, **READ_ERRORS}, tags=["区域"])
    def get(self, request, pk: int):
        region = get_object_for_user(request.user, Region.objects.select_related("tier"), "grid.view_region", pk=pk)
        return Response(s.RegionDetailSerializer(region, context={"parents": _region_parents([region])}).data)


# ---------------------------------------------------------------- events


def _checked(form):
    """A list's filter form, refused (400, each parameter's Chinese message) when a value is invalid:
    the page shows the error beside the field and lists the rest; a program would silently get the
    unfiltered list."""
    if form.is_bound and not form.is_valid():
        raise ValidationError({"detail": [message if name not in form.fields else f"{form.fields[name].label}（{name}）：{message}"
                                          for name, messages in form.errors.items() for message in messages]})
    return form


def _event_filters(request) -> EventFilters:
    """The event list's filters, decoded by the UI's own filter form."""
    return _checked(EventFilterForm(request.query_params or None)).filters()


EVENT_FILTER_PARAMS = [
    OpenApiParameter("status", str, description="状态；open 为全部未办结",
                     enum=["open"] + list(Event.Status.values)),
    OpenApiParameter("category", int, description="类别编号（大类含其小类）"),
    OpenApiParameter("tier", str, description="当前处置层级", enum=["county", "township", "village", "grid", "microgrid"]),
    OpenApiParameter("source", str, description="来源", enum=list(Event.Source.values)),
    OpenApiParameter("region", int, description="区域编号：记在该区域及其下级的事件，以及记在其上级、位置在该区域边界内的事件（与一张图的计数相同）"),
    OpenApiParameter("overdue", bool, description="仅超期"),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="上报日期起"),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="上报日期止"),
    OpenApiParameter("q", str, description="标题或描述全文搜索"),
    OpenApiParameter("sort", str, description="排序：空为最新上报在前；oldest 最早上报在前；occurred 发生时间由近及远；"
                     "overdue 超期的在前", enum=[key for key in EVENT_SORTS if key]),
]


def _event_for(user, pk) -> Event:
    queryset = Event.objects.select_related(
        "region__tier", "handling_region__tier", "category__parent", "reporter", "department", "duplicate_of")
    return get_object_for_user(user, queryset, VIEW_EVENT, pk=pk)


def _event_detail(request, event: Event) -> dict:
    event = _event_for(request.user, event.pk)
    attachments = list(attachments_of(event).order_by("id"))
    warnings = {
        a.pk: disagreement_warnings(a, occurred_at=event.occurred_at, latitude=event.latitude, longitude=event.longitude)
        for a in attachments if a.kind == "image"
    }
    decisions = event_services.available_decisions(request.user, event)
    step = next(iter(decisions), None) or (event_services.current_step(event) if event.is_open else None)
    actions = {
        "step": step, "decisions": sorted(decisions.get(step, ())) if step else [],
        "may_rate": event.status == Event.Status.CLOSED and event.rating is None and request.user.pk == event.reporter_id,
    }
    context = {
        "request": request, "attachments": attachments, "warnings": warnings, "history": list(entries_for(event)),
        "timeline": case_record.timeline(event), "actions": actions,
        "attachment_url": lambda a: reverse("api:event_attachment", args=[event.pk, a.pk]),
    }
    return s.EventDetailSerializer(event, context=context).data


class EventListView(PagedAPIView):
    name = "辖区事件"  # the browsable page's title
    parser_classes = WRITE_PARSERS

    @extend_schema(summary="辖区事件（与“辖区事件”页面相同的范围与筛选，最新在前）", parameters=EVENT_FILTER_PARAMS,
                   responses={200: s.EventSerializer(many=True), **_errors(400, 401, 403)}, tags=["网格事件"])
    def get(self, request):
        if not may_view_events(request.user):
            raise PermissionDenied("您没有查看事件的权限。")
        events = with_list_columns(region_events(request.user, _event_filters(request)))
        return _paginate(self, request, events, s.EventSerializer)

    @extend_schema(
        summary="上报事件（可附照片、视频、文档；同一提交标识只产生一个事件）",
        request={"multipart/form-data": s.EventCreateSerializer, "application/json": s.EventCreateSerializer},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                     description="提交标识（也可放在 idempotency_key 字段）")],
        responses={201: s.EventDetailSerializer, 200: OpenApiResponse(s.EventDetailSerializer, description="该标识已提交过"),
                   **_errors(400, 401, 403, 429)},
        tags=["网格事件"],
    )
    def post(self, request):
        serializer = s.EventCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        key = data.get("idempotency_key") or request.headers.get("Idempotency-Key") or ""

        region = Region.objects.select_related("tier").filter(pk=data["region"]).first()
        if region is None or not request.user.has_perm("grid.add_event", region):
            raise ValidationError({"region": "请选择您有岗位的区域。"})
        category = EventCategory.objects.filter(pk=data["category"], is_active=True).first()
        if category is None:
            raise ValidationError({"category": "未知的事件类别。"})
        event, created = event_services.report_event(
            by=request.user, region=region, category=category, title=data["title"], description=data["description"],
            occurred_at=data["occurred_at"], urgency=data["urgency"], source=data["source"],
            latitude=data.get("latitude"), longitude=data.get("longitude"), address=data.get("address", ""),
            idempotency_key=key, files=request.FILES.getlist("files"), attributes=data.get("attributes") or {},
        )
        return Response(_event_detail(request, event), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class EventDetailView(APIView):
    name = "事件详情"  # the browsable page's title
    @extend_schema(summary="事件详情：佐证、办理记录、本人现在可办的环节与决定",
                   responses={200: s.EventDetailSerializer, **READ_ERRORS}, tags=["网格事件"])
    def get(self, request, pk: int):
        return Response(_event_detail(request, _event_for(request.user, pk)))


class EventStepView(APIView):
    """POST one step decision; the event must be visible (404), the step the user's (403)."""

    parser_classes = WRITE_PARSERS
    serializer_class = None

    def post(self, request, pk: int):
        event = _event_for(request.user, pk)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.take(request, event, serializer.validated_data, request.FILES.getlist("files"))
        return Response(_event_detail(request, event))


def _step_schema(summary, serializer):
    return extend_schema(
        summary=summary, request={"multipart/form-data": serializer, "application/json": serializer},
        responses={200: s.EventDetailSerializer, **_errors(400, 401, 403, 404, 429)}, tags=["网格事件"],
    )


class EventHandleView(EventStepView):
    name = "本级处置"  # the browsable page's title
    serializer_class = s.HandleSerializer

    @_step_schema("本级处置：办结、上报上一级、合并、驳回（网格），或派单（乡镇）", s.HandleSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def take(self, request, event, data, files):
        department = Department.objects.filter(pk=data["department"]).first() if data["department"] else None
        duplicate_of = None
        if data["decision"] == "merge" and data["duplicate_of"]:
            duplicate_of = Event.objects.filter(pk=data["duplicate_of"]).first()
        event_services.handle_event(event, by=request.user, decision=data["decision"], result=data["result"],
                                    reason=data["reason"], department=department, duplicate_of=duplicate_of, files=files,
                                    opinion=data["opinion"], requirements=data["requirements"], due_on=data["due_on"])


class EventDepartmentView(EventStepView):
    name = "部门办理"  # the browsable page's title
    serializer_class = s.DepartmentStepSerializer

    @_step_schema("部门办理：办结（附佐证）或退回乡镇", s.DepartmentStepSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def take(self, request, event, data, files):
        event_services.department_handle_event(event, by=request.user, decision=data["decision"], result=data["result"],
                                               reason=data["reason"], files=files)


class EventVerifyView(EventStepView):
    name = "核实"  # the browsable page's title
    serializer_class = s.VerifySerializer

    @_step_schema("核实：满意结案，或不满意退回", s.VerifySerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def take(self, request, event, data, files):
        event_services.verify_event(event, by=request.user, satisfied=data["decision"] == "satisfied", reason=data["reason"])


class EventRateView(EventStepView):
    name = "评价"  # the browsable page's title
    serializer_class = s.RateSerializer

    @_step_schema("评价满意度（上报人，办结后一次）", s.RateSerializer)
    def post(self, request, pk: int):
        return super().post(request, pk)

    def take(self, request, event, data, files):
        event_services.rate_event(event, by=request.user, rating=data["rating"], comment=data["comment"])


class MyTasksView(PagedAPIView):
    name = "我的待办"  # the browsable page's title
    @extend_schema(summary="我的待办：本人现在可以办理的事件，超期在前", responses={200: s.EventSerializer(many=True), **READ_ERRORS},
                   tags=["网格事件"])
    def get(self, request):
        tasks = with_list_columns(my_tasks(request.user)).order_by(overdue_first(), "id")
        return _paginate(self, request, tasks, s.EventSerializer)


def _attachment_of(owner, attachment_pk: int) -> Attachment:
    attachment = attachments_of(owner).filter(pk=attachment_pk).first()
    if attachment is None:
        raise Http404("附件不存在。")
    return attachment


# What governance.evidence accepts (decided by content): the file is served with its own type.
EVIDENCE_TYPES = ["image/jpeg", "image/png", "image/webp", "video/mp4", "video/quicktime", "video/webm",
                  "application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
FILE_RESPONSE = {**{(200, media_type): OpenApiTypes.BINARY for media_type in EVIDENCE_TYPES}, **READ_ERRORS}


class EventAttachmentView(APIView):
    name = "事件佐证文件"  # the browsable page's title
    @extend_schema(summary="下载事件的佐证文件", parameters=[OpenApiParameter("thumbnail", bool, description="照片缩略图")],
                   responses=FILE_RESPONSE, tags=["网格事件"])
    def get(self, request, pk: int, attachment_pk: int):
        event = _event_for(request.user, pk)
        attachment = _attachment_of(event, attachment_pk)
        thumbnail = request.query_params.get("thumbnail") in ("1", "true") and bool(attachment.thumbnail)
        return attachment_response(attachment, thumbnail=thumbnail)


# ---------------------------------------------------------------- big patrol: reports and scores


def _report_queryset():
    return with_tip_off(PatrolReport.objects.select_related("village", "township", "item__lead_department", "reporter",
                                                            "verified_by", "fraud_flagged_by"))


def _report_filters(request, reports):
    return _checked(ReportFilterForm(request.query_params or None, user=request.user)).apply(reports)


class PatrolReportListView(PagedAPIView):
    name = "村级上报"  # the browsable page's title
    @extend_schema(
        summary="村级上报（与“村级上报”页面相同的范围与筛选）",
        parameters=[OpenApiParameter("village", int, description="村（居）编号"),
                    OpenApiParameter("item", int, description="目录事项编号"),
                    OpenApiParameter("verdict", str, enum=list(PatrolReport.Verdict.values), description="核实结果"),
                    OpenApiParameter("month", str, description="上报月份 YYYY-MM"),
                    OpenApiParameter("q", str, description="搜索编号、事项名、地点、问题描述（空格分隔的词须都出现）")],
        responses={200: s.PatrolReportSerializer(many=True), **_errors(400, 401, 403)}, tags=["大巡查"],
    )
    def get(self, request):
        require_perm(request.user, VIEW_REPORT)
        reports = _report_filters(request, scope(request.user, _report_queryset(), VIEW_REPORT)).order_by("-reported_on", "-id")
        return _paginate(self, request, reports, s.PatrolReportSerializer)


def _report_for(user, pk) -> PatrolReport:
    return get_object_for_user(user, _report_queryset(), VIEW_REPORT, pk=pk)


class PatrolReportDetailView(APIView):
    name = "村级上报详情"  # the browsable page's title
    @extend_schema(summary="村级上报详情：佐证与办理记录", responses={200: s.PatrolReportDetailSerializer, **READ_ERRORS},
                   tags=["大巡查"])
    def get(self, request, pk: int):
        report = _report_for(request.user, pk)
        attachments = list(attachments_of(report).order_by("id"))
        warnings = {a.pk: disagreement_warnings(a, occurred_at=report.occurred_at) for a in attachments if a.kind == "image"}
        context = {"request": request, "attachments": attachments, "warnings": warnings,
                   "history": list(entries_for(report)),
                   "attachment_url": lambda a: reverse("api:patrol_report_attachment", args=[report.pk, a.pk])}
        return Response(s.PatrolReportDetailSerializer(report, context=context).data)


class PatrolReportAttachmentView(APIView):
    name = "村级上报佐证文件"  # the browsable page's title
    @extend_schema(summary="下载村级上报的佐证文件", responses=FILE_RESPONSE, tags=["大巡查"])
    def get(self, request, pk: int, attachment_pk: int):
        return attachment_response(_attachment_of(_report_for(request.user, pk), attachment_pk))


class PatrolScoresView(APIView):
    name = "大巡查得分"  # the browsable page's title
    @extend_schema(
        summary="大巡查月度得分或季度考评（与考评通报页面相同：乡镇及以上看实时数据，村（居）只看本镇已发布的通报）",
        parameters=[OpenApiParameter("township", int, required=True, description="乡镇编号"),
                    OpenApiParameter("month", str, description="月份 YYYY-MM（与 quarter 二选一）"),
                    OpenApiParameter("quarter", str, description="季度 YYYYQn")],
        responses={200: s.ScoresSerializer, **_errors(400, 401, 403, 404)}, tags=["大巡查"],
    )
    def get(self, request):
        township_pk = _int_param(request, "township")
        if township_pk is None:
            raise ValidationError({"township": "请指定乡镇编号。"})
        township, full = township_for(request.user, township_pk)
        if request.query_params.get("quarter"):
            kind, period = "quarter", chinese_dates.parse_quarter(request.query_params["quarter"])
            if period is None:
                raise ValidationError({"quarter": circulars.QUARTER_ERROR})
        else:
            kind, period = "month", chinese_dates.parse_month(request.query_params.get("month") or "")
            if period is None:
                raise ValidationError({"month": circulars.MONTH_ERROR})
        data, circular = circular_data(township, full, kind, period)
        if data is None:
            raise NotFound("该期考评尚未发布。")
        rows = data.get("ranking") if kind == "month" else data.get("rows")
        return Response(s.ScoresSerializer({
            "township": township, "kind": kind, "period": data.get("period", ""), "title": data.get("title", ""),
            "published": circular is not None and data is circular.scores, "rows": rows or [],
        }).data)


# ---------------------------------------------------------------- rectification


def _plans(user):
    return rect_states.with_plan_figures(
        scope(user, RectificationPlan.objects.select_related("organisation", "round"), VIEW_PLAN))


class PlanListView(PagedAPIView):
    name = "整改方案"  # the browsable page's title
    @extend_schema(summary="整改方案（县委巡察办看全部，党组织看本单位及所辖村）",
                   responses={200: s.PlanSerializer(many=True), **_errors(401, 403)}, tags=["整改"])
    def get(self, request):
        require_perm(request.user, VIEW_PLAN)
        return _paginate(self, request, _plans(request.user).order_by("organisation__path", "-id"), s.PlanSerializer)


class PlanDetailView(APIView):
    name = "整改方案详情"  # the browsable page's title
    @extend_schema(summary="整改方案", responses={200: s.PlanSerializer, **READ_ERRORS}, tags=["整改"])
    def get(self, request, pk: int):
        plan = _plans(request.user).filter(pk=pk).first()
        if plan is None:
            raise Http404("对象不存在或无权查看。")
        return Response(s.PlanSerializer(plan).data)


def _items(user):
    return scope(user, RectificationItem.objects.select_related("plan__organisation"), VIEW_ITEM)


def _item_for(user, pk) -> RectificationItem:
    return get_object_for_user(user, RectificationItem.objects.select_related("plan__organisation", "plan__round"),
                               VIEW_ITEM, pk=pk)


class ItemListView(PagedAPIView):
    name = "整改事项"  # the browsable page's title
    @extend_schema(
        summary="整改事项",
        parameters=[OpenApiParameter("plan", int, description="整改方案编号"),
                    OpenApiParameter("status", str, enum=list(rect_states.FIGURES),
                                     description="状态（已整改含已整改到位；另有 awaiting 待验收、closed 已销号、"
                                                 "no_deadline 无整改时限）"),
                    OpenApiParameter("overdue", bool, description="仅逾期")],
        responses={200: s.ItemSerializer(many=True), **_errors(401, 403)}, tags=["整改"],
    )
    def get(self, request):
        require_perm(request.user, VIEW_ITEM)
        items = _items(request.user)
        plan = _int_param(request, "plan")
        if plan is not None:
            items = items.filter(plan_id=plan)
        item_status = request.query_params.get("status")
        if item_status in rect_states.FIGURES:  # the reported statuses and 待验收 / 已销号 / 无整改时限
            items = items.filter(rect_states.q_figure(item_status))
        if request.query_params.get("overdue") in ("1", "true", "True"):
            items = items.filter(rect_states.q_overdue())
        return _paginate(self, request, items.order_by("plan__organisation__path", "plan_id", "number"), s.ItemSerializer)


def _item_detail(request, item: RectificationItem) -> dict:
    item = _item_for(request.user, item.pk)
    entries = list(item.progress.select_related("reported_by").order_by("reported_on", "id"))
    files = defaultdict(list)
    for attachment in Attachment.objects.filter(owner_type=ContentType.objects.get_for_model(ProgressEntry),
                                                owner_id__in=[e.pk for e in entries]).order_by("id"):
        files[attachment.owner_id].append(attachment)
    step = position(item)
    actions = {"step": step, "may_report_progress": item.closed_at is None and step != "verify"
               and rect_services.may_report(request.user, item)}
    context = {"request": request, "entries": entries, "files": files, "history": list(entries_for(item)),
               "actions": actions,
               "attachment_url": lambda a: reverse("api:item_attachment", args=[item.pk, a.pk])}
    return s.ItemDetailSerializer(item, context=context).data


class ItemDetailView(APIView):
    name = "整改事项详情"  # the browsable page's title
    @extend_schema(summary="整改事项详情：进展与佐证、办理记录、本人可否报送进展",
                   responses={200: s.ItemDetailSerializer, **READ_ERRORS}, tags=["整改"])
    def get(self, request, pk: int):
        return Response(_item_detail(request, _item_for(request.user, pk)))


_ITEM_WRITE = {**_errors(400, 401, 403, 404, 429)}


class ItemProgressView(APIView):
    name = "报送整改进展"  # the browsable page's title
    parser_classes = WRITE_PARSERS

    @extend_schema(summary="报送整改进展（可附佐证；责任单位党组织）",
                   request={"multipart/form-data": s.ProgressCreateSerializer, "application/json": s.ProgressCreateSerializer},
                   responses={201: s.ItemDetailSerializer, **_ITEM_WRITE}, tags=["整改"])
    def post(self, request, pk: int):
        item = _item_for(request.user, pk)
        serializer = s.ProgressCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rect_services.report_progress(item, by=request.user, reported_on=data["reported_on"], text=data["text"],
                                      files=request.FILES.getlist("files"))
        return Response(_item_detail(request, item), status=status.HTTP_201_CREATED)


class ItemClaimView(APIView):
    name = "申请销号"  # the browsable page's title
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(summary="申请销号（附整改佐证；责任单位党组织）", request={"multipart/form-data": s.ClaimSerializer},
                   responses={201: s.ItemDetailSerializer, **_ITEM_WRITE}, tags=["整改"])
    def post(self, request, pk: int):
        item = _item_for(request.user, pk)
        serializer = s.ClaimSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        rect_services.claim_done(item, by=request.user, text=data["text"], files=request.FILES.getlist("files"),
                                 long_term=data["long_term"])
        return Response(_item_detail(request, item), status=status.HTTP_201_CREATED)


class ItemAttachmentView(APIView):
    name = "整改佐证文件"  # the browsable page's title
    @extend_schema(summary="下载整改进展的佐证文件", responses=FILE_RESPONSE, tags=["整改"])
    def get(self, request, pk: int, attachment_pk: int):
        item = _item_for(request.user, pk)
        attachment = Attachment.objects.filter(
            pk=attachment_pk, owner_type=ContentType.objects.get_for_model(ProgressEntry),
            owner_id__in=item.progress.values("pk")).first()
        if attachment is None:
            raise Http404("附件不存在。")
        return attachment_response(attachment)


# ---------------------------------------------------------------- public notices


class NoticeListView(PagedAPIView):
    name = "公开通报"  # the browsable page's title
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(summary="已公开的整改进展情况通报（无需认证；草稿与未公开版本不出现）",
                   responses={200: s.NoticeSerializer(many=True)}, auth=[], tags=["公开通报"])
    def get(self, request):
        notices = notice_services.published_notices().select_related("plan__organisation").order_by("-published_at", "-id")
        return _paginate(self, request, notices, s.NoticeSerializer)


class NoticeDetailView(APIView):
    name = "公开通报详情"  # the browsable page's title
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(summary="一份已公开的通报（冻结内容）", responses={200: s.NoticeDetailSerializer, 404: ERRORS[404]},
                   auth=[], tags=["公开通报"])
    def get(self, request, pk: int):
        notice = notice_services.published_notices().select_related("plan__organisation").filter(pk=pk).first()
        if notice is None:
            raise Http404("通报不存在或尚未公开。")
        return Response(s.NoticeDetailSerializer(notice, context={"request": request}).data)

