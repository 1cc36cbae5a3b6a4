"""The audit log shows an entry only to a reader who may see its record by the record's own rule
(governance.visibility). Kind by kind: a same-region auditor whom the record's own pages refuse reads
none of its entries on the audit page or in its export, while a reader the rule allows still does.
"""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from grid import services as grid_services
from grid.models import Role
from rectification import services as rectification_services
from rectification.models import RectificationPlan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def reads(user, marker: str, **query) -> bool:
    """Whether `marker` shows on the audit page (filtered by `query`), asserting its export agrees."""
    client = _client(user)
    response = client.get(reverse("system:audit"), query)
    assert response.status_code == 200, response.status_code
    on_page = marker in response.content.decode()
    export = client.get(reverse("system:audit_export"), query)
    assert export.status_code == 200, export.status_code
    rows = [[cell.value for cell in row] for row in load_workbook(io.BytesIO(export.content)).active.iter_rows()]
    in_export = marker in json.dumps(rows, ensure_ascii=False, default=str)
    assert on_page == in_export, (user.username, on_page, in_export)
    return on_page


def status(user, name: str, *args) -> int:
    return _client(user).get(reverse(name, args=args)).status_code


@pytest.fixture
def plan(county, personas) -> RectificationPlan:
    return RectificationPlan.objects.create(organisation=county.taiping, title="太平镇整改方案A0",
                                            created_by=personas["county_office"])


@pytest.fixture
def group_member_who_audits(county):
    """A member of an inspection group posted at 太平镇 who also audits it: the group's role reads the
    plan and its items, not who was held accountable (grid/roles.py)."""
    user, _ = grid_services.ensure_user("group_auditor", password="x")
    grid_services.create_post(user=user, role=Role.objects.get(key="inspection_group"), region=county.taiping)
    auditor = Role.objects.create(key="plain_auditor", name="审计员")
    auditor.permissions.set([Permission.objects.get(content_type__app_label="governance", codename="view_auditentry")])
    grid_services.create_post(user=user, role=auditor, region=county.taiping)
    return user


def test_accountability_is_listed_on_the_plan_page_only_to_who_may_view_it(plan, personas, group_member_who_audits):
    rectification_services.add_accountability(plan, by=personas["discipline"], person="被问责人A1",
                                              level="general", measure="admonishment")
    group_page = _client(group_member_who_audits).get(reverse("rectification:plan_detail", args=[plan.pk]))
    assert group_page.status_code == 200
    assert "太平镇整改方案A0" in group_page.content.decode() and "被问责人A1" not in group_page.content.decode()
    for who in ("township_committee", "discipline", "county_office"):
        page = _client(personas[who]).get(reverse("rectification:plan_detail", args=[plan.pk]))
        assert "被问责人A1" in page.content.decode(), who


def test_accountability_entries_follow_the_accountability_permission(plan, personas, group_member_who_audits):
    rectification_services.add_accountability(plan, by=personas["discipline"], person="被问责人A2",
                                              level="general", measure="admonishment")
    assert not reads(group_member_who_audits, "被问责人A2")
    assert not reads(group_member_who_audits, "被问责人A2", object_type="rectification.Accountability")
    assert not reads(group_member_who_audits, "被问责人A2", object_type="rectification.RectificationPlan")
    for who in ("township_committee", "discipline"):
        assert reads(personas[who], "被问责人A2"), who
