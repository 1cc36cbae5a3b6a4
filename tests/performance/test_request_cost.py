"""What a signed-in user may do is read once and reused across their requests (grid.access_cache),
and dropped the moment a post, a role or a grant changes; the request-cost log and the ping page."""

import datetime

from django.contrib.auth.models import Group
from django.db import connection
from django.test import modify_settings, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm, remove_perm

from grid import access_cache, events, services
from grid.models import Post, Role

ACCESS_TABLES = ("auth_permission", "grid_post", "guardian_userobjectpermission", "guardian_groupobjectpermission")


def access_queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    return response.status_code, [q["sql"] for q in captured.captured_queries
                                  if any(f'"{table}"' in q["sql"] for table in ACCESS_TABLES)]


def test_a_second_page_reads_no_permissions_or_posts(client, personas):
    client.force_login(personas["grid_member"])
    status, first = access_queries(client, reverse("grid:my_tasks"))
    assert status == 200 and first, "the first page reads the user's permissions"
    client.get(reverse("grid:events"))  # the first list of events reads the single-event grants once
    for url in (reverse("grid:my_tasks"), reverse("grid:events"), reverse("grid:event_report")):
        status, again = access_queries(client, url)
        assert status == 200
        assert again == [], f"{url} read permissions again: {again}"


def test_ending_a_post_closes_the_pages_on_the_next_request(client, personas):
    user = personas["grid_member"]
    client.force_login(user)
    assert client.get(reverse("grid:event_report")).status_code == 200
    services.end_post(Post.objects.get(user=user), by=personas["township_office"])
    assert client.get(reverse("grid:event_report")).status_code == 403


def test_a_new_post_opens_the_pages_on_the_next_request(client, county, personas):
    user = personas["outsider"]
    client.force_login(user)
    assert client.get(reverse("grid:event_report")).status_code == 403
    services.create_post(user=user, role=Role.objects.get(key="grid_member"), region=county.micro1)
    assert client.get(reverse("grid:event_report")).status_code == 200


def test_a_role_losing_a_permission_is_seen_on_the_next_request(client, personas):
    user = personas["grid_member"]
    client.force_login(user)
    assert client.get(reverse("grid:event_report")).status_code == 200
    role = Post.objects.get(user=user).role
    role.permissions.remove(*role.permissions.filter(codename="add_event"))
    assert client.get(reverse("grid:event_report")).status_code == 403


def test_a_group_or_single_grant_change_is_seen_on_the_next_request(county, personas, django_user_model):
    def next_request_may_see() -> bool:
        user = django_user_model.objects.get(pk=personas["outsider"].pk)  # a new request's user
        access_cache.load(user)
        return user.has_perm("grid.view_region", county.zhaocun)

    assert not next_request_may_see()
    assert not next_request_may_see()  # now from the cache
    group = Group.objects.create(name="临时上报")
    assign_perm("grid.view_region", group, county.zhaocun)
    group.user_set.add(personas["outsider"])
    assert next_request_may_see()
    remove_perm("grid.view_region", group, county.zhaocun)
    assert not next_request_may_see()
    assign_perm("grid.view_region", personas["outsider"], county.zhaocun)
    assert next_request_may_see()


def test_a_post_that_ends_at_midnight_ends_without_any_change(client, personas, monkeypatch):
    user = personas["grid_member"]
    post = Post.objects.get(user=user)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    Post.objects.filter(pk=post.pk).update(end_date=tomorrow)  # no signal: as if ended long ago
    access_cache.bump()
    client.force_login(user)
    assert client.get(reverse("grid:event_report")).status_code == 200
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: tomorrow)
    assert client.get(reverse("grid:event_report")).status_code == 403


def test_the_cache_can_be_turned_off(client, personas):
    client.force_login(personas["grid_member"])
    with override_settings(ACCESS_CACHE_SECONDS=0):
        client.get(reverse("grid:my_tasks"))
        _, again = access_queries(client, reverse("grid:my_tasks"))
    assert again, "with the cache off every page reads the permissions"


def test_the_ping_page_answers_signed_in_users_only(client, personas):
    assert client.get(reverse("session_ping")).status_code == 302
    client.force_login(personas["grid_member"])
    response = client.get(reverse("session_ping"))
    assert response.status_code == 204 and response.content == b""


def test_the_request_cost_log_has_a_line_per_request(client, personas, tmp_path):
    log = tmp_path / "cost.log"
    client.force_login(personas["grid_member"])
    with override_settings(REQUEST_COST_LOG=str(log)), \
            modify_settings(MIDDLEWARE={"prepend": "governance.middleware.RequestCostMiddleware"}):
        client.get(reverse("grid:my_tasks"))
        client.get(reverse("session_ping"))
    lines = [line.split("\t") for line in log.read_text().splitlines()]
    assert [(name, method, status) for name, method, status, *_ in lines] == [
        ("grid:my_tasks", "GET", "200"), ("session_ping", "GET", "204")]
    cpu, wall, queries = float(lines[0][3]), float(lines[0][4]), int(lines[0][5])
    assert 0 < cpu and 0 < wall and queries > 0


def test_a_small_subtree_is_named_by_its_regions_and_a_new_region_is_seen_on_the_next_request(
        client, county, personas, category):
    """A village cadre's lists name the village's regions by id (no guess of how many regions a path
    prefix holds); a grid added to the village, and an event reported in it, show on the next page."""
    reporter, _ = services.ensure_user("village_member", password="Test@2026pw")
    services.create_post(user=reporter, role=Role.objects.get(key="grid_member"), region=county.louxing)
    cadre = personas["village_cadre"]
    client.force_login(cadre)
    client.get(reverse("grid:events"))  # the snapshot, with the village's regions, is kept
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("grid:events")).status_code == 200
    listing = [q["sql"] for q in captured.captured_queries if 'FROM "grid_event"' in q["sql"]]
    assert listing and all('"grid_region"' not in sql.split("WHERE", 1)[1] for sql in listing), listing

    grid3 = services.create_region(parent=county.louxing, name="第3网格", tier=county.tier("grid"))
    events.report_event(by=reporter, region=grid3, category=category, title="新网格里的上报",
                        description="描述", occurred_at=timezone.now(), idempotency_key="new-grid-1")
    assert "新网格里的上报" in client.get(reverse("grid:events")).content.decode()
