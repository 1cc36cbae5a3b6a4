"""Every drop-down of the site starts at 请选择, whoever builds it: a form, a model form or a filter form."""

import django_filters
from django import forms
from django.http import QueryDict

from governance.listing import FilterForm
from grid.models import Event, Region


def test_model_choice_field_starts_at_please_choose():
    field = forms.ModelChoiceField(queryset=Region.objects.none())
    assert field.empty_label == "请选择"
    assert forms.ModelChoiceField(queryset=Region.objects.none(), empty_label="全部").empty_label == "全部"


def test_model_field_with_choices_offers_please_choose_as_its_blank():
    assert Event._meta.get_field("urgency").get_choices()[0] == ("", "请选择")


def test_filter_form_drop_downs_start_at_please_choose(db):
    class EventFilter(django_filters.FilterSet):
        class Meta:
            model = Event
            fields = ["urgency", "region"]

    form = EventFilter({}, queryset=Event.objects.none()).form
    assert list(form.fields["urgency"].choices)[0] == ("", "请选择")
    assert form.fields["region"].empty_label == "请选择"


# ---------------------------------------------------------------- no errors before the first submit


class _KindFilter(FilterForm):
    kind = forms.ChoiceField(label="类型", choices=[("a", "甲"), ("b", "乙")])
    q = forms.CharField(label="搜索", required=False)


def test_filter_form_shows_no_errors_when_the_query_names_none_of_its_fields():
    for query in ("", "page=2", "other=1"):
        form = _KindFilter(QueryDict(query))
        assert not form.is_bound and not form.errors and form.valid_values() == {}
    submitted = _KindFilter(QueryDict("q=路灯&page=2"))
    assert submitted.is_bound and submitted.errors["kind"] == ["该字段是必填项。"]
    assert submitted.valid_values()["q"] == "路灯"  # the good field still filters
