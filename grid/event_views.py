"""Pages of grid events: report, lists, my tasks, detail with the step forms, export, flow chart.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from governance.evidence import EvidenceRejected, disagreement_warnings
from governance.kept_sql import BIGINT_LIMIT, KeptQuery
from governance.paging import UncountedPage
from jobs.exports import export_threshold

from . import access_cache, case_record, region_map
from . import events as event_services
from .access import require_perm
from .category_attributes import shown_attributes
from .category_catalogue import catalogue_cache
from .event_export import EXPORT_LIMIT, export_events
from .event_forms import EventFilterForm, EventReportForm, RatingForm, StepForm
from .event_lists import (
    STEP_BY_STATUS,
    EventFilters,
    PageEvents,
    attach_page_relations,
    events_for_list_page,
    merge_candidates,
    my_tasks,
    open_step_label,
    region_events,
    with_list_columns,
)
from .event_rows import event_list_rows, my_task_rows
from .event_rules import may_view_events, step_token
from .flow_chart import policy_bpmn, policy_svg
from .flow_policy import DEFAULT_POLICY, policy_for_user, policy_of
from .job_kinds import start_event_export
from .list_forms import MyTasksFilterForm
from .models import Department, Event, Region, paths_from_root
from .region_memo import regions_by_id

PAGE_SIZE = 50


def _error_messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    return [str(exc)]


class GridIndexView(LoginRequiredMixin, View):
    """The area's landing page: my tasks for those who have any, the event list for the others."""

    def get(self, request):
        if my_tasks(request.user).exists() or not may_view_events(request.user):
            return redirect("grid:my_tasks")
        return redirect("grid:events")


def my_tasks_for(user, form: MyTasksFilterForm):
    """My tasks (grid.event_lists.my_tasks) with the list's columns, filtered and ordered by `form`."""
    return PageEvents(form.apply(my_tasks(user)))


class MyTasksView(LoginRequiredMixin, TemplateView):
    template_name = "grid/my_tasks.html"

    def get_context_data(self, **kwargs):
        form = MyTasksFilterForm(self.request.GET or None, step_labels=STEP_LABELS)
        page = UncountedPage(my_tasks_for(self.request.user, form), self.request.GET.get("page"), PAGE_SIZE)
        attach_page_relations(page.object_list)
        for event in page:
            event.step_label = open_step_label(event)
        empty_text = "没有符合条件的待办事件。" if self.request.GET else "暂无待办事件。"
        return super().get_context_data(page_title="我的待办", form=form, page=page, step_labels=STEP_LABELS,
                                        filters_html=filter_bar_html(self.request, "grid:my_tasks", lambda: form),
                                        rows=my_task_rows(page, timezone.now(), empty_text), **kwargs)


STEP_LABELS = {"handle": "本级处置", "department": "部门办理", "verify": "核实办结"}


def filter_bar(request, url_name: str, make_form, unfiltered):
    """The list's filter bar as HTML and the filters chosen (filter_bar_html); `make_form(data)` builds the
    form only when it is needed."""
    if request.GET:
        form = make_form(request.GET)
        return filter_bar_html(request, url_name, lambda: form), form.filters()
    return filter_bar_html(request, url_name, lambda: make_form(None)), unfiltered


def filter_bar_html(request, url_name: str, make_form):
    """The filter bar of the form `make_form()` builds. With no query string the bar is the same on every
    visit (its choices follow from what the user may see), so it is rendered once and kept with the
    user's access snapshot."""
    clear_url = reverse(url_name)

    def render() -> str:
        return render_to_string("governance/list_filters.html", {"form": make_form(), "clear_url": clear_url},
                                request=request)

    if request.GET:
        return mark_safe(render())
    return mark_safe(access_cache.fragment(request.user, f"filter_bar|{url_name}", render))


class EventListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/event_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        if not may_view_events(user):
            raise PermissionDenied("您没有查看事件的权限。")
        filters_html, filters = filter_bar(self.request, "grid:events",
                                           lambda data: EventFilterForm(data, user=user), EventFilters())
        page = UncountedPage(events_for_list_page(user, filters), self.request.GET.get("page"), PAGE_SIZE)
        attach_page_relations(page.object_list)
        return super().get_context_data(
            page_title="辖区事件", filters_html=filters_html, page=page, rows=event_list_rows(page, "没有符合条件的事件。"),
            may_export=self.request.user.has_perm("grid.export_event"),
            may_report=self.request.user.has_perm("grid.add_event"),
            export_query=self.request.GET.urlencode(), **kwargs,
        )


class EventExportView(LoginRequiredMixin, View):
    """The list as an .xlsx file: the same filters, scoped by grid.export_event."""

    def get(self, request):
        require_perm(request.user, "grid.export_event")
        form = EventFilterForm(request.GET or None, user=request.user)
        events = with_list_columns(region_events(request.user, form.filters(), perm="grid.export_event"))
        if events.count() > export_threshold():  # a large list runs as a job with a progress page
            return redirect("jobs:detail", pk=start_event_export(request.user, request.GET).pk)
        content, truncated = export_events(events, by=request.user)
        response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        filename = f"网格事件_{timezone.localtime():%Y%m%d_%H%M}.xlsx"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        if truncated:
            response["X-Export-Truncated"] = str(EXPORT_LIMIT)
        return response


class EventReportView(LoginRequiredMixin, TemplateView):
    template_name = "grid/event_report.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("grid.add_event"):
            raise PermissionDenied("您没有上报事件的岗位。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=EventReportForm(user=request.user), page_title="上报事件"))

    def post(self, request):
        form = EventReportForm(request.POST, user=request.user)
        event, errors = submit_report(request, form)
        if event is not None:
            return redirect("grid:event_detail", pk=event.pk)
        context = self.get_context_data(form=form, errors=errors, page_title="上报事件")
        return self.render_to_response(context, status=422)


def submit_report(request, form: EventReportForm) -> tuple[Event | None, list[str]]:
    """Report what a bound report form holds (the desktop and the phone page): the event, or the errors.

    The success message says where the event went; a repeated submission says it was not created again."""
    if not form.is_valid():
        return None, []
    data = form.cleaned_data
    try:
        event, created = event_services.report_event(
            by=request.user, region=data["region"], category=data["category"], title=data["title"],
            description=data["description"], occurred_at=data["occurred_at"], urgency=data["urgency"],
            source=data["source"], latitude=data["latitude"], longitude=data["longitude"],
            address=data["address"], idempotency_key=data["idempotency_key"],
            files=request.FILES.getlist("files"), attributes=data["attributes"],
        )
    except (ValidationError, EvidenceRejected) as exc:
        return None, _error_messages(exc)
    url = reverse("grid:event_detail", args=[event.pk])
    if created:
        messages.success(request, format_html('事件 <a href="{}">#{}</a> 已上报，进入{}的处置环节。<a href="{}">查看办理进度 →</a>',
                                              url, event.pk, event.handling_region.name, url))
    else:
        messages.info(request, format_html('该上报已提交过（事件 <a href="{}">#{}</a>），未重复创建。', url, event.pk))
    return event, []


# The detail page's own read of the event, compiled once per process (governance.kept_sql).
EVENT_ROW = KeptQuery(lambda pk: Event.objects.filter(pk=pk).annotate(
    has_duplicates=Exists(Event.objects.filter(duplicate_of=OuterRef("pk")))))


def _event_for(user, pk) -> Event:
    """The event, if the user may see it (else 404), with its regions and category attached.

    Its own row (and whether reports were merged into it) and its two regions (kept by the process),
    the category from the catalogue: the one query with six joins and the scope subquery took
    PostgreSQL several milliseconds to plan. The check is the one scope() makes (region grants, or a
    grant on this event), asked of this event."""
    event = next(iter(EVENT_ROW(pk)), None) if 0 < pk < BIGINT_LIMIT else None
    if event is None:
        raise Http404("对象不存在或无权查看。")
    regions = regions_by_id({event.region_id, event.handling_region_id})
    event.region, event.handling_region = regions[event.region_id], regions[event.handling_region_id]
    if not user.has_perm("grid.view_event", event):
        raise Http404("对象不存在或无权查看。")
    event.category = catalogue_cache.get().categories[event.category_id]
    return event


class EventDetailView(LoginRequiredMixin, TemplateView):
    template_name = "grid/event_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        event = kwargs.pop("event", None) or _event_for(user, self.kwargs["pk"])
        case, files = case_record.timeline_and_files(event)
        roles = {item.attachment.pk: item.role for step in case for item in step.evidence}
        attachments = []
        for attachment in files:
            role = roles.get(attachment.pk, "佐证材料")
            # A report photo is checked against the reported time and place; a disposal photo is taken later.
            warnings = disagreement_warnings(
                attachment, occurred_at=event.occurred_at, latitude=event.latitude, longitude=event.longitude,
            ) if attachment.kind == "image" and not role.startswith("处置") else []
            attachments.append((attachment, warnings, role))
        # before (上报) first, then after (处置), each in upload order
        attachments.sort(key=lambda row: (0 if row[2].startswith("上报") else 1 if row[2].startswith("处置") else 2))
        decisions = event_services.available_decisions(user, event)
        step = STEP_BY_STATUS.get(event.status) if event.is_open else None
        context = super().get_context_data(
            page_title=f"事件 #{event.pk}", event=event, attachments=attachments, decisions=decisions,
            step=step, step_label=open_step_label(event) if step else "", step_at=step_token(event),
            decision_labels=event_services.DECISION_LABELS, attribute_rows=shown_attributes(event),
            departments=event_services.dispatch_departments(event) if "handle" in decisions else [],
            default_department=event_services.default_department(event) if "handle" in decisions else None,
            merge_candidates=merge_candidates(user, event) if "merge" in decisions.get("handle", ()) else [],
            dispatch_max_day=timezone.localdate() + datetime.timedelta(days=event_services.DISPATCH_MAX_DAYS),
            today=timezone.localdate(),
            case=case, disposal_result=case_record.disposal_result(event),
            duplicates=event.duplicates.all()[:20] if getattr(event, "has_duplicates", True) else [],
            may_rate=event.status == Event.Status.CLOSED and event.rating is None and user.pk == event.reporter_id,
            verified_by_others=(event.status == Event.Status.VERIFYING and event.disposed_by_id == user.pk
                                and "verify" not in decisions),
            rating_form=RatingForm(),
            **kwargs,
        )
        return context




# A step form shown before someone else took the step (grid.event_rules.step_token no longer matches).
STEP_TAKEN = "该环节已由他人办理，请刷新后查看当前进展。"


class EventActionView(LoginRequiredMixin, View):
    """POST a step decision (handle / department / verify) or a rating; errors re-render the detail page."""

    def get(self, request, pk, action):
        return redirect("grid:event_detail", pk=pk)

    def post(self, request, pk, action):
        event = Event.objects.filter(pk=pk).first()
        if event is None or not request.user.has_perm("grid.view_event", event):
            # Outside the event's region it answers as for a missing event: a step URL tells nobody
            # which events exist elsewhere. Inside, a wrong role is refused by the service (403).
            raise Http404("事件不存在或无权查看。")
        files = request.FILES.getlist("files")
        try:
            if action == "rate":
                form = RatingForm(request.POST)
                if not form.is_valid():
                    raise event_services.EventError(form.problems())
                event_services.rate_event(event, by=request.user, rating=form.cleaned_data["rating"],
                                          comment=form.cleaned_data["comment"])
                messages.success(request, "感谢评价。")
                return HttpResponseRedirect(reverse("grid:event_detail", args=[pk]))
            form = StepForm(request.POST)
            if not form.is_valid():
                raise event_services.EventError(form.error_messages_list() or "提交内容无效，请重试。")
            data = form.cleaned_data
            decision = data["decision"]
            if data["step_at"] and data["step_at"] != step_token(event):
                raise event_services.EventError(STEP_TAKEN)
            if action == "handle":
                department = duplicate_of = None
                if data["department"]:
                    department = Department.objects.filter(pk=data["department"]).first()
                if decision == "merge":
                    chosen = data["duplicate_of"] or data["duplicate_of_number"]  # a candidate, else a typed number
                    duplicate_of = Event.objects.filter(pk=chosen).first() if chosen else None
                event_services.handle_event(
                    event, by=request.user, decision=decision, result=data["result"], reason=data["reason"],
                    department=department, duplicate_of=duplicate_of, files=files,
                    opinion=data["opinion"], requirements=data["requirements"], due_on=data["due_on"],
                )
            elif action == "department":
                event_services.department_handle_event(
                    event, by=request.user, decision=decision, result=data["result"], reason=data["reason"], files=files,
                )
            elif action == "verify":
                if decision not in ("satisfied", "return"):
                    raise event_services.EventError("无效的核实结论。")
                event_services.verify_event(event, by=request.user, satisfied=decision == "satisfied", reason=data["reason"])
            else:
                raise event_services.EventError("未知的办理操作。")
        except (ValidationError, EvidenceRejected) as exc:
            view = EventDetailView(request=request, kwargs={"pk": pk})
            context = view.get_context_data(event=_event_for(request.user, pk), errors=_error_messages(exc),
                                            posted=request.POST, pk=pk)
            return view.render_to_response(context, status=422)
        messages.success(request, f"已办理：{event_services.DECISION_LABELS.get(decision, decision)}。")
        return HttpResponseRedirect(reverse("grid:event_detail", args=[pk]))


class EventChartView(LoginRequiredMixin, TemplateView):
    """The EventFlow chart; for one event, its steps so far highlighted."""

    template_name = "grid/event_chart.html"

    def get(self, request, pk=None):
        event = _event_for(request.user, pk) if pk else None
        if not event and not may_view_events(request.user):
            raise PermissionDenied("您没有查看事件的权限。")
        # A case's chart is its own policy version's; the flow chart is the one in force where the user works.
        policy = policy_of(event) if event else (policy_for_user(request.user) or DEFAULT_POLICY)
        if request.GET.get("format") == "bpmn":
            response = HttpResponse(policy_bpmn(policy), content_type="application/xml")
            response["Content-Disposition"] = 'attachment; filename="EventFlow.bpmn"'
            return response
        svg = policy_svg(policy, event)
        if request.GET.get("format") == "svg":
            return HttpResponse(svg, content_type="image/svg+xml")
        title = f"事件 #{event.pk} 流程图" if event else "网格事件流程图"
        return self.render_to_response(self.get_context_data(page_title=title, event=event, svg=svg))


class RegionMapView(LoginRequiredMixin, TemplateView):
    """一张图: the user's area with its open events (grid.region_map); ?region= narrows to an area below."""

    template_name = "grid/region_map.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "grid.view_event")
        raw = self.request.GET.get("region", "")
        root = region_map.map_root(user, int(raw) if raw.isdigit() else None)
        if root is None:
            raise PermissionDenied("您没有查看事件的岗位。")
        data = region_map.build_map(user, root, tile_key=settings.TIANDITU_KEY)
        parents = list(Region.objects.filter(path__in=paths_from_root(root.path)[:-1])
                       .order_by("depth")) if root.depth > 1 else []
        top = region_map.map_root(user)
        crumbs = [region for region in parents if top and region.path.startswith(top.path)]
        return super().get_context_data(
            page_title="一张图", map=data, svg=mark_safe(data.svg), tiles=data.tiles,  # noqa: S308 — every text escaped in region_map
            crumbs=crumbs, legend=[("超期", region_map.OVERDUE_COLOUR)] + [
                (label, region_map.URGENCY_COLOURS[value]) for value, label in Event.Urgency.choices],
            **kwargs,
        )
