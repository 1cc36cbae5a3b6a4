"""The county office's flow policy: refused when unsound (Chinese messages), versioned, audited, edited
in the admin; a case keeps the version it was reported under."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.models import AuditEntry
from grid import events, services
from grid.flow_policy import policy_in_force, policy_problems
from grid.models import FlowPolicy


@pytest.mark.parametrize("fields, message", [
    ({"use_grid": False, "use_village": False, "use_township": False}, "处置链不能为空"),
    ({"use_grid": False, "verifier": "grid_leader"}, "处置链未包含网格层级"),
    ({"verifier": "callback"}, "处置链未包含县网格化服务中心"),
    ({"use_village": False, "dispatch_at_village": True}, "不在处置链中，不能在该层级派单"),
    ({"use_county": True}, "须允许中心派单给县直部门"),
    ({"effective_from": datetime.date(2020, 1, 1)}, "生效日期不能早于今天"),
    ({"department_may_send_back": False, "send_back_limit": 2}, "部门不可退回时不能设置退回次数上限"),
])
def test_an_unsound_policy_is_refused_with_a_chinese_message(county, fields, message):
    with pytest.raises(ValidationError) as refused:
        services.create_flow_policy(by=None, region=county.county, **fields)
    assert any(message in text for text in refused.value.messages)
    assert not FlowPolicy.objects.exists()


def test_a_deadline_for_a_left_out_tier_or_escalating_from_the_top_is_refused(county):
    with pytest.raises(ValidationError, match="不在处置链中"):
        services.create_flow_policy(by=None, region=county.county, use_village=False,
                                    deadlines=[{"tier": "village", "urgency": "normal", "hours": 24}])
    with pytest.raises(ValidationError, match="超期只能督办"):
        services.create_flow_policy(by=None, region=county.county,
                                    deadlines=[{"tier": "township", "urgency": "normal", "hours": 24, "action": "escalate"}])


def test_a_policy_only_for_a_county_or_township(county):
    with pytest.raises(ValidationError, match="只能设在县或乡镇"):
        services.create_flow_policy(by=None, region=county.louxing)


def test_versions_count_up_and_a_township_overrides_its_county(county, personas):
    first = services.create_flow_policy(by=personas["county_office"], region=county.county)
    second = services.create_flow_policy(by=None, region=county.county, use_village=False)
    own = services.create_flow_policy(by=None, region=county.zhaocun, use_grid=False)
    assert (first.version, second.version, own.version) == (1, 2, 1)
    assert policy_in_force(county.grid1) == second
    assert policy_in_force(county.henan) == own
    later = services.create_flow_policy(by=None, region=county.county, use_county=True, dispatch_at_county=True,
                                        effective_from=timezone.localdate() + datetime.timedelta(days=3))
    assert policy_in_force(county.grid1) == second  # not in force before its date
    assert policy_in_force(county.grid1, on=later.effective_from) == later
    entry = AuditEntry.objects.get(action="flow_policy.create", object_id=str(first.pk))
    assert entry.actor == personas["county_office"]


def test_an_event_keeps_the_version_it_was_reported_under(county, personas, category):
    policy = services.create_flow_policy(by=None, region=county.county, use_village=False)
    event, _ = events.report_event(
        by=personas["grid_member"], region=county.micro1, category=category, title="违建", description="棚舍",
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="k1")
    assert event.flow_policy == policy and event.handling_region == county.grid1
    services.create_flow_policy(by=None, region=county.county)
    event.refresh_from_db()
    assert event.flow_policy == policy
    assert events.next_handling_region(event.handling_region, event.flow_policy) == county.taiping


def test_a_version_in_force_cannot_be_edited(county):
    policy = services.create_flow_policy(by=None, region=county.county)
    policy.use_village = False
    assert any("已生效" in problem for problem in policy_problems(policy))


# ---------------------------------------------------------------- the admin


@pytest.fixture
def county_office_admin(county, personas):
    """The county office's admin account: staff with the policy permissions granted directly."""
    user = personas["county_office"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.user_permissions.add(*Permission.objects.filter(codename__in=[
        "view_flowpolicy", "add_flowpolicy", "change_flowpolicy", "view_flowpolicydeadline",
        "add_flowpolicydeadline", "change_flowpolicydeadline", "delete_flowpolicydeadline"]))
    return get_user_model().objects.get(pk=user.pk)


def _form(county, **fields) -> dict:
    data = {
        "region": county.county.pk, "effective_from": timezone.localdate().isoformat(), "note": "",
        "use_grid": "on", "use_village": "on", "use_township": "on", "dispatch_at_township": "on",
        "verifier": "reporter", "returns_before_escalation": "", "department_may_send_back": "on",
        "send_back_limit": "",
        "deadlines-TOTAL_FORMS": "1", "deadlines-INITIAL_FORMS": "0", "deadlines-MIN_NUM_FORMS": "0",
        "deadlines-MAX_NUM_FORMS": "1000",
        "deadlines-0-tier": "grid", "deadlines-0-urgency": "normal", "deadlines-0-hours": "24",
        "deadlines-0-action": "escalate",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}


def test_the_county_office_adds_a_policy_in_the_admin_and_it_is_audited(client, county, county_office_admin):
    client.force_login(county_office_admin)
    response = client.post("/admin/grid/flowpolicy/add/", _form(county))
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = FlowPolicy.objects.get()
    assert policy.version == 1 and policy.chain == ["grid", "village", "township"]
    assert list(policy.deadlines.values_list("tier", "hours", "action")) == [("grid", 24, "escalate")]
    entry = AuditEntry.objects.get(action="admin.flowpolicy.create")
    assert entry.actor == county_office_admin and entry.after["deadlines"] == ["grid/normal/24h/escalate"]


def test_the_admin_refuses_an_unsound_policy_in_chinese(client, county, county_office_admin):
    client.force_login(county_office_admin)
    response = client.post("/admin/grid/flowpolicy/add/", _form(
        county, use_grid=None, use_village=None, use_township=None, dispatch_at_township=None))
    assert response.status_code == 200 and "处置链不能为空" in response.content.decode()
    response = client.post("/admin/grid/flowpolicy/add/", _form(county, use_grid=None))
    assert "时限设置中的“网格”不在处置链中" in response.content.decode()
    assert not FlowPolicy.objects.exists()


def test_a_version_in_force_is_read_only_in_the_admin(client, county, county_office_admin):
    policy = services.create_flow_policy(by=None, region=county.county)
    client.force_login(county_office_admin)
    response = client.post(f"/admin/grid/flowpolicy/{policy.pk}/change/", _form(county, use_village=None))
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.use_village


def test_users_without_the_admin_grant_cannot_open_the_policies(client, county, personas):
    client.force_login(personas["township_office"])
    assert client.get("/admin/grid/flowpolicy/").status_code in (302, 403)
