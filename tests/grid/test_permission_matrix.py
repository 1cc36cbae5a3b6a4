"""The permission matrix: every role, posted at a village, on its own node, a child, the parent and a sibling.

A post grants its role's permissions on its region's whole subtree and never above or beside it.
"""

import pytest

from grid import services
from grid.access import scope
from grid.models import Department, Post, Region, Role

ALL_ROLES = [
    "grid_member", "grid_leader", "grid_instructor", "village_cadre", "township_office", "department",
    "supervision_group", "township_committee", "county_office", "inspection_group", "leading_group", "discipline",
]
# What each role's default permission set allows, as the roles are meant (grid/roles.py must agree).
MAY_CHANGE_REGIONS = {"township_office", "county_office"}
MAY_VIEW_POSTS = set(ALL_ROLES) - {"grid_member", "supervision_group"}
MAY_APPOINT = {"township_office", "county_office"}

# node -> whether a post at 楼星村 reaches it
REACH = {"own": True, "child": True, "parent": False, "sibling": False}


def _nodes(county):
    return {"own": county.louxing, "child": county.grid1, "parent": county.taiping, "sibling": county.dalou}


@pytest.fixture
def village_posts(county):
    users = {}
    for key in ALL_ROLES:
        user, _ = services.ensure_user(f"m_{key}", password="Test@2026pw")
        services.create_post(user=user, role=Role.objects.get(key=key), region=county.louxing)
        users[key] = user
    return users


@pytest.mark.parametrize("role_key", ALL_ROLES)
@pytest.mark.parametrize("node", list(REACH))
def test_region_permissions_follow_the_subtree(county, village_posts, role_key, node):
    user = village_posts[role_key]
    region = _nodes(county)[node]
    reach = REACH[node]

    assert user.has_perm("grid.view_region", region) is reach
    assert user.has_perm("grid.change_region", region) is (reach and role_key in MAY_CHANGE_REGIONS)
    assert user.has_perm("grid.add_post", region) is (reach and role_key in MAY_APPOINT)
    # The list scope agrees with the object check.
    assert scope(user, Region.objects.all(), "grid.view_region").filter(pk=region.pk).exists() is reach


@pytest.mark.parametrize("role_key", ALL_ROLES)
@pytest.mark.parametrize("node", list(REACH))
def test_posts_and_departments_at_a_node_follow_the_subtree(county, village_posts, role_key, node):
    region = _nodes(county)[node]
    department = services.create_department(name="测试办", region=region)
    other, _ = services.ensure_user(f"other_{node}")
    post = services.create_post(user=other, role=Role.objects.get(key="grid_member"), region=region)
    user = village_posts[role_key]
    reach = REACH[node]

    assert user.has_perm("grid.view_department", department) is reach
    assert scope(user, Department.objects.all(), "grid.view_department").filter(pk=department.pk).exists() is reach
    sees_post = reach and role_key in MAY_VIEW_POSTS
    assert user.has_perm("grid.view_post", post) is sees_post
    assert scope(user, Post.objects.all(), "grid.view_post").filter(pk=post.pk).exists() is sees_post


def test_user_without_post_sees_nothing(county, personas):
    outsider = personas["outsider"]
    assert not outsider.has_perm("grid.view_region", county.county)
    assert not outsider.has_perm("grid.view_region")
    assert scope(outsider, Region.objects.all(), "grid.view_region").count() == 0


def test_anonymous_sees_nothing(county):
    from django.contrib.auth.models import AnonymousUser

    assert scope(AnonymousUser(), Region.objects.all(), "grid.view_region").count() == 0
    assert not AnonymousUser().has_perm("grid.view_region", county.county)
