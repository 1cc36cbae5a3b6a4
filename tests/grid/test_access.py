import datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from guardian.shortcuts import assign_perm

from grid import services
from grid.access import get_object_for_user, region_grants, scope
from grid.models import Department, Post, Region, Role

User = get_user_model()


def fresh(user):
    """The same user without cached grants, as a new request would load it."""
    return User.objects.get(pk=user.pk)


def test_township_office_sees_its_township_subtree_only(county, personas):
    user = personas["township_office"]
    visible = set(scope(user, Region.objects.all(), "grid.view_region").values_list("name", flat=True))
    assert visible == {"太平镇", "楼星村", "第1网格", "第1微网格", "第2网格", "大楼村"}


def test_grid_member_cannot_see_neighbouring_grid_or_village(county, personas):
    user = personas["grid_member"]
    assert user.has_perm("grid.view_region", county.micro1)
    assert not user.has_perm("grid.view_region", county.grid2)
    with pytest.raises(Http404):
        get_object_for_user(user, Region.objects.all(), "grid.view_region", pk=county.louxing.pk)


def test_ending_a_post_revokes_access_at_once(county, personas):
    user = personas["village_cadre"]
    post = Post.objects.get(user=user)
    assert fresh(user).has_perm("grid.view_region", county.louxing)

    services.end_post(post, by=personas["township_office"])

    assert not user.has_perm("grid.view_region", county.louxing)  # same object: cache dropped
    assert not fresh(user).has_perm("grid.view_region", county.louxing)
    assert Post.objects.filter(pk=post.pk).exists(), "an ended post stays as history"


def test_a_post_that_starts_later_grants_nothing_yet(county):
    user, _ = services.ensure_user("future")
    services.create_post(
        user=user, role=Role.objects.get(key="grid_member"), region=county.grid1,
        start_date=timezone.localdate() + datetime.timedelta(days=3),
    )
    assert not fresh(user).has_perm("grid.view_region", county.grid1)


def test_guardian_region_grant_covers_the_subtree(county, personas):
    user = personas["outsider"]
    assign_perm("grid.view_region", user, county.zhaocun)
    user = fresh(user)
    assert user.has_perm("grid.view_region", county.henan)
    assert not user.has_perm("grid.view_region", county.taiping)
    assert set(scope(user, Region.objects.all(), "grid.view_region").values_list("name", flat=True)) == {"赵村镇", "河南村"}


def test_guardian_grant_on_a_single_object_shares_only_that_object(county, personas):
    user = personas["outsider"]
    shared = county.agriculture
    other = Department.objects.create(name="林业站", region=county.taiping)
    assign_perm("grid.view_department", user, shared)
    user = fresh(user)
    assert user.has_perm("grid.view_department", shared)
    assert not user.has_perm("grid.view_department", other)
    assert list(scope(user, Department.objects.all(), "grid.view_department")) == [shared]


@pytest.mark.parametrize("holder", ["user", "group"])
def test_a_grant_on_one_object_is_not_honoured_for_another_permission(county, personas, holder):
    """Sharing one department to change it does not let anyone view it (nor a region's grant another codename)."""
    from django.contrib.auth.models import Group

    user = personas["outsider"]
    grantee = user
    if holder == "group":
        grantee = Group.objects.create(name="共享组")
        user.groups.add(grantee)
    assign_perm("grid.change_department", grantee, county.agriculture)
    assign_perm("grid.change_region", grantee, county.zhaocun)
    user = fresh(user)
    assert user.has_perm("grid.change_department", county.agriculture)
    assert not user.has_perm("grid.view_department", county.agriculture)
    assert not scope(user, Department.objects.all(), "grid.view_department").exists()
    assert list(scope(user, Department.objects.all(), "grid.change_department")) == [county.agriculture]
    assert user.has_perm("grid.change_region", county.henan)
    assert not user.has_perm("grid.view_region", county.henan)
    assert not scope(user, Region.objects.all(), "grid.view_region").exists()


def test_single_object_grants_of_every_model_are_read_in_two_queries(county, personas):
    """A user's and their groups' single-object grants are read together at the first question;
    each model and permission still gets only its own objects."""
    from django.contrib.auth.models import Group

    user = personas["outsider"]
    group = Group.objects.create(name="共享组")
    user.groups.add(group)
    forestry = Department.objects.create(name="林业站", region=county.taiping)
    assign_perm("grid.view_department", user, county.agriculture)
    assign_perm("grid.view_department", group, forestry)
    assign_perm("grid.change_department", user, forestry)
    assign_perm("grid.view_post", user, Post.objects.get(user=personas["grid_member"]))
    user = fresh(user)
    region_grants(user)  # the region-wide grants: their own queries
    with CaptureQueriesContext(connection) as ctx:
        views = set(scope(user, Department.objects.all(), "grid.view_department"))
        changes = set(scope(user, Department.objects.all(), "grid.change_department"))
        posts = set(scope(user, Post.objects.all(), "grid.view_post"))
        nothing = scope(user, Post.objects.all(), "grid.change_post").exists()
    assert views == {county.agriculture, forestry} and changes == {forestry}
    assert posts == {Post.objects.get(user=personas["grid_member"])} and not nothing
    assert sum("guardian_" in query["sql"] for query in ctx.captured_queries) == 2


def test_has_perm_query_count_does_not_grow_with_posts(county, personas):
    user = personas["county_office"]
    role = Role.objects.get(key="grid_leader")
    for region in Region.objects.all():
        services.create_post(user=user, role=role, region=region)
    user = fresh(user)
    grid = Region.objects.get(pk=county.grid1.pk)
    with CaptureQueriesContext(connection) as first:
        assert user.has_perm("grid.view_region", grid)
    with CaptureQueriesContext(connection) as second:
        assert user.has_perm("grid.view_post", county.henan)
        assert not user.has_perm("grid.delete_region", county.henan)
    assert len(first) <= 6
    # Later checks reuse the grants loaded for the request; only guardian's object check remains.
    assert len(second) <= 4


def test_a_permission_of_another_app_on_a_region_is_answered_not_raised(county, personas):
    """'May this user see audit entries in that region?' — True inside, False beside, no WrongAppError."""
    office = personas["township_office"]
    assert office.has_perm("governance.view_auditentry", county.louxing) is True
    assert office.has_perm("governance.view_auditentry", county.henan) is False
    assert personas["outsider"].has_perm("governance.view_auditentry", county.louxing) is False
