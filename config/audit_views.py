"""The audit trail page (审计日志), scoped to the regions a user may audit.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import datetime
import functools
import json

from django import forms
from django.apps import apps
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.audit import verify_chain
from governance.audit_labels import ACTION_LABELS, action_label
from governance.chinese_dates import start_of_day
from governance.listing import FilterForm, Sorts, xlsx_export
from governance.models import AuditEntry
from governance.paging import UncountedPage
from grid.access import require_perm, visible_audit_entries

PAGE_SIZE = 50
AUDITED_APPS = ("grid", "governance", "inspection", "rectification", "workflows", "auth", "jobs", "api")

def object_type_choices() -> list[tuple[str, str]]:
    """The models that can appear in the trail, by their Chinese name and area (from the app registry, no
    query): "区域（网格与区域）"."""
    choices = [
        (model._meta.label, f"{model._meta.verbose_name}（{model._meta.app_config.verbose_name}）")
        for model in apps.get_models() if model._meta.app_label in AUDITED_APPS
    ]
    return [("", "全部")] + sorted(choices, key=lambda choice: choice[0])


# Newest first is the page's order; auditors reading what happened in a period want it oldest first.
AUDIT_SORTS = Sorts(("最新在前", ("-id",)), oldest=("最早在前", ("id",)))


class AuditFilterForm(FilterForm):
    action = forms.CharField(label="操作", required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "如 上报上一级、任命岗位"}))
    actor = forms.CharField(label="操作人账号", required=False, max_length=150)
    object_type = forms.ChoiceField(label="对象类型", required=False)
    date_from = forms.DateField(label="日期起", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="日期止", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = AUDIT_SORTS.field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["object_type"].choices = object_type_choices()

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", "结束日期不能早于开始日期。")
        return data

    def filter(self, entries):
        data = self.valid_values()
        if (data.get("action") or "").strip():
            text = data["action"].strip()
            # by its Chinese name (上报上一级) or by its code (event.escalate)
            named = [code for code, label in ACTION_LABELS.items() if text in label]
            entries = entries.filter(Q(action__icontains=text) | Q(action__in=named))
        if (data.get("actor") or "").strip():
            entries = entries.filter(actor_name__icontains=data["actor"].strip())
        if data.get("object_type"):
            entries = entries.filter(object_type=data["object_type"])
        # Whole local days as datetime bounds, so that the index on created_at is used.
        if data.get("date_from"):
            entries = entries.filter(created_at__gte=start_of_day(data["date_from"]))
        if data.get("date_to"):
            entries = entries.filter(created_at__lt=start_of_day(data["date_to"] + datetime.timedelta(days=1)))
        return entries


def _pretty(value, object_type: str = "") -> str:
    """The recorded values as indented JSON; on the page, keys of the record's fields carry their
    Chinese names ("households（户数）"), so that an auditor can read them."""
    if value is None:
        return ""
    if isinstance(value, dict) and object_type:
        names = _field_names(object_type)
        value = {(f"{key}（{names[key]}）" if key in names else key): item for key, item in value.items()}
    return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2, sort_keys=True)


@functools.cache
def _field_names(object_type: str) -> dict[str, str]:
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return {}
    return {field.name: str(field.verbose_name) for field in model._meta.get_fields() if hasattr(field, "verbose_name")}


def audit_entries_for(user, query) -> tuple[AuditFilterForm, QuerySet[AuditEntry]]:
    """The entries the 审计日志 page shows for this query string, in its order: the page and its export."""
    require_perm(user, "governance.view_auditentry")
    form = AuditFilterForm(query or None)
    entries = form.filter(visible_audit_entries(user, AuditEntry.objects.all()))
    return form, AUDIT_SORTS.apply(entries, form.valid_values().get("sort"))


class AuditListView(LoginRequiredMixin, TemplateView):
    template_name = "system/audit_list.html"

    def get_context_data(self, **kwargs):
        form, entries = audit_entries_for(self.request.user, self.request.GET)
        page = UncountedPage(entries.select_related("actor"), self.request.GET.get("page"), PAGE_SIZE)
        type_names = dict(form.fields["object_type"].choices)
        for entry in page:
            entry.action_label = action_label(entry.action)
            entry.type_name = type_names.get(entry.object_type, entry.object_type).split("（")[0]
            entry.before_json = _pretty(entry.before, entry.object_type)
            entry.after_json = _pretty(entry.after, entry.object_type)
        return super().get_context_data(page_title="审计日志", form=form, page=page, **kwargs)

    def post(self, request):
        """Check the whole hash chain (superusers only: it reads every row of every region)."""
        if not request.user.is_superuser:
            raise PermissionDenied("只有系统管理员可以校验审计链。")
        checked, chain_break = verify_chain()
        context = self.get_context_data(verify_result={"checked": checked, "break": chain_break})
        return self.render_to_response(context)


AUDIT_HEADERS = ["时间", "操作人", "操作", "操作代码", "对象类型", "对象", "对象编号", "变更前", "变更后", "请求编号"]


class AuditExportView(LoginRequiredMixin, View):
    """The 审计日志 page as an .xlsx file for the auditors: the same scope, filters and order, all pages."""

    def get(self, request):
        form, entries = audit_entries_for(request.user, request.GET)
        type_names = dict(form.fields["object_type"].choices)
        rows = ([f"{timezone.localtime(entry.created_at):%Y-%m-%d %H:%M:%S}", entry.actor_name or "系统",
                 action_label(entry.action), entry.action,
                 type_names.get(entry.object_type, entry.object_type).split("（")[0], entry.object_repr,
                 entry.object_id, _pretty(entry.before), _pretty(entry.after), entry.request_id]
                for entry in entries.iterator(chunk_size=2000))
        return xlsx_export(about=AuditEntry, rows=rows, headers=AUDIT_HEADERS, sheet_title="审计日志", filename="审计日志",
                           by=request.user, action="governance.audit.export", query=request.GET.urlencode())
