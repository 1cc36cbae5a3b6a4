"""Forms of the event pages. They decode input; the rules live in grid.events."""

from __future__ import annotations

import copy
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from governance.form_defaults import BLANK_LABEL
from governance.listing import FilterForm

from . import access_cache
from .access import region_grants
from .category_attributes import clean_attribute_values
from .category_catalogue import active_attributes, active_categories, catalogue_cache
from .event_lists import EVENT_SORTS, EventFilters
from .list_forms import region_choices
from .models import CategoryAttribute, Event, EventCategory, Region, Tier
from .region_memo import regions_by_id

REPORTING_TIERS = ("grid", "microgrid", "village")


def reportable_regions(user):
    """Regions where the user may report: the subtrees of their grid.add_event grants."""
    paths = region_grants(user).paths("grid.add_event")
    if not paths:
        return Region.objects.none()

    condition = Q()
    for prefix in paths:
        condition |= Q(path__startswith=prefix)
    return Region.objects.filter(condition).select_related("tier").order_by("path")[:500]


def reportable_region_ids(user) -> list[int]:
    """The ids of reportable_regions(user) in their order: they follow from the user's grants and the
    regions' rows only, so they are kept with the user's access snapshot once a form has asked."""
    return access_cache.kept(user, "reportable_region_ids",
                             lambda: list(reportable_regions(user).values_list("pk", flat=True)))


def category_choices():
    groups = {}
    for category in active_categories():
        if category.parent_id is None:
            groups.setdefault(category.pk, (category.name, []))
        else:
            groups.setdefault(category.parent_id, (category.parent.name, []))[1].append((category.pk, category.name))
    return [("", "请选择事件类别")] + [(name, items) for name, items in groups.values() if items]


ATTRIBUTE_PREFIX = "attribute"


def _attribute_field(attribute: CategoryAttribute) -> forms.Field:
    """A form field for one extra field of a category; its values are checked by grid.category_attributes."""
    kinds = CategoryAttribute.DataType
    label = f"{attribute.name}（{attribute.category.name}）"
    help_text = "；".join(part for part in (
        f"事件类别为“{attribute.category.name}”时{'必填' if attribute.required else '填写'}", attribute.description) if part)
    attrs = {"data-attribute-of": attribute.category_id}
    if attribute.datatype == kinds.MULTI:
        return forms.MultipleChoiceField(label=label, help_text=help_text, required=False,
                                         choices=[(o, o) for o in attribute.options],
                                         widget=forms.CheckboxSelectMultiple(attrs=attrs))
    if attribute.datatype == kinds.SINGLE:
        return forms.ChoiceField(label=label, help_text=help_text, required=False,
                                 choices=[("", "请选择")] + [(o, o) for o in attribute.options],
                                 widget=forms.Select(attrs=attrs))
    widget = {
        kinds.TEXT: forms.Textarea(attrs={**attrs, "rows": 2}),
        kinds.NUMBER: forms.TextInput(attrs={**attrs, "inputmode": "numeric"}),
        kinds.DATETIME: forms.DateTimeInput(attrs={**attrs, "type": "datetime-local"}),
    }.get(attribute.datatype, forms.TextInput(attrs=attrs))
    return forms.CharField(label=label, help_text=help_text, required=False, widget=widget)


class EventReportForm(forms.Form):
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    region = forms.TypedChoiceField(label="发生区域", coerce=int, error_messages={"required": "请选择发生区域。"})
    category = forms.TypedChoiceField(label="事件类别", coerce=int)
    title = forms.CharField(label="标题", max_length=100, widget=forms.TextInput(attrs={"placeholder": "一句话概括问题"}))
    description = forms.CharField(label="描述", widget=forms.Textarea(attrs={"rows": 4, "placeholder": "时间、地点、问题情况"}))
    occurred_at = forms.DateTimeField(
        label="发生时间", input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    urgency = forms.ChoiceField(label="紧急程度", choices=Event.Urgency.choices, initial=Event.Urgency.NORMAL)
    source = forms.ChoiceField(label="来源", choices=Event.Source.choices, initial=Event.Source.PATROL)
    latitude = forms.CharField(label="纬度", required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    longitude = forms.CharField(label="经度", required=False, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    address = forms.CharField(label="地址", required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        ids = reportable_region_ids(user)
        found = regions_by_id(ids)
        self.regions = {pk: found[pk] for pk in ids if pk in found}
        region_choices = [(pk, region.full_path) for pk, region in self.regions.items()]
        # With more than one region the drop-down starts at 请选择: no region is reported by mistake.
        self.fields["region"].choices = [("", BLANK_LABEL), *region_choices] if len(region_choices) > 1 else region_choices
        self.fields["category"].choices = category_choices()
        self.attribute_fields: dict[int, dict[str, str]] = {}  # category id → {code: form field name}
        for attribute in active_attributes():
            name = f"{ATTRIBUTE_PREFIX}_{attribute.category_id}_{attribute.code}"
            self.fields[name] = _attribute_field(attribute)
            self.attribute_fields.setdefault(attribute.category_id, {})[attribute.code] = name
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4().hex)
            self.initial.setdefault("occurred_at", timezone.localtime().replace(second=0, microsecond=0))
            own = self.own_region()
            if own is not None:
                self.initial.setdefault("region", own)

    def own_region(self) -> int | None:
        """The region the form proposes: where the user holds their one post that may report, else the one
        grid among the reportable regions; None when there is a choice to make."""
        granted = set(region_grants(self.user).paths("grid.add_event"))  # the posts' regions, cached per user
        own = [pk for pk, region in self.regions.items() if region.path in granted]
        if len(own) == 1:
            return own[0]
        grids = [pk for pk, region in self.regions.items() if region.tier.key == "grid"]
        return grids[0] if len(grids) == 1 and not own else None

    def clean_region(self):
        region = self.regions.get(self.cleaned_data["region"])
        if region is None:
            raise forms.ValidationError("请选择您有岗位的区域。")
        return region

    def clean_category(self):
        category = catalogue_cache.get().categories.get(self.cleaned_data["category"])
        if category is None or not category.is_active:
            raise forms.ValidationError("未知的事件类别。")
        return copy.copy(category)  # the kept one is shared by the process's requests

    @property
    def attribute_bound_fields(self) -> list:
        """The extra fields of every category, for templates that place fields one by one (the phone page)."""
        return [self[name] for names in self.attribute_fields.values() for name in names.values()]

    def clean(self):
        """The extra fields of the chosen category become `attributes` ({code: value}); the others are ignored."""
        data = super().clean()
        category = data.get("category")
        if category is None:
            return data
        names = self.attribute_fields.get(category.pk, {})
        submitted = {code: data.get(name) for code, name in names.items()}
        submitted = {code: value for code, value in submitted.items() if value not in (None, "", [])}
        try:
            clean_attribute_values(category, submitted)
        except ValidationError as exc:
            for message in exc.messages:
                self.add_error(None, message)
        data["attributes"] = submitted
        return data


class EventFilterForm(FilterForm):
    q = forms.CharField(label="搜索", required=False, widget=forms.TextInput(attrs={"placeholder": "标题或描述"}))
    status = forms.ChoiceField(label="状态", required=False, choices=[("", "全部"), ("open", "未办结")] + list(Event.Status.choices))
    category = forms.TypedChoiceField(label="类别", required=False, coerce=int, empty_value=None)
    tier = forms.ChoiceField(label="当前层级", required=False)
    source = forms.ChoiceField(label="来源", required=False, choices=[("", "全部")] + list(Event.Source.choices))
    # Without a user (the API, the export job) any region number; scope() keeps the rows to the user's.
    region = forms.IntegerField(label="区域", required=False, min_value=1)
    overdue = forms.BooleanField(label="仅超期", required=False)
    mine = forms.BooleanField(label="只看我上报的", required=False)
    date_from = forms.DateField(label="上报日期起", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="上报日期止", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    sort = forms.ChoiceField(label="排序", required=False, choices=[(key, label) for key, (label, _) in EVENT_SORTS.items()])

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.fields["region"] = forms.TypedChoiceField(label="区域", required=False, coerce=int, empty_value=None,
                                                           choices=[("", "全部")] + self._region_choices(user))
        self.fields["category"].choices = [("", "全部")] + [
            (pk, name) for pk, name in EventCategory.objects.filter(parent__isnull=True).values_list("pk", "name")
        ]
        self.fields["tier"].choices = [("", "全部")] + list(Tier.objects.values_list("key", "name"))

    def filters(self) -> EventFilters:
        """The filters as chosen; a bad value is ignored (its error shows beside its field)."""
        data = self.valid_values()
        chosen = {name: data[name] for name in ("status", "category", "tier", "region", "overdue", "mine", "date_from",
                                                "date_to", "source", "sort") if data.get(name) not in (None, "")}
        return EventFilters(**chosen, q=(data.get("q") or "").strip())

    def _region_choices(self, user) -> list[tuple[int, str]]:
        """The user's regions down to the grids, and the micro-grid asked for (the map's areas link here)."""
        paths = region_grants(user).paths("grid.view_event")
        choices = region_choices(paths, superuser=user.is_superuser)
        asked = self.data.get("region", "") if self.data else ""
        if asked.isdigit() and int(asked) not in {pk for pk, _ in choices}:
            region = Region.objects.filter(pk=int(asked)).values_list("pk", "path", "full_path").first()
            if region and (user.is_superuser or any(region[1].startswith(path) for path in paths)):
                choices.append((region[0], region[2]))
        return choices


class StepForm(forms.Form):
    """One form for every step decision; which fields matter depends on the decision."""

    decision = forms.CharField()
    result = forms.CharField(required=False)
    reason = forms.CharField(required=False)
    department = forms.IntegerField(required=False)
    duplicate_of = forms.IntegerField(required=False, error_messages={"invalid": "请选择或填写被重复的事件编号。"})
    duplicate_of_number = forms.IntegerField(required=False, error_messages={"invalid": "请填写有效的事件编号。"})
    opinion = forms.CharField(required=False)
    requirements = forms.CharField(required=False)
    due_on = forms.DateField(required=False, error_messages={"invalid": "请填写有效的办理时限日期（年-月-日）。"})
    step_at = forms.CharField(required=False, max_length=60)  # grid.event_rules.step_token when the page was shown

    def error_messages_list(self) -> list[str]:
        return [message for errors in self.errors.values() for message in errors]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(label="满意度", coerce=int, choices=[(i, f"{i} 分") for i in range(5, 0, -1)])
    comment = forms.CharField(label="评价", required=False, max_length=200)

    def problems(self) -> list[str]:
        """What is wrong, field by field (the score's own message is plainer than Django's)."""
        found = ["请选择 1 到 5 分的满意度。"] if "rating" in self.errors else []
        return found + [f"评价{message}" for message in self.errors.get("comment", [])]
