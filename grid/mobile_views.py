"""The phone page of grid members (手机工作台): report an event, my tasks, today's diary, on one screen.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView

from governance.form_defaults import attach_errors

from . import patrols
from .event_forms import EventReportForm
from .event_lists import my_reports, my_tasks, task_rows
from .event_views import submit_report
from .models import PatrolLog, WorkDiary
from .patrol_forms import DiaryForm

MOBILE_PERMS = ("grid.add_event", "grid.add_workdiary")
TASK_ROWS = 20


class MobileView(LoginRequiredMixin, TemplateView):
    """GET the page; POST .../report/ or .../diary/ (the `part` argument) submits one of its forms."""

    template_name = "grid/mobile.html"
    part = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not any(request.user.has_perm(perm) for perm in MOBILE_PERMS):
            raise PermissionDenied("手机工作台供网格员使用：您没有网格员岗位。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.part:  # a reload of a form's address after an error shows the page
            return redirect("grid:mobile")
        return self.render_to_response(self.get_context_data())

    def get_context_data(self, *, report_form=None, diary_form=None, report_errors=(), **kwargs):
        user = self.request.user
        today = timezone.localdate()
        may_report = user.has_perm("grid.add_event")
        may_write = user.has_perm("grid.add_workdiary")
        diary = WorkDiary.objects.filter(author=user, date=today).first() if may_write else None
        if may_write and diary_form is None:
            initial = {"date": today}
            if diary:
                initial.update(region=diary.region_id, content=diary.content)
            diary_form = DiaryForm(user=user, initial=initial)
        tasks = my_tasks(user)
        return super().get_context_data(
            page_title="手机工作台", today=today,
            report_form=report_form or (EventReportForm(user=user) if may_report else None),
            report_errors=list(report_errors), diary_form=diary_form, diary=diary,
            diary_locked=bool(diary and diary.reviewed_at),
            tasks=task_rows(user, tasks) if tasks.exists() else [],
            patrols_today=PatrolLog.objects.filter(member=user, date=today).count(),
            reports=my_reports(user) if may_report else [],
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if self.part == "report":
            return self._report(request)
        if self.part == "diary":
            return self._diary(request)
        return redirect("grid:mobile")

    def _report(self, request):
        if not request.user.has_perm("grid.add_event"):
            raise PermissionDenied("您没有上报事件的岗位。")
        form = EventReportForm(request.POST, user=request.user)
        event, errors = submit_report(request, form)
        if event is not None:
            return redirect(reverse("grid:mobile") + "#mine")
        context = self.get_context_data(report_form=form, report_errors=errors, focus="report")
        return self.render_to_response(context, status=422)

    def _diary(self, request):
        if not request.user.has_perm("grid.add_workdiary"):
            raise PermissionDenied("您没有网格员岗位，不能填写工作日志。")
        form = DiaryForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                diary, created = patrols.write_diary(by=request.user, region=data["region"], date=data["date"],
                                                     content=data["content"])
            except ValidationError as exc:
                attach_errors(form, exc)
            else:
                verb = "已保存" if created else "已更新"
                messages.success(request, f"{verb}{diary.date.month}月{diary.date.day}日的工作日志。")
                return redirect(reverse("grid:mobile") + "#diary")
        context = self.get_context_data(diary_form=form, focus="diary")
        return self.render_to_response(context, status=422)
