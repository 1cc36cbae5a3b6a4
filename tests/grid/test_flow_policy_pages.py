"""The county office keeps its flow policy without admin rights: new versions for the county and its
townships from a page, audited; another county's office and other roles are refused."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid import services
from grid.models import FlowPolicy, Role


def new_version(client, region, **changes):
    data = {"effective_from": "", "use_grid": "on", "use_village": "on", "use_township": "on",
            "dispatch_at_township": "on", "verifier": "reporter_or_grid_leader", "department_may_send_back": "on",
            "rectification_office_verifies": "on", "note": ""}
    data.update(changes)
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(reverse("grid:flow_policy_new", args=[region.pk]), data)


@pytest.fixture(autouse=True)
def _urls():
    import config.urls  # noqa: F401


def test_county_office_saves_new_versions_for_its_county_and_townships(county, personas, client):
    today = timezone.localdate().isoformat()
    client.force_login(personas["county_office"])
    page = client.get(reverse("grid:flow_policies"))
    assert page.status_code == 200 and "太平镇" in page.content.decode()
    assert client.get(reverse("grid:flow_policy_new", args=[county.county.pk])).status_code == 200

    response = new_version(client, county.county, effective_from=today, patrol_township_review="on",
                           rectification_office_verifies=None, note="乡镇审核上报")
    assert response.status_code == 302
    policy = FlowPolicy.objects.get(region=county.county)
    assert policy.patrol_township_review and not policy.rectification_office_verifies and policy.version == 1
    entry = AuditEntry.objects.get(action="flow_policy.create", object_id=str(policy.pk))
    assert entry.actor == personas["county_office"]

    assert new_version(client, county.taiping, effective_from=today, use_village=None).status_code == 302
    assert FlowPolicy.objects.get(region=county.taiping).chain == ["grid", "township"]


def test_an_unsound_version_is_refused_in_chinese_and_nothing_is_saved(county, personas, client):
    client.force_login(personas["county_office"])
    response = new_version(client, county.county, effective_from=timezone.localdate().isoformat(),
                           use_grid=None, use_village=None, use_township=None, dispatch_at_township=None)
    assert response.status_code == 422 and "处置链不能为空" in response.content.decode()
    assert not FlowPolicy.objects.exists()


def test_other_counties_offices_and_other_roles_are_refused(county, personas, client):
    other = services.create_region(parent=None, name="另县", tier=county.tier("county"))
    other_office, _ = services.ensure_user("other_office", password="x")
    services.create_post(user=other_office, role=Role.objects.get(key="county_office"), region=other)
    client.force_login(other_office)
    assert client.get(reverse("grid:flow_policies")).status_code == 200
    assert "太平镇" not in client.get(reverse("grid:flow_policies")).content.decode()
    assert client.get(reverse("grid:flow_policy_new", args=[county.county.pk])).status_code == 404
    assert new_version(client, county.taiping).status_code == 404
    for name in ("township_office", "grid_leader", "outsider"):
        client.force_login(personas[name])
        assert client.get(reverse("grid:flow_policies")).status_code == 403
        assert new_version(client, county.taiping).status_code in (403, 404)
    assert not FlowPolicy.objects.exists()


def _rows_posted(client, region):
    """The deadline table as the page offers it (every tier and urgency), keyed by (tier, urgency)."""
    page = client.get(reverse("grid:flow_policy_new", args=[region.pk]))
    rows = page.context["rows"]
    data = {f"dl-{key}": value for key, value in rows.management_form.initial.items()}
    cells = {}
    for index, form in enumerate(rows.forms):
        values = form.initial
        cells[(values["tier"], values["urgency"])] = index
        data.update({f"dl-{index}-tier": values["tier"], f"dl-{index}-urgency": values["urgency"],
                     f"dl-{index}-hours": values["hours"] or "", f"dl-{index}-action": values["action"]})
        if values["working_hours"]:
            data[f"dl-{index}-working_hours"] = "on"
    return data, cells


def test_county_office_sets_each_tiers_deadline_and_timeout_on_the_page(county, personas, client):
    """The office gives the township 24 working hours for an urgent case, escalating on timeout to the
    county centre; the village tier is left out, so its filled rows do not become deadlines."""
    today = timezone.localdate().isoformat()
    client.force_login(personas["county_office"])
    data, cells = _rows_posted(client, county.county)
    assert len(cells) == 12  # four tiers × three urgencies
    township = cells[("township", "urgent")]
    data.update({f"dl-{township}-hours": "24", f"dl-{township}-working_hours": "on", f"dl-{township}-action": "escalate"})
    village = cells[("village", "normal")]
    data.update({f"dl-{village}-hours": "48"})
    county_row = cells[("county", "urgent")]
    data.update({f"dl-{county_row}-hours": "8"})
    response = new_version(client, county.county, effective_from=today, use_village=None, use_county="on",
                           dispatch_at_county="on", **data)
    assert response.status_code == 302, response.content.decode()
    policy = FlowPolicy.objects.get(region=county.county)
    rows = {(row.tier, row.urgency): (row.hours, row.working_hours, row.action) for row in policy.deadlines.all()}
    assert rows == {("township", "urgent"): (24, True, "escalate"), ("county", "urgent"): (8, False, "supervise")}


def test_a_timeout_escalating_above_the_top_tier_or_a_bad_hour_count_is_refused(county, personas, client):
    today = timezone.localdate().isoformat()
    client.force_login(personas["county_office"])
    data, cells = _rows_posted(client, county.county)
    top = cells[("township", "normal")]
    data.update({f"dl-{top}-hours": "12", f"dl-{top}-action": "escalate"})
    response = new_version(client, county.county, effective_from=today, **data)
    assert response.status_code == 422 and "超期只能督办" in response.content.decode()
    data.update({f"dl-{top}-hours": "0", f"dl-{top}-action": "supervise"})
    response = new_version(client, county.county, effective_from=today, **data)
    assert response.status_code == 422 and "乡镇（街道）·一般：" in response.content.decode()
    assert not FlowPolicy.objects.exists()
