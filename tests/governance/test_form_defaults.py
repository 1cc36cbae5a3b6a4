"""Every drop-down of the site starts at 请选择, whoever builds it: a form, a model form or a filter form."""

import django_filters
from django import forms

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
