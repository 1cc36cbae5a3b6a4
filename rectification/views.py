"""Pages of rectification (整改): plans, items with their progress, and the dashboard.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

import datetime
from collections import defaultdict
from itertools import groupby
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.db.models.functions import Substr, TruncDate
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views import View
from django.views.generic import TemplateView

from governance.audit import entries_for
from governance.evidence import attachment_response
from governance.listing import xlsx_export
from governance.models import Attachment
from governance.paging import UncountedPage
from grid.access import get_object_for_user, require_perm, scope
from grid.models import Region
from inspection.rounds.round_services import rounds_visible, township_rounds_visible
from rectification.rectification_flow import office_verifies, position, rectification_flow_svg

from . import forms as rforms
from . import services, states
from .list_forms import ItemFilterForm, PlanFilterForm, organisation_label
from .models import ProgressEntry, RectificationItem, RectificationPlan

VIEW_PLAN = "rectification.view_rectificationplan"
VIEW_ITEM = "rectification.view_rectificationitem"
Status = RectificationItem.Status
STATUS_CSS = {
    Status.PENDING: "gv-tag--danger", Status.IN_PROGRESS: "gv-tag--warn", Status.DONE: "",
    Status.FULLY_DONE: "gv-tag--ok", Status.ONGOING: "gv-tag--ok",
}
PAGE_SIZE = 100
FIGURE_CSS = {"pending": "gv-tag--danger", "in_progress": "gv-tag--warn", "fully_done": "gv-tag--ok",
              "ongoing": "gv-tag--ok", "closed": "gv-tag--ok", "overdue": "gv-tag--danger", "no_deadline": "gv-tag--warn"}


def _errors(exc: Exception) -> list[str]:
    return list(exc.messages) if isinstance(exc, ValidationError) else [str(exc)]


def _form_errors(form) -> list[str]:
    return [f"{form.fields[name].label if name in form.fields else ''}：{error}".lstrip("：")
            for name, errors in form.errors.items() for error in errors]


def _plans(user):
    return scope(user, RectificationPlan.objects.select_related("organisation", "round"), VIEW_PLAN)


def _plan_for(user, pk) -> RectificationPlan:
    return get_object_for_user(user, RectificationPlan.objects.select_related("organisation", "round"), VIEW_PLAN, pk=pk)


def _item_for(user, pk) -> RectificationItem:
    return get_object_for_user(
        user, RectificationItem.objects.select_related("plan__organisation", "plan__round"), VIEW_ITEM, pk=pk)


def _with_counts(plans, today: datetime.date | None = None):
    return states.with_plan_figures(plans, today)


def _decorate(item: RectificationItem, today: datetime.date | None = None) -> RectificationItem:
    """What the lists show beside the status, by rectification.states (never the stored flag)."""
    item.status_css = STATUS_CSS.get(item.status, "")
    item.overdue = states.is_overdue(item, today)
    item.phase = states.phase_label(item)
    item.no_deadline = states.has_no_deadline(item)
    item.status_html = _status_html(item)
    return item


def _status_html(item: RectificationItem) -> str:
    """The tags every page shows for a decorated item: its reported status, then 已逾期, 已销号 or
    待验收, 无整改时限. Written out here rather than through a template included on every row."""
    tags = [(item.status_css, item.get_status_display())]
    if item.overdue:
        tags.append(("gv-tag--danger", "已逾期"))
    if item.phase:
        tags.append(("gv-tag--ok" if item.closed_at else "gv-tag--warn", item.phase))
    if item.no_deadline:
        tags.append(("gv-tag--warn", "无整改时限"))
    return mark_safe(" ".join(f'<span class="gv-tag {css}">{escape(label)}</span>' for css, label in tags))  # noqa: S308 — escaped above


# ---------------------------------------------------------------- plans


def plans_for(user, query) -> tuple[PlanFilterForm, QuerySet[RectificationPlan]]:
    """The plans the 整改方案 list shows for this query string, in its order: the list and its export."""
    require_perm(user, VIEW_PLAN)
    plans = _plans(user)
    form = PlanFilterForm(query or None, plans=plans)
    return form, form.filter(_with_counts(plans))


class PlanListView(LoginRequiredMixin, TemplateView):
    template_name = "rectification/plan_list.html"

    def get_context_data(self, **kwargs):
        form, plans = plans_for(self.request.user, self.request.GET)
        page = UncountedPage(plans, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="整改方案", form=form, page=page, **kwargs)


PLAN_HEADERS = ["整改方案", "整改党组织", "巡察轮次", "巡察组", "反馈日期", "第一责任人", "文号", "事项", "已销号", "逾期",
                "销号率"]


class PlanExportView(LoginRequiredMixin, View):
    """The 整改方案 list as an .xlsx file: the same plans, filters and order, all pages."""

    def get(self, request):
        _form, plans = plans_for(request.user, request.GET)
        rows = ([plan.title, organisation_label(plan.organisation), plan.round.name if plan.round_id else "",
                 plan.group_name, _day(plan.feedback_on), plan.first_responsible, plan.document_number,
                 plan.item_count, plan.closed_count, plan.overdue_count,
                 states.percent(states.plan_figures(plan).closed_rate)]
                for plan in plans.iterator(chunk_size=500))
        return xlsx_export(about=RectificationPlan, rows=rows, headers=PLAN_HEADERS, sheet_title="整改方案", filename="整改方案",
                           by=request.user, action="rectification.plan.export", query=request.GET.urlencode())


def _day(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def group_items(items) -> list[tuple[str, list[tuple[str, list]]]]:
    """Items in number order under their category and sub-heading (a heading starts where it changes)."""
    grouped: list[tuple[str, list[tuple[str, list]]]] = []
    for category, in_category in groupby(items, key=lambda item: item.category):
        subs = [(sub, list(rows)) for sub, rows in groupby(in_category, key=lambda item: item.subcategory)]
        grouped.append((category, subs))
    return grouped


def _round_url(user, plan: RectificationPlan) -> str:
    """The page of the round the plan cites, as the user may open it (the office's or the township's)."""
    if plan.round_id is None:
        return ""
    if rounds_visible(user).filter(pk=plan.round_id).exists():
        return reverse("inspection:round_detail", args=[plan.round_id])
    if township_rounds_visible(user).filter(pk=plan.round_id).exists():
        return reverse("inspection:township_round_detail", args=[plan.round_id])
    return ""


class PlanDetailView(LoginRequiredMixin, TemplateView):
    template_name = "rectification/plan_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        plan = kwargs.pop("plan", None) or _plan_for(user, self.kwargs["pk"])
        today = timezone.localdate()
        items = [_decorate(item, today) for item in plan.items.order_by("number")]
        may_edit = services.may_edit(user, plan)
        may_see_accountability = services.may_see_accountability(user, plan)
        data = self.request.POST if self.request.method == "POST" else None
        action = kwargs.pop("action", None)

        def bound(name, cls, **extra):
            return cls(data if action == name else None, **extra)

        context = {
            "page_title": plan.title, "plan": plan, "round_url": _round_url(user, plan), "groups": group_items(items), "items": items,
            "may_edit": may_edit, "may_account": services.may_add_accountability(user, plan),
            "meetings": plan.meetings.all(), "measures": plan.measures.all(), "recoveries": plan.recoveries.all(),
            "may_see_accountability": may_see_accountability,
            "accountabilities": plan.accountabilities.select_related("item") if may_see_accountability else [],
            "petitions": plan.petitions.all(),
            "counts": states.figures_of(items, today),
            "header_form": rforms.PlanHeaderForm(data if action == "header" else None, instance=plan),
            "meeting_form": bound("meeting", rforms.MeetingForm),
            "measure_form": bound("measure", rforms.MeasureForm),
            "recovery_form": bound("recovery", rforms.RecoveryForm),
            "petition_form": bound("petition", rforms.PetitionForm),
            "accountability_form": bound("accountability", rforms.AccountabilityForm, plan=plan),
            "action": action,
        }
        context.update(kwargs)
        return super().get_context_data(**context)


PLAN_ACTIONS = {
    "meeting": (rforms.MeetingForm, services.add_meeting, "整改会议已登记。"),
    "measure": (rforms.MeasureForm, services.add_measure, "建章立制已登记。"),
    "recovery": (rforms.RecoveryForm, services.add_recovery, "追回资金已登记。"),
    "petition": (rforms.PetitionForm, services.add_petition, "转办信访件已登记。"),
    "accountability": (rforms.AccountabilityForm, services.add_accountability, "问责处理已登记。"),
}


class PlanActionView(LoginRequiredMixin, View):
    def get(self, request, pk, action):
        return redirect("rectification:plan_detail", pk=pk)

    def post(self, request, pk, action):
        plan = _plan_for(request.user, pk)
        if action == "header":
            form = rforms.PlanHeaderForm(request.POST, instance=RectificationPlan.objects.get(pk=plan.pk))
            call, done = None, "整改方案已保存。"
        elif action in PLAN_ACTIONS:
            cls, call, done = PLAN_ACTIONS[action]
            form = cls(request.POST, plan=plan) if action == "accountability" else cls(request.POST)
        else:
            return redirect("rectification:plan_detail", pk=pk)
        errors: list[str] = []
        # Permission first: a user who may not act gets 403 whatever they typed.
        allowed = (services.may_add_accountability if action == "accountability" else services.may_edit)(request.user, plan)
        if not allowed:
            raise PermissionDenied("您没有编辑该整改方案的权限。")
        if form.is_valid():
            try:
                if action == "header":
                    services.update_plan_header(plan, by=request.user, **{
                        name: form.cleaned_data[name] for name in rforms.PlanHeaderForm.Meta.fields})
                else:
                    call(plan, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, done)
                return redirect("rectification:plan_detail", pk=pk)
        view = PlanDetailView(request=request, kwargs={"pk": pk})
        context = view.get_context_data(plan=plan, action=action, errors=errors)
        if action == "header":
            context["header_form"] = form
        else:
            context[f"{action}_form"] = form
        return view.render_to_response(context, status=422)


# ---------------------------------------------------------------- items


def items_for(user, query) -> tuple[ItemFilterForm, QuerySet[RectificationItem]]:
    """The items the 整改事项 list shows for this query string, in its order: the list and its export."""
    require_perm(user, VIEW_ITEM)
    items = scope(user, RectificationItem.objects.select_related("plan__organisation", "plan__round"), VIEW_ITEM)
    form = ItemFilterForm(query or None, items=items)
    return form, form.filter(items)


class ItemListView(LoginRequiredMixin, TemplateView):
    """Every item the user may see, with filters, a search and a choice of order (the 整改事项 menu)."""

    template_name = "rectification/item_list.html"

    def get_context_data(self, **kwargs):
        form, items = items_for(self.request.user, self.request.GET)
        page = UncountedPage(items, self.request.GET.get("page"), PAGE_SIZE)
        today = timezone.localdate()
        for item in page:
            _decorate(item, today)
        return super().get_context_data(page_title="整改事项", form=form, page=page, **kwargs)


ITEM_HEADERS = ["整改党组织", "巡察轮次", "序号", "类别", "子类", "问题", "责任领导", "责任单位", "整改措施", "整改时限",
                "状态", "逾期", "整改情况", "未完成原因", "下一步措施", "销号时间"]


class ItemExportView(LoginRequiredMixin, View):
    """The 整改事项 ledger as an .xlsx file: the same items, filters and order as the list, all pages.

    The columns follow the import file (序号、类别、子类、问题、整改情况、状态、责任领导、…), so that a county
    office can paste the rows into a progress report or send the file back to be imported."""

    def get(self, request):
        _form, items = items_for(request.user, request.GET)
        items = states.with_overdue(items)
        rows = ([organisation_label(item.plan.organisation), item.plan.round.name if item.plan.round_id else "",
                 item.number, item.category, item.subcategory, item.title, item.responsible_leader,
                 item.responsible_unit, item.measures, _day(item.effective_deadline), item.get_status_display(),
                 "是" if item.overdue_now else "", item.result, item.unfinished_reason, item.next_steps,
                 f"{timezone.localtime(item.closed_at):%Y-%m-%d %H:%M}" if item.closed_at else ""]
                for item in items.iterator(chunk_size=1000))
        return xlsx_export(about=RectificationItem, rows=rows, headers=ITEM_HEADERS, sheet_title="整改事项台账", filename="整改事项台账",
                           by=request.user, action="rectification.item.export", query=request.GET.urlencode())


ENTRY_CSS = {"progress": "", "claim": "gv-tag--warn", "verified": "gv-tag--ok", "returned": "gv-tag--danger"}


class ItemDetailView(LoginRequiredMixin, TemplateView):
    template_name = "rectification/item_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        item = kwargs.pop("item", None) or _item_for(user, self.kwargs["pk"])
        _decorate(item)
        entries = list(item.progress.select_related("reported_by").order_by("reported_on", "id"))
        files = defaultdict(list)
        for attachment in Attachment.objects.filter(
                owner_type=ContentType.objects.get_for_model(ProgressEntry), owner_id__in=[e.pk for e in entries]):
            files[attachment.owner_id].append(attachment)
        for entry in entries:
            entry.files = files.get(entry.pk, [])
            entry.css = ENTRY_CSS.get(entry.kind, "")
        step = position(item)
        is_open = item.closed_at is None
        may_edit = is_open and services.may_edit(user, item.plan) and user.has_perm(services.CHANGE_ITEM, item)
        may_report = is_open and services.may_report(user, item) and step != "verify"
        action = kwargs.pop("action", None)
        data = self.request.POST if self.request.method == "POST" else None
        item_initial = {"responsible_leader": item.responsible_leader, "responsible_unit": item.responsible_unit,
                        "measures": item.measures, "deadline": item.deadline, "result": item.result}
        context = {
            "page_title": f"整改事项 {item.number}", "item": item, "plan": item.plan, "entries": entries, "step": step,
            "may_edit": may_edit, "may_report": may_report,
            "claim_closes": is_open and may_report and not office_verifies(item),
            "may_verify": is_open and step == "verify" and services.may_verify(user, item),
            "item_form": rforms.ItemForm(data if action == "update" else None, initial=item_initial),
            "progress_form": rforms.ProgressForm(data if action == "progress" else None,
                                                 initial={"reported_on": timezone.localdate()}),
            "claim_form": rforms.ClaimForm(data if action == "claim" else None),
            "verify_form": rforms.VerifyForm(data if action == "verify" else None),
            "unfinished_form": rforms.UnfinishedForm(data if action == "unfinished" else None, initial={
                "unfinished_reason": item.unfinished_reason, "next_steps": item.next_steps,
                "new_deadline": item.new_deadline}),
            "history": list(entries_for(item)), "svg": mark_safe(rectification_flow_svg(item)),  # noqa: S308 — viewflow's SVG
            "deadline": services.effective_deadline(item), "action": action,
        }
        context.update(kwargs)
        return super().get_context_data(**context)


class ItemActionView(LoginRequiredMixin, View):
    """POST a step (update / progress / claim / verify / unfinished); errors re-render the page with 422."""

    FORMS = {"update": rforms.ItemForm, "progress": rforms.ProgressForm, "claim": rforms.ClaimForm,
             "verify": rforms.VerifyForm, "unfinished": rforms.UnfinishedForm}

    def get(self, request, pk, action):
        return redirect("rectification:item_detail", pk=pk)

    def post(self, request, pk, action):
        item = _item_for(request.user, pk)  # outside the user's regions: 404
        if action not in self.FORMS:
            return redirect("rectification:item_detail", pk=pk)
        allowed = {
            "verify": services.may_verify,
            "progress": services.may_report, "claim": services.may_report,
        }.get(action, lambda user, obj: services.may_edit(user, obj.plan) and user.has_perm(services.CHANGE_ITEM, obj))
        if not allowed(request.user, item):
            raise PermissionDenied("您没有办理该整改事项此环节的权限。")
        form = self.FORMS[action](request.POST)
        errors: list[str] = []
        files = request.FILES.getlist("files")
        if form.is_valid():
            data = form.cleaned_data
            try:
                if action == "update":
                    services.update_item(item, by=request.user, **data)
                    done = "整改责任与措施已保存。"
                elif action == "progress":
                    services.report_progress(item, by=request.user, reported_on=data["reported_on"], text=data["text"],
                                             files=files)
                    done = "整改进展已报送。"
                elif action == "claim":
                    services.claim_done(item, by=request.user, text=data["text"], files=files,
                                        long_term=data["long_term"])
                    item.refresh_from_db(fields=["closed_at"])
                    done = "已销号（本事项按流程策略无需验收）。" if item.closed_at else "已申请销号，等待县委巡察办验收。"
                elif action == "verify":
                    accept = data["decision"] == "accept"
                    services.verify_item(item, by=request.user, accept=accept, reason=data["reason"])
                    done = "验收通过，已销号。" if accept else "已退回继续整改。"
                else:
                    services.mark_unfinished(item, by=request.user, reason=data["unfinished_reason"],
                                             next_steps=data["next_steps"], new_deadline=data["new_deadline"])
                    done = "未完成原因与下一步措施已保存。"
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, done)
                return redirect("rectification:item_detail", pk=pk)
        view = ItemDetailView(request=request, kwargs={"pk": pk})
        context = view.get_context_data(item=item, action=action, errors=errors)
        context[{"update": "item_form"}.get(action, f"{action}_form")] = form
        return view.render_to_response(context, status=422)


class EvidenceView(LoginRequiredMixin, View):
    """Download a progress entry's evidence, for users who may see the item."""

    def get(self, request, pk, attachment_pk):
        item = _item_for(request.user, pk)
        attachment = Attachment.objects.filter(
            pk=attachment_pk, owner_type=ContentType.objects.get_for_model(ProgressEntry),
            owner_id__in=item.progress.values("pk"),
        ).first()
        if attachment is None:
            raise Http404("附件不存在。")
        response = attachment_response(attachment)
        if attachment.kind == "document":  # documents download; photos open in the page
            response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(attachment.original_name)}"
        return response


# ---------------------------------------------------------------- dashboard


def _month_ends(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The last day of each month from start's month to end's month (end itself for the current month)."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        nxt = datetime.date(year + (month == 12), month % 12 + 1, 1)
        months.append(min(nxt - datetime.timedelta(days=1), end))
        year, month = nxt.year, nxt.month
    return months[-12:]


def township_progress(rows: list[tuple[str, datetime.date | None, datetime.date | None, int]], townships,
                      today: datetime.date) -> tuple[list[datetime.date], list[tuple[str, list[float]]]]:
    """Per township, the share of its items closed (销号) at each month's end since the first feedback,
    from `rows` of (township path, feedback date, day closed or None, number of items): the 销号进度 follows
    the day each item was closed."""
    if not rows:
        return [], []
    feedback_days = [feedback for _path, feedback, _closed, _n in rows if feedback]
    months = _month_ends(min(feedback_days) if feedback_days else today, today)
    by_township: dict[str, list] = defaultdict(list)
    for path, feedback, closed, n in rows:
        by_township[path].append((feedback, closed, n))
    series = []
    for township in townships:
        found = by_township.get(township.path)
        if not found:
            continue
        values = []
        for month_end in months:
            total = sum(n for feedback, _, n in found if feedback is None or feedback <= month_end)
            closed = sum(n for _, day, n in found if day and day <= month_end)
            values.append(states.rate(closed, total) or 0.0)
        series.append((township.name, values))
    return months, series


def progress_rows(items, townships) -> list[tuple[str, datetime.date | None, datetime.date | None, int]]:
    """(township path, feedback date, day closed, count) of the items, grouped in the database."""
    if not townships:
        return []
    return list(items.order_by().annotate(
        township=Substr("plan__organisation__path", 1, len(townships[0].path)), closed_day=TruncDate("closed_at"),
    ).values("township", "plan__feedback_on", "closed_day").annotate(n=Count("id")).values_list(
        "township", "plan__feedback_on", "closed_day", "n"))


COLOURS = ["#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#37474f"]


def progress_chart_svg(months: list[datetime.date], series: list[tuple[str, list[float]]]) -> str:
    """A line chart (0–100 % closed) per township by month: inline SVG, no script."""
    width, height, left, right, top, bottom = 640, 260, 44, 150, 20, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    font = 'font-family="Noto Sans CJK SC, sans-serif"'
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="rectification-chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-label="各乡镇整改销号进度">']
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end" {font} fill="#555">{tick}%</text>')
    count = max(len(months), 1)

    def x_of(index: int) -> float:
        return left + (plot_w * index / (count - 1) if count > 1 else plot_w / 2)

    for index, month in enumerate(months):
        parts.append(f'<text x="{x_of(index):.1f}" y="{height - 14}" font-size="10" text-anchor="middle" {font} '
                     f'fill="#555">{month.year % 100:02d}/{month.month:02d}</text>')
    for number, (name, values) in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        points = " ".join(f"{x_of(i):.1f},{top + plot_h * (1 - v / 100):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values):
            parts.append(f'<circle cx="{x_of(i):.1f}" cy="{top + plot_h * (1 - v / 100):.1f}" r="2.5" fill="{colour}">'
                         f'<title>{escape(name)} {months[i]:%Y-%m}：{v}%</title></circle>')
        y = top + 14 * number + 6
        parts.append(f'<rect x="{left + plot_w + 12}" y="{y - 8}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{left + plot_w + 26}" y="{y + 1}" font-size="11" {font} fill="#222">'
                     f'{escape(name)} {values[-1] if values else 0}%</text>')
    if not series:
        parts.append(f'<text x="{left + plot_w / 2}" y="{top + plot_h / 2}" font-size="12" text-anchor="middle" {font} '
                     'fill="#777">暂无整改事项</text>')
    parts.append("</svg>")
    return "".join(parts)


class DashboardView(LoginRequiredMixin, TemplateView):
    """The county office sees every plan; a township committee its own (grid.access.scope)."""

    template_name = "rectification/dashboard.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, VIEW_PLAN)
        today = timezone.localdate()
        plans = list(_with_counts(_plans(user), today).order_by("organisation__path", "-created_at"))
        items = scope(user, RectificationItem.objects.all(), VIEW_ITEM)
        figures = states.figures(items, today)
        tags = [(key, label, getattr(figures, key), FIGURE_CSS.get(key, "")) for key, label in states.LABELS.items()]
        overdue = [_decorate(item, today) for item in items.filter(states.q_overdue(today))
                   .select_related("plan__organisation").order_by("plan__organisation__path", "plan_id", "number")[:PAGE_SIZE]]
        townships = list(Region.objects.filter(tier__key="township").order_by("path").only("path", "name"))
        months, series = township_progress(progress_rows(items, townships), townships, today)
        return super().get_context_data(
            page_title="整改工作看板", plans=plans, tags=tags, figures=figures, total=figures.total, overdue=overdue,
            rectified_rate=states.percent(figures.rectified_rate), closed_rate=states.percent(figures.closed_rate),
            chart=mark_safe(progress_chart_svg(months, series)),  # noqa: S308 — built from escaped text
            series=series, months=months, **kwargs,
        )
