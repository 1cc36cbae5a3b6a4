"""The Django admin: every page opens, every change is audited, view-only records stay view-only."""

from __future__ import annotations

import datetime

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from governance import audit
from governance.models import AuditEntry
from grid.models import CadenceRule, Event, EventCategory, Household, Post, Region, Role
from workflows.models import Holiday, SLARule

User = get_user_model()
OUR_APPS = {"governance", "grid", "workflows", "inspection", "rectification"}


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("admin", "admin@example.com", "Admin@2026pw")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


def last_entry(action: str) -> AuditEntry:
    return AuditEntry.objects.filter(action=action).latest("id")


def change_form_data(model_admin, obj, request, **changes) -> dict:
    """The POST body of an unchanged change form for `obj`, with `changes` applied."""
    form = model_admin.get_form(request, obj, change=True)(instance=obj)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, list | tuple):
            value = [getattr(item, "pk", item) for item in value]
        elif isinstance(value, bool):
            if not value:
                continue  # an unchecked box is absent from a POST
            value = "on"
        elif value is None:
            value = ""
        data[name] = value
    data.update(changes)
    return data


def test_superuser_opens_every_changelist_add_and_change_page(admin_client, personas, rf, superuser):
    request = rf.get("/admin/")
    request.user = superuser
    registered = [(model, model_admin) for model, model_admin in admin.site._registry.items()]
    assert {model._meta.app_label for model, _ in registered} >= OUR_APPS - {"rectification"}
    for model, model_admin in registered:
        response = admin_client.get(admin_url(model, "changelist"))
        assert response.status_code == 200, model
        if model_admin.has_add_permission(request):
            assert admin_client.get(admin_url(model, "add")).status_code == 200, model
        obj = model._default_manager.order_by("pk").first()
        if obj is not None:
            assert admin_client.get(admin_url(model, "change", obj.pk)).status_code == 200, model


def test_admin_site_has_chinese_titles(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert "县域网格化治理系统 后台配置" in page


def test_editing_a_cadence_rule_writes_an_audit_entry_with_before_and_after(admin_client, superuser, rf):
    rule = CadenceRule.objects.order_by("pk").first()
    old_times = rule.times
    request = rf.get("/")
    request.user = superuser
    data = change_form_data(admin.site._registry[CadenceRule], rule, request, times=old_times + 2)
    response = admin_client.post(admin_url(CadenceRule, "change", rule.pk), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.times == old_times + 2
    entry = last_entry("admin.cadencerule.change")
    assert entry.actor == superuser and entry.object_id == str(rule.pk)
    assert entry.before == {"times": old_times} and entry.after == {"times": old_times + 2}


def test_saving_without_changes_writes_no_audit_entry(admin_client, superuser, rf):
    rule = CadenceRule.objects.order_by("pk").first()
    request = rf.get("/")
    request.user = superuser
    before = AuditEntry.objects.count()
    data = change_form_data(admin.site._registry[CadenceRule], rule, request)
    assert admin_client.post(admin_url(CadenceRule, "change", rule.pk), data).status_code == 302
    assert AuditEntry.objects.count() == before


def test_editing_an_sla_rule_writes_an_audit_entry_with_before_and_after(admin_client, superuser, rf):
    rule = SLARule.objects.order_by("pk").first()
    old = {"hours": rule.hours, "auto_escalate": rule.auto_escalate}
    request = rf.get("/")
    request.user = superuser
    data = change_form_data(admin.site._registry[SLARule], rule, request, hours=rule.hours + 24)
    if rule.auto_escalate:
        del data["auto_escalate"]
    else:
        data["auto_escalate"] = "on"
    assert admin_client.post(admin_url(SLARule, "change", rule.pk), data).status_code == 302
    entry = last_entry("admin.slarule.change")
    assert entry.before == old
    assert entry.after == {"hours": old["hours"] + 24, "auto_escalate": not old["auto_escalate"]}


def test_adding_and_deleting_a_holiday_is_audited(admin_client):
    response = admin_client.post(admin_url(Holiday, "add"), {"date": "2026-10-01", "name": "国庆节"})
    assert response.status_code == 302
    holiday = Holiday.objects.get(date=datetime.date(2026, 10, 1))
    assert last_entry("admin.holiday.create").after["name"] == "国庆节"
    response = admin_client.post(admin_url(Holiday, "delete", holiday.pk), {"post": "yes"})
    assert response.status_code == 302 and not Holiday.objects.filter(pk=holiday.pk).exists()
    entry = last_entry("admin.holiday.delete")
    assert entry.object_id == str(holiday.pk) and entry.before["name"] == "国庆节"


def test_bulk_delete_action_audits_each_row(admin_client):
    holidays = [Holiday.objects.create(date=datetime.date(2026, 5, day), name="劳动节") for day in (1, 2)]
    response = admin_client.post(
        admin_url(Holiday, "changelist"),
        {"action": "delete_selected", "_selected_action": [h.pk for h in holidays], "post": "yes"},
    )
    assert response.status_code == 302
    assert not Holiday.objects.filter(name="劳动节").exists()
    deleted = set(AuditEntry.objects.filter(action="admin.holiday.delete").values_list("object_id", flat=True))
    assert deleted >= {str(h.pk) for h in holidays}


def test_changing_a_roles_permissions_is_audited_and_takes_effect(admin_client, personas, superuser, rf):
    role = Role.objects.get(key="grid_member")
    export = Permission.objects.get(content_type__app_label="grid", codename="export_event")
    assert not User.objects.get(pk=personas["grid_member"].pk).has_perm("grid.export_event")
    request = rf.get("/")
    request.user = superuser
    permissions = sorted([*role.permissions.values_list("pk", flat=True), export.pk])
    data = change_form_data(admin.site._registry[Role], role, request, permissions=permissions)
    assert admin_client.post(admin_url(Role, "change", role.pk), data).status_code == 302
    entry = last_entry("admin.role.change")
    assert export.pk not in entry.before["permissions"] and export.pk in entry.after["permissions"]
    # Grants are computed per user object: a fresh request (a fresh user object) sees the new permission.
    assert User.objects.get(pk=personas["grid_member"].pk).has_perm("grid.export_event")


def test_audit_entries_are_view_only(admin_client, county):
    entry = AuditEntry.objects.order_by("pk").first()
    page = admin_client.get(admin_url(AuditEntry, "change", entry.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.get(admin_url(AuditEntry, "delete", entry.pk)).status_code == 403
    assert admin_client.post(admin_url(AuditEntry, "delete", entry.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(admin_url(AuditEntry, "change", entry.pk), {"action": "x"}).status_code == 403
    assert admin_client.get(admin_url(AuditEntry, "add")).status_code == 403
    response = admin_client.post(
        admin_url(AuditEntry, "changelist"), {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert AuditEntry.objects.filter(pk=entry.pk).exists() and response.status_code in (200, 302)
    assert audit.verify_chain()[1] is None


def test_events_are_view_only(admin_client, personas, county):
    category = EventCategory.objects.filter(parent__isnull=False).first()
    event = Event.objects.create(
        reporter=personas["grid_member"], region=county.grid1, handling_region=county.grid1, category=category,
        title="井盖缺失", description="路口井盖缺失", occurred_at="2026-01-05T08:00:00+08:00", idempotency_key="k1",
    )
    assert admin_client.get(admin_url(Event, "change", event.pk)).status_code == 200
    assert admin_client.post(admin_url(Event, "change", event.pk), {"title": "改"}).status_code == 403
    assert admin_client.get(admin_url(Event, "delete", event.pk)).status_code == 403
    assert admin_client.get(admin_url(Event, "add")).status_code == 403


def test_staff_without_permissions_is_refused_and_others_are_sent_to_login(client, personas):
    staff = personas["outsider"]
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    assert client.get(admin_url(CadenceRule, "changelist")).status_code == 403
    assert client.get(admin_url(SLARule, "add")).status_code == 403
    rule = CadenceRule.objects.order_by("pk").first()
    assert client.post(admin_url(CadenceRule, "change", rule.pk), {"times": 9}).status_code == 403
    assert client.get(admin_url(AuditEntry, "changelist")).status_code == 403

    client.force_login(personas["county_office"])  # not staff
    response = client.get(admin_url(CadenceRule, "changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_adding_a_region_goes_through_the_service(admin_client, county):
    data = {"parent": county.louxing.pk, "name": "第3网格", "tier": county.tier("grid").pk, "code": "", "households": "400"}
    response = admin_client.post(admin_url(Region, "add"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    region = Region.objects.get(name="第3网格")
    assert region.full_path == "某县/太平镇/楼星村/第3网格" and Region.objects.get_parent(region) == county.louxing
    assert last_entry("region.create").object_id == str(region.pk)


def test_adding_a_region_refuses_a_wrong_tier_or_duplicate_name(admin_client, county):
    count = Region.objects.count()
    wrong_tier = {"parent": county.louxing.pk, "name": "新镇", "tier": county.tier("township").pk}
    assert admin_client.post(admin_url(Region, "add"), wrong_tier).status_code == 200
    duplicate = {"parent": county.louxing.pk, "name": "第1网格", "tier": county.tier("grid").pk}
    page = admin_client.post(admin_url(Region, "add"), duplicate)
    assert page.status_code == 200 and "已有名为" in page.content.decode()
    assert Region.objects.count() == count


def test_renaming_a_region_refreshes_full_paths_of_its_subtree(admin_client, county):
    data = {"name": "楼星社区", "code": "C-TP-LX", "households": ""}
    response = admin_client.post(admin_url(Region, "change", county.louxing.pk), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    county.micro1.refresh_from_db()
    assert county.micro1.full_path == "某县/太平镇/楼星社区/第1网格/第1微网格"
    entry = last_entry("region.update")
    assert entry.object_id == str(county.louxing.pk)
    assert entry.before["name"] == "楼星村" and entry.after["name"] == "楼星社区"


def test_regions_cannot_be_moved_or_deleted_in_the_admin(admin_client, county):
    path = county.dalou.path
    response = admin_client.post(
        admin_url(Region, "changelist") + "move/", {"node": county.dalou.pk, "target": county.zhaocun.pk, "relation": "child"}
    )
    assert response.status_code == 400
    county.dalou.refresh_from_db()
    assert county.dalou.path == path
    assert admin_client.get(admin_url(Region, "delete", county.dalou.pk)).status_code == 403


def test_posts_are_created_and_ended_through_the_services(admin_client, personas, county):
    user = personas["outsider"]
    data = {
        "user": user.pk, "role": Role.objects.get(key="grid_member").pk, "region": county.grid2.pk,
        "department": "", "start_date": "2026-01-01", "note": "",
    }
    assert admin_client.post(admin_url(Post, "add"), data).status_code == 302
    post = Post.objects.get(user=user)
    assert last_entry("post.create").object_id == str(post.pk)
    response = admin_client.post(admin_url(Post, "change", post.pk), {"end_date": "2026-02-01", "note": "调岗"})
    assert response.status_code == 302, response.content.decode()[:3000]
    post.refresh_from_db()
    assert post.end_date == datetime.date(2026, 2, 1) and post.note == "调岗"
    assert last_entry("post.end").after == {"end_date": "2026-02-01"}
    assert last_entry("admin.post.change").after == {"note": "调岗"}
    assert admin_client.get(admin_url(Post, "delete", post.pk)).status_code == 403


def test_event_category_parent_must_be_a_top_level_category(admin_client):
    child = EventCategory.objects.filter(parent__isnull=False).first()
    data = {"parent": child.pk, "code": "X-1", "name": "三级类别", "sort_order": 0, "is_active": "on",
            "attributes-TOTAL_FORMS": 0, "attributes-INITIAL_FORMS": 0}  # the inline of extra fields
    page = admin_client.post(admin_url(EventCategory, "add"), data)
    assert page.status_code == 200
    assert not EventCategory.objects.filter(code="X-1").exists()
    data["parent"] = child.parent_id
    assert admin_client.post(admin_url(EventCategory, "add"), data).status_code == 302
    assert last_entry("admin.eventcategory.create").after["parent"] == child.parent_id


def test_region_scoped_grants_do_not_open_the_admin(client, personas):
    # township_office holds grid.change_post on 太平镇 through its post; the admin is county-wide.
    office = personas["township_office"]
    office.is_staff = True
    office.save()
    assert office.has_perm("grid.change_post")
    client.force_login(office)
    assert client.get(admin_url(Post, "changelist")).status_code == 403
    assert client.get(admin_url(Region, "add")).status_code == 403

    office.user_permissions.add(Permission.objects.get(content_type__app_label="grid", codename="view_post"))
    assert client.get(admin_url(Post, "changelist")).status_code == 200
    assert client.get(admin_url(Post, "add")).status_code == 403


def test_the_household_form_keeps_the_registers_rules(admin_client, county):
    """The grid leader's page refuses a registration date after today (it would forbid every visit);
    the admin's form refuses it too, and an impossible moving-out date, with the same words."""
    today = timezone.localdate()
    data = {"region": county.grid1.pk, "head_name": "王五", "address": "楼星村 3 号", "note": "",
            "registered_on": (today + datetime.timedelta(days=1)).isoformat(), "left_on": ""}
    response = admin_client.post(admin_url(Household, "add"), data)
    assert response.status_code == 200
    assert "登记日期不能晚于今天。" in response.content.decode()
    response = admin_client.post(admin_url(Household, "add"), {**data, "registered_on": today.isoformat(),
                                                               "left_on": today.isoformat()})
    assert "迁出日期应晚于登记日期。" in response.content.decode()
    assert not Household.objects.exists()
    assert admin_client.post(admin_url(Household, "add"), {**data, "registered_on": today.isoformat()}).status_code == 302
    household = Household.objects.get()
    assert household.registered_on == today
    assert last_entry("admin.household.create").object_id == str(household.pk)
