"""Pages of patrol logs, work diaries and cadence compliance.

Views decode input and call grid.patrols; every query goes through its scoped querysets.
Invalid submissions re-render with status 422, the Chinese errors beside the fields and the input kept.
A user without the page's permission anywhere gets 403; a record outside what they may see, 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views.generic import TemplateView

from governance.audit import entries_for
from governance.paging import UncountedPage

from . import patrols
from .models import WorkDiary
from .patrol_forms import DiaryForm, MonthForm, PatrolFilterForm, PatrolForm, ReviewForm

PAGE_SIZE = 50
ACTION_LABELS = {
    "patrol.record": "记录巡查", "diary.write": "填写日志", "diary.update": "修改日志", "diary.review": "审核确认",
}


def _attach_errors(form, exc: ValidationError) -> None:
    """Put a service's errors beside the form's fields (or on top when a field is not on the form)."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


def _history(obj) -> list:
    entries = list(entries_for(obj))
    for entry in entries:
        entry.action_label = ACTION_LABELS.get(entry.action, entry.action)
    return entries


# ---------------------------------------------------------------- patrol logs


class PatrolListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/patrol_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        if not (user.is_superuser or patrols.may_see_patrols(user)):
            raise PermissionDenied("您没有查看巡查记录的岗位。")
        form = PatrolFilterForm(self.request.GET or None, user=user)
        logs = form.apply(patrols.visible_patrols(user)).select_related("member", "region").order_by("-date", "-started_at", "-id")
        page = UncountedPage(logs, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(
            page_title="巡查记录", form=form, page=page, may_record=user.has_perm("grid.add_patrollog"),
            oversees="member" in form.fields, **kwargs,
        )


class PatrolCreateView(LoginRequiredMixin, TemplateView):
    template_name = "grid/patrol_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("grid.add_patrollog"):
            raise PermissionDenied("您没有网格员岗位，不能记录巡查。")
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form, status=200):
        return self.render_to_response(self.get_context_data(
            form=form, page_title="记录巡查", event_regions=form.event_regions(), region_paths=form.region_paths(),
        ), status=status)

    def get(self, request):
        return self._render(PatrolForm(user=request.user))

    def post(self, request):
        form = PatrolForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                log = patrols.record_patrol(
                    by=request.user, region=data["region"], kind=data["kind"], date=data["date"],
                    started_at=data["started_at"], ended_at=data["ended_at"], route=data["route"],
                    households_visited=data["households_visited"], findings=data["findings"], events=data["events"],
                )
            except ValidationError as exc:
                _attach_errors(form, exc)
            else:
                messages.success(request, f"已记录 {log.date:%m月%d日} 的{log.get_kind_display()}。")
                return redirect("grid:patrol_detail", pk=log.pk)
        return self._render(form, status=422)


class PatrolDetailView(LoginRequiredMixin, TemplateView):
    template_name = "grid/patrol_detail.html"

    def get_context_data(self, **kwargs):
        log = (
            patrols.visible_patrols(self.request.user).select_related("member", "region")
            .filter(pk=self.kwargs["pk"]).first()
        )
        if log is None:
            raise Http404("巡查记录不存在或无权查看。")
        return super().get_context_data(
            page_title=f"巡查记录 {log.date:%Y-%m-%d}", log=log,
            events=log.events.select_related("category").order_by("id"), history=_history(log), **kwargs,
        )


# ---------------------------------------------------------------- work diaries


class DiaryListView(LoginRequiredMixin, TemplateView):
    template_name = "grid/diary_list.html"
    SHOW = {"": "全部", "review": "待我审核", "mine": "我的日志"}

    def get_context_data(self, **kwargs):
        user = self.request.user
        if not (user.is_superuser or patrols.may_see_diaries(user)):
            raise PermissionDenied("您没有查看工作日志的岗位。")
        show = self.request.GET.get("show", "")
        show = show if show in self.SHOW else ""
        diaries = patrols.visible_diaries(user)
        if show == "mine":
            diaries = diaries.filter(author=user)
        elif show == "review":
            reviewable = patrols.scope(user, WorkDiary.objects.filter(reviewed_at__isnull=True), "grid.review_workdiary")
            diaries = diaries.filter(pk__in=reviewable.exclude(author=user).values("pk"))
        reviewed = ExpressionWrapper(Q(reviewed_at__isnull=False), output_field=BooleanField())
        diaries = diaries.select_related("author", "region", "reviewed_by").order_by(reviewed, "-date", "-id")
        page = UncountedPage(diaries, self.request.GET.get("page"), PAGE_SIZE)
        may_write = user.has_perm("grid.add_workdiary")
        today = timezone.localdate()
        return super().get_context_data(
            page_title="工作日志", page=page, show=show, show_choices=self.SHOW.items(), may_write=may_write,
            may_review_any=user.has_perm("grid.review_workdiary"),
            today_diary=WorkDiary.objects.filter(author=user, date=today).first() if may_write else None,
            today=today, **kwargs,
        )


class DiaryWriteView(LoginRequiredMixin, TemplateView):
    """Write (or, the same day again, update) a diary: today's unless another recent date is chosen."""

    template_name = "grid/diary_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("grid.add_workdiary"):
            raise PermissionDenied("您没有网格员岗位，不能填写工作日志。")
        return super().dispatch(request, *args, **kwargs)

    def _render(self, form, existing=None, status=200):
        return self.render_to_response(self.get_context_data(form=form, existing=existing, page_title="填写工作日志"), status=status)

    def get(self, request):
        form = DiaryForm(user=request.user)
        day = form.initial["date"]
        if request.GET.get("date"):
            try:
                day = form.fields["date"].clean(request.GET["date"])
            except ValidationError:
                pass
        existing = WorkDiary.objects.filter(author=request.user, date=day).select_related("reviewed_by").first()
        form = DiaryForm(user=request.user, initial={
            "date": day, **({"region": existing.region_id, "content": existing.content} if existing else {}),
        })
        return self._render(form, existing)

    def post(self, request):
        form = DiaryForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                diary, created = patrols.write_diary(by=request.user, region=data["region"], date=data["date"], content=data["content"])
            except ValidationError as exc:
                _attach_errors(form, exc)
            else:
                verb = "已保存" if created else "已更新"
                messages.success(request, f"{verb} {diary.date:%m月%d日} 的工作日志。")
                return redirect("grid:diaries")
        return self._render(form, status=422)


def _visible_diary(user, pk) -> WorkDiary:
    diary = patrols.visible_diaries(user).select_related("author", "region", "reviewed_by").filter(pk=pk).first()
    if diary is None:
        raise Http404("工作日志不存在或无权查看。")
    return diary


class DiaryDetailView(LoginRequiredMixin, TemplateView):
    template_name = "grid/diary_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        diary = kwargs.pop("diary", None) or _visible_diary(user, self.kwargs["pk"])
        kwargs.setdefault("review_form", ReviewForm())
        return super().get_context_data(
            page_title=f"工作日志 {diary.date:%Y-%m-%d}", diary=diary, may_review=patrols.may_review(user, diary),
            may_edit=diary.author_id == user.pk and diary.reviewed_at is None, history=_history(diary), **kwargs,
        )


class DiaryReviewView(LoginRequiredMixin, TemplateView):
    template_name = "grid/diary_detail.html"

    def get(self, request, pk):
        return redirect("grid:diary_detail", pk=pk)

    def post(self, request, pk):
        if not request.user.has_perm("grid.review_workdiary"):
            raise PermissionDenied("您没有审核工作日志的岗位。")
        diary = _visible_diary(request.user, pk)
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                patrols.review_diary(diary, by=request.user, comment=form.cleaned_data["comment"])
            except ValidationError as exc:
                _attach_errors(form, exc)
            else:
                messages.success(request, f"已审核 {diary.author.get_full_name() or diary.author.username} {diary.date:%m月%d日} 的工作日志。")
                return redirect(f"{_url('grid:diaries')}?show=review")
        view = DiaryDetailView(request=request, kwargs={"pk": pk})
        return view.render_to_response(view.get_context_data(diary=diary, review_form=form), status=422)


def _url(name: str) -> str:
    from django.urls import reverse

    return reverse(name)


# ---------------------------------------------------------------- cadence compliance


class ComplianceView(LoginRequiredMixin, TemplateView):
    template_name = "grid/compliance.html"

    def get(self, request, *args, **kwargs):
        user = request.user
        if not (user.is_superuser or user.has_perm("grid.view_patrollog")):
            raise PermissionDenied("您没有查看巡查记录的岗位。")
        form = MonthForm(request.GET or None)
        if form.is_bound and not form.is_valid():
            context = self.get_context_data(page_title="巡查频次落实", form=form, report=None)
            return self.render_to_response(context, status=422)
        month = form.cleaned_data["month"] if form.is_bound else timezone.localdate().replace(day=1)
        report = patrols.cadence_compliance(regions_or_user_scope=user, month=month)
        return self.render_to_response(self.get_context_data(
            page_title="巡查频次落实", form=form if form.is_bound else MonthForm(initial={"month": month.strftime("%Y-%m")}),
            report=report, month=month, sweep_grace=patrols.SWEEP_GRACE_DAYS,
            short_count=sum(1 for row in report.rows if row.short),
        ))
