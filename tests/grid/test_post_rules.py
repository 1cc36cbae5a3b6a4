"""Who may appoint and end which post: one rule for both, and the region page offers only what it allows.

The personas are posted as on the demo county: the township office (镇综合办), committee (镇党委),
discipline (纪检监察), a lead department's staff (职能部门, 农业农村办) and a supervision group at 太平镇;
the county office (县委巡察办) and the leading group (领导小组) at the county.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from grid import services
from grid.models import Post, Role

User = get_user_model()
TODAY = timezone.localdate


def detail_url(region):
    return reverse("system:region_detail", args=[region.pk])


def post_of(user) -> Post:
    return Post.objects.get(user=user)


def end_button(post) -> str:
    return f'name="post" value="{post.pk}"'


def end_from_page(client, user, post):
    client.force_login(user)
    return client.post(detail_url(post.region), {"action": "end_post", "post": post.pk})


def appoint_on_page(client, appointer, region, username, role_key, department=None):
    client.force_login(appointer)
    data = {"action": "appoint", "post-username": username, "post-role": Role.objects.get(key=role_key).pk,
            "post-start_date": TODAY().isoformat()}
    if department is not None:
        data["post-department"] = department.pk
    return client.post(detail_url(region), data)


# ------------------------------------------------------------------ ending obeys the appointing rule


def test_the_township_office_cannot_end_the_discipline_post_of_its_township(client, county, personas):
    discipline = post_of(personas["discipline"])
    response = end_from_page(client, personas["township_office"], discipline)
    assert response.status_code == 403
    assert "权限超出" in response.content.decode()
    discipline.refresh_from_db()
    assert discipline.end_date is None
    with pytest.raises(PermissionDenied):
        services.end_post(discipline, by=personas["township_office"])


def test_the_county_office_cannot_end_a_leading_group_post(client, county, personas):
    leading = post_of(personas["leading_group"])
    assert end_from_page(client, personas["county_office"], leading).status_code == 403
    leading.refresh_from_db()
    assert leading.end_date is None


def test_the_region_page_offers_to_end_only_the_posts_the_viewer_may_end(client, county, personas):
    client.force_login(personas["township_office"])
    page = client.get(detail_url(county.taiping)).content.decode()
    for allowed in ("department", "supervision_group"):
        assert end_button(post_of(personas[allowed])) in page, allowed
    for refused in ("township_committee", "discipline", "township_office"):
        assert end_button(post_of(personas[refused])) not in page, refused
    # What the page offers, the action does.
    assert end_from_page(client, personas["township_office"], post_of(personas["supervision_group"])).status_code == 302


def test_the_county_office_may_end_a_department_post_it_may_manage(client, county, personas):
    department = post_of(personas["department"])
    client.force_login(personas["county_office"])
    assert end_button(department) in client.get(detail_url(county.taiping)).content.decode()
    assert end_from_page(client, personas["county_office"], department).status_code == 302
    department.refresh_from_db()
    assert department.end_date == TODAY()


# ------------------------------------------------------------------ nobody appoints themselves


def test_the_township_office_cannot_appoint_itself_to_a_department_post(client, county, personas):
    office = personas["township_office"]
    response = appoint_on_page(client, office, county.louxing, office.username, "department", county.agriculture)
    assert response.status_code == 422
    assert "不能任命或免去本人的岗位" in response.content.decode()
    assert not Post.objects.filter(user=office, role__key="department").exists()
    with pytest.raises(PermissionDenied, match="本人"):
        services.create_post(user=office, role=Role.objects.get(key="department"), region=county.taiping,
                             department=county.agriculture, by=office)
    # Someone else, yes: naming a department's staff is the township's ordinary work.
    assert appoint_on_page(client, office, county.louxing, "outsider", "department", county.agriculture).status_code == 302


def test_nobody_ends_their_own_post_not_even_a_superuser(client, county, personas):
    office = personas["township_office"]
    own = post_of(office)
    client.force_login(office)
    assert end_button(own) not in client.get(detail_url(county.taiping)).content.decode()
    assert end_from_page(client, office, own).status_code == 403
    root = User.objects.create_superuser("root", password="Root@2026pw")
    with pytest.raises(PermissionDenied, match="本人"):
        services.create_post(user=root, role=Role.objects.get(key="county_office"), region=county.county, by=root)


def test_a_grid_leader_is_still_appointed_by_the_township_office(client, county, personas):
    response = appoint_on_page(client, personas["township_office"], county.grid2, "outsider", "grid_leader")
    assert response.status_code == 302
    assert Post.objects.get(user=personas["outsider"]).role.key == "grid_leader"


# ------------------------------------------------------------------ verifying and scoring posts


def test_a_scoring_post_needs_a_department(client, county, personas):
    response = appoint_on_page(client, personas["township_office"], county.louxing, "outsider", "department")
    assert response.status_code == 422
    assert "必须属于一个部门" in response.content.decode()
    assert not Post.objects.filter(user=personas["outsider"]).exists()


def test_a_scoring_post_of_a_department_the_appointer_cannot_manage_is_refused(client, county, personas):
    county_bureau = services.create_department(name="县农业农村局", region=county.county)
    response = appoint_on_page(client, personas["township_office"], county.louxing, "outsider", "department",
                               county_bureau)
    assert response.status_code == 422
    assert "只能由可管理“县农业农村局”的人员" in response.content.decode()
    with pytest.raises(PermissionDenied):
        services.create_post(user=personas["outsider"], role=Role.objects.get(key="department"),
                             region=county.louxing, department=county_bureau, by=personas["township_office"])
    # The county office manages the county's departments.
    assert appoint_on_page(client, personas["county_office"], county.louxing, "outsider", "department",
                           county_bureau).status_code == 302
