"""A huge number in an integer field gets a Chinese message beside the field, never an overflow (500): the
inspection forms have domain bounds, model forms take their column's range, and every other integer field
is held to PostgreSQL's integer (governance.input_rules)."""

from __future__ import annotations

import datetime

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance.input_rules import INTEGER_MAX
from grid.flow_policy_views import FlowPolicyVersionForm
from grid.models import FlowPolicy
from inspection.models import InspectionGroup, InspectionRound
from inspection.rounds.round_forms import GroupForm, RoundForm

HUGE = "99999999999999999999"


def round_data(county, **changes) -> dict:
    today = timezone.localdate()
    data = {"county": county.county.pk, "term": "十五届", "number": "3", "name": "十五届县委第三轮巡察",
            "arrival_date": f"{today + datetime.timedelta(days=10):%Y-%m-%d}",
            "withdrawal_date": f"{today + datetime.timedelta(days=60):%Y-%m-%d}", "rectification_months": "1"}
    data.update(changes)
    return data


@pytest.mark.parametrize(("value", "message"), [(HUGE, "99"), ("100", "99"), ("40000", "99"), ("0", "1")])
def test_a_round_number_out_of_range_is_a_form_error_not_a_500(county, personas, value, message):
    client = Client(raise_request_exception=True)
    client.force_login(personas["county_office"])
    response = client.post(reverse("inspection:round_new"), round_data(county, number=value))
    assert response.status_code == 422
    body = response.content.decode()
    assert "轮次" in body and message in body
    assert not InspectionRound.objects.exists()


def test_a_round_with_an_ordinary_number_is_still_created(county, personas):
    client = Client()
    client.force_login(personas["county_office"])
    response = client.post(reverse("inspection:round_new"), round_data(county))
    assert response.status_code == 302
    assert InspectionRound.objects.get().number == 3


@pytest.mark.parametrize("name", ["number", "fixed_villages", "mobile_villages", "mobile_days"])
def test_a_huge_group_figure_is_a_form_error_not_a_500(county, personas, name):
    today = timezone.localdate()
    round_ = InspectionRound.objects.create(
        county=county.county, term="十五届", number=2, name="十五届县委第二轮巡察", arrival_date=today,
        withdrawal_date=today + datetime.timedelta(days=40), created_by=personas["county_office"])
    data = {"number": "1", "name": "第一巡察组", "township": county.zhaocun.pk, "fixed_villages": "6",
            "mobile_villages": "6", "mobile_days": "7", name: HUGE}
    client = Client(raise_request_exception=True)
    client.force_login(personas["county_office"])
    response = client.post(reverse("inspection:round_group_new", args=[round_.pk]), data)
    assert response.status_code == 422
    assert "确保该值小于或等于" in response.content.decode()
    assert not InspectionGroup.objects.exists()


def test_every_integer_field_of_the_round_forms_has_an_upper_bound(county, personas):
    today = timezone.localdate()
    round_ = InspectionRound.objects.create(
        county=county.county, term="十五届", number=2, name="十五届县委第二轮巡察", arrival_date=today,
        withdrawal_date=today + datetime.timedelta(days=40), created_by=personas["county_office"])
    for form in (RoundForm(user=personas["county_office"]), GroupForm(round=round_)):
        for name, field in form.fields.items():
            if isinstance(field, forms.IntegerField):
                assert field.max_value is not None and field.max_value <= 32767, name


def test_an_integer_field_without_a_bound_is_held_to_the_database_integer():
    field = forms.IntegerField(required=False)
    with pytest.raises(ValidationError) as refused:
        field.clean(HUGE)
    assert refused.value.messages == [f"不能大于 {INTEGER_MAX}。"]
    with pytest.raises(ValidationError):
        field.clean(str(-INTEGER_MAX - 2))
    assert field.clean(str(INTEGER_MAX)) == INTEGER_MAX
    assert forms.IntegerField(max_value=10).clean("10") == 10


def test_a_model_form_field_takes_its_columns_range_whatever_the_database():
    send_back_limit = FlowPolicyVersionForm().fields["send_back_limit"]
    assert (send_back_limit.min_value, send_back_limit.max_value) == (0, 32767)
    assert InspectionRound._meta.get_field("number").formfield().max_value == 32767
    assert FlowPolicy._meta.get_field("version").formfield().max_value == INTEGER_MAX
    assert InspectionRound._meta.get_field("number").formfield(max_value=99).max_value == 99


@pytest.mark.parametrize("name", ["inspection:onsite_talks", "inspection:onsite_findings", "inspection:rounds"])
def test_a_list_filtered_by_a_huge_id_is_not_an_error(client, personas, name):
    client.force_login(personas["county_office"])
    assert client.get(reverse(name), {"round": HUGE, "group": HUGE}).status_code == 200
