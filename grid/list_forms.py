"""Filter forms of the grid lists besides the events: my tasks, patrol logs, work diaries, compliance.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django import forms
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from governance.listing import FilterForm, Sorts, word_search

from . import patrols
from .access import region_grants
from .event_lists import BY_DEADLINE, STEP_BY_STATUS, TASKS_OVERDUE_FIRST
from .models import Event, Post, Region
from .patrol_forms import DATE_WIDGET, MonthForm, PatrolFilterForm

ALL = ("", "全部")
# Regions offered in a region filter: the list's rows belong to grids; micro-grids add only noise.
FILTER_REGION_TIERS = ("county", "township", "village", "grid")
MAX_REGION_CHOICES = 1000


def region_choices(paths: list[str], *, superuser: bool = False) -> list[tuple[int, str]]:
    """The regions under `paths` (or all, for a superuser), above the micro-grids, in tree order."""
    if not paths and not superuser:
        return []
    condition = Q()
    for prefix in paths:
        condition |= Q(path__startswith=prefix)
    regions = (
        Region.objects.filter(condition, tier__key__in=FILTER_REGION_TIERS).order_by("path")
        .values_list("pk", "full_path")[:MAX_REGION_CHOICES]
    )
    return list(regions)


def _member_choices(paths: list[str], *, superuser: bool = False) -> list[tuple[int, str]]:
    """The grid members posted under `paths` (or anywhere, for a superuser)."""
    if not paths and not superuser:
        return []
    condition = Q()
    for prefix in paths:
        condition |= Q(region__path__startswith=prefix)
    members = (
        Post.objects.active().filter(condition, role__key__in=patrols.MEMBER_ROLE_KEYS)
        .values_list("user_id", "user__username", "user__last_name", "user__first_name")
        .order_by("user__username").distinct()[:500]
    )
    return [(pk, (last + first).strip() or username) for pk, username, last, first in members]


class _ListFilter:
    """What the patrol and diary filters share: a date range that must not run backwards, and a
    `region` field offering the given regions (a chosen region narrows to its subtree)."""

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "结束日期不能早于开始日期。")
        return data

    def _set_regions(self, choices: list[tuple[int, str]]) -> None:
        if choices:
            self.fields["region"].choices = [ALL] + choices
        else:
            del self.fields["region"]

    def _region_path(self) -> str | None:
        pk = self.valid_values().get("region")
        if not pk or "region" not in self.fields:
            return None
        return Region.objects.filter(pk=pk).values_list("path", flat=True).first()


# ---------------------------------------------------------------- my tasks

# The default first: overdue, then the nearest deadline (for open events the same as the nearest
# deadline first: grid.event_lists.TASKS_OVERDUE_FIRST). The deadline is the open step's
# (Event.step_due_at); events without one come last.
MY_TASK_SORTS = Sorts(
    ("超期的在前", TASKS_OVERDUE_FIRST),
    deadline=("办理时限最近的在前", BY_DEADLINE),
    newest=("最新上报在前", ("-id",)),
    oldest=("最早上报在前", ("id",)),
)
STATUS_BY_STEP = {step: status for status, step in STEP_BY_STATUS.items()}


class MyTasksFilterForm(FilterForm):
    q = forms.CharField(label="搜索", required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "标题或描述"}))
    step = forms.ChoiceField(label="环节", required=False)
    urgency = forms.ChoiceField(label="紧急程度", required=False, choices=[ALL] + list(Event.Urgency.choices))
    overdue = forms.BooleanField(label="仅超期", required=False)
    sort = MY_TASK_SORTS.field()

    def __init__(self, *args, step_labels: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["step"].choices = [ALL] + [(step, step_labels[step]) for step in STATUS_BY_STEP]

    def apply(self, tasks: QuerySet[Event]) -> QuerySet[Event]:
        """`tasks` filtered and ordered as chosen (a bad value is ignored, its error shown)."""
        data = self.valid_values()
        if data.get("step"):
            tasks = tasks.filter(status=STATUS_BY_STEP[data["step"]])
        if data.get("urgency"):
            tasks = tasks.filter(urgency=data["urgency"])
        if data.get("overdue"):
            tasks = tasks.overdue()
        tasks = word_search(tasks, data.get("q"), "title", "description")
        return MY_TASK_SORTS.apply(tasks, data.get("sort"))


# ---------------------------------------------------------------- patrol logs

PATROL_SORTS = Sorts(
    ("日期由近及远", ("-date", "-started_at", "-id")),
    oldest=("日期由远及近", ("date", "started_at", "id")),
    households=("走访户数多的在前", ("-households_visited", "-date", "-id")),
    region=("按网格", ("region__path", "-date", "-started_at", "-id")),
)


class PatrolListForm(_ListFilter, PatrolFilterForm):
    """The patrol filters (member, kind, dates — the compliance page links with these) plus the
    grid or village, a search in route and findings, and the order."""

    region = forms.TypedChoiceField(label="区域", required=False, coerce=int, empty_value=None)
    q = forms.CharField(label="搜索", required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "路线或发现情况"}))
    sort = PATROL_SORTS.field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        if "member" in self.fields:  # only who oversees others' patrols gets the region filter
            paths = patrols.supervised_paths(user, "grid.view_patrollog", "grid.add_patrollog")
            self._set_regions(region_choices(paths, superuser=user.is_superuser))
        else:
            del self.fields["region"]

    def apply(self, queryset):
        queryset = super().apply(queryset)
        data = self.valid_values()
        path = self._region_path()
        if path:
            queryset = queryset.filter(region__path__startswith=path)
        queryset = word_search(queryset, data.get("q"), "route", "findings")
        return PATROL_SORTS.apply(queryset, data.get("sort"))


# ---------------------------------------------------------------- work diaries

PENDING_FIRST = ExpressionWrapper(Q(reviewed_at__isnull=False), output_field=BooleanField())
DIARY_SORTS = Sorts(
    ("待审核在前", (PENDING_FIRST, "-date", "-id")),
    newest=("日期由近及远", ("-date", "-id")),
    oldest=("日期由远及近", ("date", "id")),
    region=("按网格", ("region__path", "-date", "-id")),
)
DIARY_SHOW = {"": "全部", "review": "待我审核", "mine": "我的日志"}


class DiaryFilterForm(_ListFilter, FilterForm):
    show = forms.ChoiceField(label="范围", required=False)
    member = forms.TypedChoiceField(label="网格员", required=False, coerce=int, empty_value=None)
    region = forms.TypedChoiceField(label="区域", required=False, coerce=int, empty_value=None)
    reviewed = forms.ChoiceField(label="审核", required=False, choices=[ALL, ("no", "待审核"), ("yes", "已审核")])
    date_from = forms.DateField(label="日期起", required=False, widget=forms.DateInput(attrs=DATE_WIDGET))
    date_to = forms.DateField(label="日期止", required=False, widget=forms.DateInput(attrs=DATE_WIDGET))
    q = forms.CharField(label="搜索", required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "工作内容"}))
    sort = DIARY_SORTS.field()

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        shows = {key: label for key, label in DIARY_SHOW.items()
                 if (key != "review" or user.has_perm("grid.review_workdiary"))
                 and (key != "mine" or user.has_perm("grid.add_workdiary"))}
        if len(shows) > 1:  # the same choice as the buttons above the list, to combine with the filters
            self.fields["show"].choices = list(shows.items())
        else:
            del self.fields["show"]
        grants = region_grants(user)
        # Whose diaries the user sees besides their own (as grid.patrols.visible_diaries): where they
        # review, and where they view without writing diaries themselves.
        writing = grants.paths("grid.add_workdiary")
        viewing = [path for path in grants.paths("grid.view_workdiary") if not any(path.startswith(p) for p in writing)]
        paths = sorted(set(grants.paths("grid.review_workdiary")) | set(viewing))
        members = _member_choices(paths, superuser=user.is_superuser)
        if members:
            self.fields["member"].choices = [ALL] + members
            self._set_regions(region_choices(paths, superuser=user.is_superuser))
        else:  # a grid member sees only their own diaries: nobody to choose, nowhere to narrow
            del self.fields["member"]
            del self.fields["region"]

    def apply(self, diaries):
        data = self.valid_values()
        show = data.get("show")
        if show == "mine":
            diaries = diaries.filter(author=self.user)
        elif show == "review":
            reviewable = patrols.reviewable_diaries(self.user).filter(reviewed_at__isnull=True)
            diaries = diaries.filter(pk__in=reviewable.exclude(author=self.user).values("pk"))
        if data.get("member"):
            diaries = diaries.filter(author_id=data["member"])
        path = self._region_path()
        if path:
            diaries = diaries.filter(region__path__startswith=path)
        if data.get("reviewed"):
            diaries = diaries.filter(reviewed_at__isnull=data["reviewed"] == "no")
        if data.get("date_from"):
            diaries = diaries.filter(date__gte=data["date_from"])
        if data.get("date_to"):
            diaries = diaries.filter(date__lte=data["date_to"])
        diaries = word_search(diaries, data.get("q"), "content")
        return DIARY_SORTS.apply(diaries, data.get("sort"))


# ---------------------------------------------------------------- cadence compliance


class ComplianceFilterForm(MonthForm, FilterForm):
    short = forms.BooleanField(label="仅看有未完成项的", required=False)

    def rows(self, report) -> list:
        """The report's rows the table shows: all, or only those with a missed period."""
        if self.valid_values().get("short"):
            return [row for row in report.rows if row.short]
        return list(report.rows)
