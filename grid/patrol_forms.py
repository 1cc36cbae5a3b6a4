"""Forms of the patrol, diary and compliance pages. They decode input; the rules live in grid.patrols."""

from __future__ import annotations

import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone

from governance import chinese_dates
from governance.listing import FilterForm

from . import patrols
from .models import PatrolLog, Post

DATE_WIDGET = {"type": "date"}
TIME_WIDGET = {"type": "time"}


def _region_label(region) -> str:
    return region.full_path


class PatrolForm(forms.Form):
    region = forms.TypedChoiceField(label="巡查网格", coerce=int)
    kind = forms.ChoiceField(label="巡查类型", choices=PatrolLog._meta.get_field("kind").choices, initial="daily")
    date = forms.DateField(label="日期", widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    started_at = forms.TimeField(label="开始时间", widget=forms.TimeInput(attrs=TIME_WIDGET, format="%H:%M"))
    ended_at = forms.TimeField(label="结束时间", widget=forms.TimeInput(attrs=TIME_WIDGET, format="%H:%M"))
    households_visited = forms.IntegerField(
        label="走访户数", min_value=0, max_value=patrols.MAX_HOUSEHOLDS, initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    route = forms.CharField(
        label="路线或走访点位", required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "如：村委会—3组—河堤—学校"}),
    )
    findings = forms.CharField(
        label="发现情况", required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "发现的问题、隐患、群众诉求；无异常请写“未发现异常”"}),
    )
    events = forms.TypedMultipleChoiceField(
        label="关联事件", required=False, coerce=int, widget=forms.CheckboxSelectMultiple,
        help_text="本次巡查中上报的事件（近 30 天由您上报的）",
        error_messages={"invalid_choice": "关联事件 #%(value)s 不是您近期在本人网格上报的事件。"},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.regions = {region.pk: region for region in patrols.patrol_regions(user)}
        self.recent_events = {event.pk: event for event in patrols.recent_events_for_patrol(user)}
        self.fields["region"].choices = [(pk, _region_label(region)) for pk, region in self.regions.items()]
        self.fields["events"].choices = [
            (pk, f"#{pk} {event.title}（{event.region.name}，{timezone.localtime(event.created_at):%m-%d %H:%M}）")
            for pk, event in self.recent_events.items()
        ]
        if not self.recent_events:
            self.fields["events"].help_text = "近 30 天您没有在本人网格上报事件。"
        today = timezone.localdate()
        self.fields["date"].widget.attrs["max"] = today.isoformat()
        if not self.is_bound:
            now = timezone.localtime().replace(second=0, microsecond=0)
            self.initial.setdefault("date", today)
            self.initial.setdefault("started_at", max(now - datetime.timedelta(hours=1), now.replace(hour=0, minute=0)).time())
            self.initial.setdefault("ended_at", now.time())
            if len(self.regions) == 1:
                self.initial.setdefault("region", next(iter(self.regions)))

    def clean_region(self):
        region = self.regions.get(self.cleaned_data["region"])
        if region is None:
            raise forms.ValidationError("请选择您有岗位的网格。")
        return region

    def clean_events(self):
        return [self.recent_events[pk] for pk in self.cleaned_data["events"] if pk in self.recent_events]

    def event_regions(self) -> dict[int, str]:
        """Event id → its region's path, for the page to show only the events of the chosen grid."""
        return {pk: event.region.path for pk, event in self.recent_events.items()}

    def region_paths(self) -> dict[int, str]:
        return {pk: region.path for pk, region in self.regions.items()}


class PatrolFilterForm(FilterForm):
    member = forms.TypedChoiceField(label="网格员", required=False, coerce=int, empty_value=None)
    kind = forms.ChoiceField(label="巡查类型", required=False, choices=[("", "全部")] + list(patrols.PATROL_KINDS.items()))
    date_from = forms.DateField(label="日期起", required=False, widget=forms.DateInput(attrs=DATE_WIDGET))
    date_to = forms.DateField(label="日期止", required=False, widget=forms.DateInput(attrs=DATE_WIDGET))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        paths = patrols.supervised_paths(user, "grid.view_patrollog", "grid.add_patrollog")
        if paths or user.is_superuser:
            condition = Q()
            for prefix in paths:
                condition |= Q(region__path__startswith=prefix)
            members = (
                Post.objects.active().filter(condition if paths else Q(), role__key__in=patrols.MEMBER_ROLE_KEYS)
                .values_list("user_id", "user__username", "user__last_name", "user__first_name")
                .order_by("user__username").distinct()[:500]
            )
            self.fields["member"].choices = [("", "全部")] + [
                (pk, (last + first).strip() or username) for pk, username, last, first in members
            ]
        else:
            del self.fields["member"]

    def apply(self, queryset):
        data = self.valid_values()
        if data.get("member"):
            queryset = queryset.filter(member_id=data["member"])
        if data.get("kind"):
            queryset = queryset.filter(kind=data["kind"])
        if data.get("date_from"):
            queryset = queryset.filter(date__gte=data["date_from"])
        if data.get("date_to"):
            queryset = queryset.filter(date__lte=data["date_to"])
        return queryset


class DiaryForm(forms.Form):
    region = forms.TypedChoiceField(label="网格", coerce=int)
    date = forms.DateField(label="日期", widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"),
                           help_text=f"可补写最近 {patrols.DIARY_BACKFILL_DAYS} 天；同一天再次提交即更新当天日志")
    content = forms.CharField(
        label="工作内容",
        widget=forms.Textarea(attrs={"rows": 8, "placeholder": "今天走访、服务、巡查等情况，发现和处理的问题"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.regions = {region.pk: region for region in patrols.diary_regions(user)}
        self.fields["region"].choices = [(pk, _region_label(region)) for pk, region in self.regions.items()]
        today = timezone.localdate()
        self.fields["date"].widget.attrs.update(
            max=today.isoformat(), min=(today - datetime.timedelta(days=patrols.DIARY_BACKFILL_DAYS)).isoformat(),
        )
        if not self.is_bound:
            self.initial.setdefault("date", today)
            if len(self.regions) == 1:
                self.initial.setdefault("region", next(iter(self.regions)))

    def clean_region(self):
        region = self.regions.get(self.cleaned_data["region"])
        if region is None:
            raise forms.ValidationError("请选择您有岗位的网格。")
        return region


class ReviewForm(forms.Form):
    comment = forms.CharField(
        label="审核意见", required=False, max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "可不填；如有需要改进之处请写明"}),
    )


class MonthForm(forms.Form):
    month = forms.CharField(label="月份", required=False, widget=forms.TextInput(attrs={"type": "month"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["month"].widget.attrs["max"] = timezone.localdate().strftime("%Y-%m")

    def clean_month(self) -> datetime.date:
        value = (self.cleaned_data.get("month") or "").strip()
        today = timezone.localdate()
        if not value:
            return today.replace(day=1)
        month = chinese_dates.parse_month(value)
        if month is None:
            raise forms.ValidationError("月份格式应为 年-月，如 2026-03。")
        if month > today.replace(day=1):
            raise forms.ValidationError("不能查看未来月份的落实情况。")
        if month.year < 2000:
            raise forms.ValidationError("月份无效。")
        return month
