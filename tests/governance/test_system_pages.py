"""The 系统管理 pages end to end: the region tree, one region with its forms, posts, the audit trail."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance.models import AuditEntry
from grid import services
from grid.models import Department, Post, Region, Role, Tier

from .test_site_pages import menu_urls

User = get_user_model()
STRONG_PASSWORD = "Qiang@2026mima"


def as_user(client, user):
    client.force_login(user)
    return client


def detail_url(region):
    return reverse("system:region_detail", args=[region.pk])


def post_action(client, region, action, **data):
    return client.post(detail_url(region), {"action": action, **data})


def page_text(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------ region tree


def test_township_office_sees_its_township_tree_but_not_the_other_township(client, county, personas):
    as_user(client, personas["township_office"])
    page = page_text(client.get(reverse("system:regions")))
    assert "太平镇" in page and "楼星村" in page and "大楼村" in page
    assert "赵村镇" not in page and "河南村" not in page and "某县" not in page
    # Grids stay folded under their village by default; the village offers to open them.
    assert "第1网格" not in page
    assert f'href="?root={county.louxing.pk}"' in page and "展开 2 个" in page


def test_region_tree_opens_a_village_and_searches_by_name(client, county, personas):
    as_user(client, personas["township_office"])
    opened = page_text(client.get(reverse("system:regions"), {"root": county.louxing.pk}))
    assert "第1网格" in opened and "第1微网格" in opened and "大楼村" not in opened
    found = page_text(client.get(reverse("system:regions"), {"q": "微网格"}))
    assert "某县/太平镇/楼星村/第1网格/第1微网格" in found and "第2网格" not in found
    assert client.get(reverse("system:regions"), {"root": county.zhaocun.pk}).status_code == 404


def test_region_tree_indents_from_the_users_own_top_region(client, county, personas):
    as_user(client, personas["township_office"])
    page = page_text(client.get(reverse("system:regions"), {"level": "all"}))
    assert 'style="--gv-level: 0"' in page  # 太平镇, the top of what this user sees
    assert page.index("太平镇") < page.index("楼星村") < page.index("第1网格") < page.index("第1微网格") < page.index("大楼村")
    assert 'style="--gv-level: 3"' in page and 'style="--gv-level: 4"' not in page  # 第1微网格 is three below


def test_region_tree_reads_the_regions_in_one_query_whatever_their_number(client, county, personas):
    as_user(client, personas["county_office"])
    url = reverse("system:regions")
    client.get(url)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as small:
        assert client.get(url, {"level": "all"}).status_code == 200
    village, grid = Tier.objects.get(key="village"), Tier.objects.get(key="grid")
    for i in range(15):
        extra = services.create_region(parent=county.zhaocun, name=f"新村{i}", tier=village)
        services.create_region(parent=extra, name="第1网格", tier=grid, households=600)
    client.get(url)  # new regions move the access version: the first page after them reloads the user's access
    with CaptureQueriesContext(connection) as large:
        response = client.get(url, {"level": "all"})
    assert "新村14" in page_text(response)
    assert len(large.captured_queries) == len(small.captured_queries)


def test_region_tree_flags_grids_outside_the_household_norm(client, county, personas):
    services.update_region(county.grid2, households=620)
    as_user(client, personas["township_office"])
    page = page_text(client.get(reverse("system:regions"), {"warn": "on"}))
    assert "第2网格" in page and "超出规范范围 300–500 户" in page
    assert "第1网格/" not in page and "某县/太平镇/楼星村/第1网格<" not in page  # 420 households: within the norm
    assert "户数超出规范 1 个" in page


# ------------------------------------------------------------------ region forms


def test_township_office_adds_a_village_and_a_grid_under_it(client, county, personas):
    office = personas["township_office"]
    as_user(client, office)
    response = post_action(client, county.taiping, "add_child", **{
        "child-name": "新建村", "child-tier": Tier.objects.get(key="village").pk, "child-code": "C-TP-XJ",
    })
    assert response.status_code == 302 and response["Location"] == detail_url(county.taiping)
    village = Region.objects.get(full_path="某县/太平镇/新建村")
    assert village.code == "C-TP-XJ" and village.tier.key == "village"
    entry = AuditEntry.objects.get(action="region.create", object_id=str(village.pk))
    assert entry.actor == office and entry.region_path == village.path

    response = post_action(client, village, "add_child", **{
        "child-name": "第1网格", "child-tier": Tier.objects.get(key="grid").pk, "child-households": "350",
    })
    assert response.status_code == 302
    grid = Region.objects.get(full_path="某县/太平镇/新建村/第1网格")
    assert grid.households == 350
    page = page_text(client.get(detail_url(village)))
    assert "第1网格" in page and "已新增网格“第1网格”" in page
    assert "新建村" in page_text(client.get(reverse("system:regions")))


def test_child_with_a_tier_not_below_the_region_is_refused(client, county, personas):
    as_user(client, personas["township_office"])
    before = Region.objects.count()
    response = post_action(client, county.louxing, "add_child", **{
        "child-name": "错误的镇", "child-tier": Tier.objects.get(key="township").pk,
    })
    assert response.status_code == 422
    page = page_text(response)
    assert "不能设在“村(社区)”之下" in page
    assert 'value="错误的镇"' in page  # the input is kept
    assert Region.objects.count() == before
    assert not AuditEntry.objects.filter(action="region.create", object_repr__contains="错误的镇").exists()


def test_duplicate_code_or_sibling_name_is_refused_in_chinese(client, county, personas):
    as_user(client, personas["township_office"])
    village = Tier.objects.get(key="village").pk
    response = post_action(client, county.taiping, "add_child", **{"child-name": "新村", "child-tier": village, "child-code": "C-TP-LX"})
    assert response.status_code == 422 and "编码“C-TP-LX”已被其他区域使用" in page_text(response)
    response = post_action(client, county.taiping, "add_child", **{"child-name": "楼星村", "child-tier": village})
    assert response.status_code == 422 and "已有名为“楼星村”的区域" in page_text(response)
    assert not Region.objects.filter(name="新村").exists()


def test_editing_households_outside_the_norm_saves_with_a_warning(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.grid2, "edit", **{"edit-name": "第2网格", "edit-code": "G2", "edit-households": "620"})
    assert response.status_code == 302
    county.grid2.refresh_from_db()
    assert county.grid2.households == 620 and county.grid2.code == "G2"
    page = page_text(client.get(detail_url(county.grid2)))
    assert "网格户数 620 超出规范范围 300–500 户" in page
    entry = AuditEntry.objects.filter(action="region.update", object_id=str(county.grid2.pk)).get()
    assert entry.before["households"] == 380 and entry.after["households"] == 620


def test_renaming_a_village_renames_the_paths_of_its_subtree(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.louxing, "edit", **{"edit-name": "楼星社区", "edit-code": "C-TP-LX", "edit-households": ""})
    assert response.status_code == 302
    county.micro1.refresh_from_db()
    assert county.micro1.full_path == "某县/太平镇/楼星社区/第1网格/第1微网格"
    entry = AuditEntry.objects.filter(action="region.update", object_id=str(county.louxing.pk)).get()
    assert entry.before["name"] == "楼星村" and entry.after["name"] == "楼星社区"


def test_renaming_to_a_siblings_name_is_refused(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.louxing, "edit", **{"edit-name": "大楼村", "edit-code": "", "edit-households": ""})
    assert response.status_code == 422 and "已有名为“大楼村”的区域" in page_text(response)
    county.louxing.refresh_from_db()
    assert county.louxing.name == "楼星村"


def test_negative_households_are_refused(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.grid2, "edit", **{"edit-name": "第2网格", "edit-code": "", "edit-households": "-5"})
    assert response.status_code == 422 and 'value="-5"' in page_text(response)
    county.grid2.refresh_from_db()
    assert county.grid2.households == 380


def test_township_office_adds_a_department(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.taiping, "add_department", **{"dept-name": "平安办"})
    assert response.status_code == 302
    department = Department.objects.get(region=county.taiping, name="平安办")
    assert AuditEntry.objects.filter(action="department.create", object_id=str(department.pk)).exists()
    assert "平安办" in page_text(client.get(detail_url(county.taiping)))
    again = post_action(client, county.taiping, "add_department", **{"dept-name": "平安办"})
    assert again.status_code == 422 and "已有名为“平安办”的部门" in page_text(again)
    assert Department.objects.filter(name="平安办").count() == 1


def test_appointing_a_new_user_lets_them_log_in_with_access_at_once(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.grid2, "appoint", **{
        "post-username": "zhangsan", "post-full_name": "张三", "post-password": STRONG_PASSWORD,
        "post-role": Role.objects.get(key="grid_member").pk, "post-start_date": timezone.localdate().isoformat(),
    })
    assert response.status_code == 302
    user = User.objects.get(username="zhangsan")
    post = Post.objects.get(user=user)
    assert post.region == county.grid2 and post.role.key == "grid_member" and post.is_active
    assert AuditEntry.objects.filter(action="user.create", object_id=str(user.pk)).exists()
    assert AuditEntry.objects.filter(action="post.create", object_id=str(post.pk)).exists()
    assert "张三" in page_text(client.get(detail_url(county.grid2)))

    newcomer = Client()
    login = newcomer.post("/accounts/login/", {"username": "zhangsan", "password": STRONG_PASSWORD})
    assert login.status_code == 302
    assert newcomer.get(detail_url(county.grid2)).status_code == 200
    assert newcomer.get(detail_url(county.grid1)).status_code == 404  # the neighbouring grid
    assert newcomer.get(reverse("grid:event_report")).status_code == 200


def test_appointing_an_existing_user_with_an_ancestor_department(client, county, personas):
    as_user(client, personas["township_office"])
    outsider = personas["outsider"]
    response = post_action(client, county.louxing, "appoint", **{
        "post-username": "outsider", "post-role": Role.objects.get(key="department").pk,
        "post-department": county.agriculture.pk, "post-start_date": timezone.localdate().isoformat(),
        "post-password": "ignored-for-existing",
    })
    assert response.status_code == 302
    post = Post.objects.get(user=outsider)
    assert post.department == county.agriculture and post.region == county.louxing
    outsider.refresh_from_db()
    assert outsider.check_password("Test@2026pw")  # an existing account's password is never changed here


def test_no_one_appoints_a_role_with_more_power_than_their_own(client, county, personas):
    """A township office appoints grid staff, but not a role carrying a permission it lacks itself."""
    from django.contrib.auth.models import Permission

    configurer = Role.objects.create(key="role_admin", name="角色配置员")
    configurer.permissions.add(Permission.objects.get(codename="change_role", content_type__app_label="grid"))
    as_user(client, personas["township_office"])
    form_page = page_text(client.get(detail_url(county.louxing)))
    assert f'<option value="{Role.objects.get(key="grid_member").pk}">' in form_page
    assert f'<option value="{configurer.pk}">' not in form_page
    response = post_action(client, county.louxing, "appoint", **{
        "post-username": "outsider", "post-role": configurer.pk, "post-start_date": timezone.localdate().isoformat(),
    })
    assert response.status_code == 422
    assert not Post.objects.filter(user=personas["outsider"]).exists()
    with pytest.raises(PermissionDenied):
        services.create_post(user=personas["outsider"], role=configurer, region=county.louxing, by=personas["township_office"])


def test_appointing_a_new_user_without_password_is_refused(client, county, personas):
    as_user(client, personas["township_office"])
    response = post_action(client, county.grid2, "appoint", **{
        "post-username": "lisi", "post-full_name": "李四", "post-password": "",
        "post-role": Role.objects.get(key="grid_member").pk, "post-start_date": timezone.localdate().isoformat(),
    })
    assert response.status_code == 422
    page = page_text(response)
    assert "新账号请设置初始密码" in page and 'value="lisi"' in page and 'value="李四"' in page
    assert not User.objects.filter(username="lisi").exists()


def test_appointing_with_a_department_of_another_township_is_refused(client, county, personas):
    other = services.create_department(name="综治办", region=county.zhaocun)
    as_user(client, personas["township_office"])
    response = post_action(client, county.grid2, "appoint", **{
        "post-username": "wangwu", "post-full_name": "王五", "post-password": STRONG_PASSWORD,
        "post-role": Role.objects.get(key="grid_member").pk, "post-department": other.pk,
        "post-start_date": timezone.localdate().isoformat(),
    })
    assert response.status_code == 422
    assert not User.objects.filter(username="wangwu").exists() and not Post.objects.filter(department=other).exists()


def test_ending_a_post_removes_access_at_once(client, county, personas):
    member = personas["grid_member"]
    member_client = as_user(Client(), member)
    assert member_client.get(detail_url(county.grid1)).status_code == 200
    post = Post.objects.get(user=member)
    as_user(client, personas["township_office"])
    response = post_action(client, county.grid1, "end_post", post=post.pk)
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.end_date == timezone.localdate()
    assert AuditEntry.objects.filter(action="post.end", object_id=str(post.pk)).exists()
    # Without any post left, the whole 系统管理 area is closed to them (the same for every region).
    assert member_client.get(detail_url(county.grid1)).status_code == 403
    assert member_client.get(reverse("system:regions")).status_code == 403
    assert reverse("system:regions") not in menu_urls(member)
    page = page_text(client.get(detail_url(county.grid1)))
    assert "历任岗位（1）" in page
    again = post_action(client, county.grid1, "end_post", post=post.pk)
    assert again.status_code == 422 and "该岗位已经免去" in page_text(again)


def test_a_post_of_another_region_cannot_be_ended_from_this_page(client, county, personas):
    post = Post.objects.get(user=personas["grid_member"])
    as_user(client, personas["township_office"])
    assert post_action(client, county.grid2, "end_post", post=post.pk).status_code == 404
    post.refresh_from_db()
    assert post.end_date is None


# ------------------------------------------------------------------ refusals


def test_grid_member_sees_the_region_but_is_refused_every_form(client, county, personas):
    as_user(client, personas["grid_member"])
    page = page_text(client.get(detail_url(county.grid1)))
    assert "第1网格" in page and "新增下级区域" not in page and "修改区域信息" not in page and "任命岗位" not in page
    microgrid = Tier.objects.get(key="microgrid").pk
    attempts = {
        "add_child": {"child-name": "第9微网格", "child-tier": microgrid},
        "edit": {"edit-name": "第1网格", "edit-households": "999"},
        "add_department": {"dept-name": "自设部门"},
        "appoint": {"post-username": "grid_member", "post-role": Role.objects.get(key="grid_leader").pk,
                    "post-start_date": timezone.localdate().isoformat()},
        "end_post": {"post": Post.objects.get(user=personas["grid_leader"]).pk},
    }
    for action, data in attempts.items():
        assert post_action(client, county.grid1, action, **data).status_code == 403, action
    assert not Region.objects.filter(name="第9微网格").exists()
    assert Post.objects.filter(user=personas["grid_member"]).count() == 1


def test_grid_member_has_no_post_or_audit_pages(client, county, personas):
    member = personas["grid_member"]
    urls = menu_urls(member)
    assert reverse("system:posts") not in urls and reverse("system:audit") not in urls
    as_user(client, member)
    assert client.get(reverse("system:posts")).status_code == 403
    assert client.get(reverse("system:audit")).status_code == 403
    office_urls = menu_urls(personas["township_office"])
    assert {reverse("system:regions"), reverse("system:posts"), reverse("system:audit")} <= set(office_urls)


def test_region_outside_scope_is_404_for_view_and_forms(client, county, personas):
    # 巡察组 holds its post at 赵村镇: 太平镇 is outside its scope and looks as if it did not exist.
    as_user(client, personas["inspection_group"])
    assert client.get(detail_url(county.henan)).status_code == 200
    assert client.get(detail_url(county.taiping)).status_code == 404
    assert client.get(reverse("system:region_detail", args=[999999])).status_code == 404
    # A user with no post at all may not open the area: refused alike for existing and missing regions.
    as_user(client, personas["outsider"])
    assert client.get(detail_url(county.taiping)).status_code == 403
    assert client.get(reverse("system:region_detail", args=[999999])).status_code == 403
    assert client.get(reverse("system:regions")).status_code == 403
    as_user(client, personas["township_office"])
    assert client.get(detail_url(county.zhaocun)).status_code == 404
    assert client.get(detail_url(county.county)).status_code == 404
    response = post_action(client, county.henan, "add_department", **{"dept-name": "越权部门"})
    assert response.status_code == 404
    assert not Department.objects.filter(name="越权部门").exists()


def test_anonymous_users_are_sent_to_login(client, county):
    for url in (reverse("system:regions"), detail_url(county.taiping), reverse("system:posts"), reverse("system:audit")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# ------------------------------------------------------------------ posts


def test_post_list_is_scoped_to_the_users_regions(client, county, personas):
    as_user(client, personas["township_office"])
    page = page_text(client.get(reverse("system:posts")))
    for username in ("grid_member", "grid_leader", "village_cadre", "township_office", "discipline"):
        assert f"{username}</span>" in page, username
    for username in ("county_office", "leading_group", "inspection_group"):  # at the county or 赵村镇
        assert f"{username}</span>" not in page, username
    assert f'href="{detail_url(county.grid1)}#posts"' in page


def test_post_list_filters(client, county, personas):
    services.end_post(Post.objects.get(user=personas["village_cadre"]))
    as_user(client, personas["township_office"])
    url = reverse("system:posts")
    by_role = page_text(client.get(url, {"role": Role.objects.get(key="grid_leader").pk}))
    assert "grid_leader</span>" in by_role and "grid_member</span>" not in by_role
    by_region = page_text(client.get(url, {"region": "楼星村"}))
    assert "grid_instructor</span>" in by_region and "township_office</span>" not in by_region
    by_user = page_text(client.get(url, {"user": "member"}))
    assert "grid_member</span>" in by_user and "grid_leader</span>" not in by_user
    active = page_text(client.get(url))
    assert "village_cadre</span>" not in active  # ended posts are not listed by default
    ended = page_text(client.get(url, {"status": "ended"}))
    assert "village_cadre</span>" in ended and "grid_member</span>" not in ended and "已离任" in ended


def test_post_list_pages_without_counting(client, county, personas):
    role = Role.objects.get(key="grid_member")
    for i in range(55):
        user, _ = services.ensure_user(f"m{i:02d}")
        services.create_post(user=user, role=role, region=county.grid2, start_date=timezone.localdate() - datetime.timedelta(days=1))
    as_user(client, personas["township_office"])
    first = page_text(client.get(reverse("system:posts"), {"region": "第2网格"}))
    assert "下一页" in first and "共" not in first.split("gv-pagination")[1]
    assert "m49</span>" in first and "m50</span>" not in first
    second = page_text(client.get(reverse("system:posts"), {"region": "第2网格", "page": 2}))
    assert "m50</span>" in second and "m54</span>" in second and "m49</span>" not in second
    assert "下一页" not in second


# ------------------------------------------------------------------ audit


def test_audit_list_is_scoped_and_shows_before_and_after(client, county, personas):
    office = personas["township_office"]
    services.update_region(county.grid2, households=455, by=office)
    services.create_region(parent=county.zhaocun, name="赵村新村", tier=Tier.objects.get(key="village"), by=personas["county_office"])
    as_user(client, office)
    page = page_text(client.get(reverse("system:audit")))
    assert "赵村新村" not in page and "赵村镇" not in page
    assert "修改区域" in page and "&quot;households（户数）&quot;: 380" in page and "&quot;households（户数）&quot;: 455" in page
    assert "<details" in page

    county_page = page_text(as_user(Client(), personas["county_office"]).get(reverse("system:audit")))
    assert "赵村新村" in county_page and "第2网格" in county_page


def test_audit_list_filters(client, county, personas):
    office = personas["township_office"]
    services.update_region(county.grid2, households=455, by=office)
    services.create_department(name="平安办", region=county.taiping, by=personas["county_office"])
    as_user(client, office)
    url = reverse("system:audit")
    by_action = page_text(client.get(url, {"action": "department"}))
    assert "平安办" in by_action and "第2网格" not in by_action
    by_actor = page_text(client.get(url, {"actor": "township_office"}))
    assert "第2网格" in by_actor and "平安办" not in by_actor
    by_type = page_text(client.get(url, {"object_type": "grid.Department"}))
    assert "平安办" in by_type and "修改区域" not in by_type
    today = timezone.localdate()
    assert "平安办" in page_text(client.get(url, {"date_from": today.isoformat(), "date_to": today.isoformat()}))
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    assert "没有符合条件的记录" in page_text(client.get(url, {"date_to": yesterday}))


def test_superuser_verifies_the_audit_chain(client, county, personas, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", password=STRONG_PASSWORD)
    as_user(client, admin)
    page = page_text(client.get(reverse("system:audit")))
    assert "校验审计链" in page
    result = client.post(reverse("system:audit"))
    assert result.status_code == 200
    checked = AuditEntry.objects.count()
    assert f"审计链完整，共校验 {checked} 条记录" in page_text(result)

    as_user(client, personas["township_office"])
    assert "校验审计链" not in page_text(client.get(reverse("system:audit")))
    assert client.post(reverse("system:audit")).status_code == 403


@pytest.mark.django_db
def test_superuser_sees_a_broken_chain(client, county, django_user_model):
    admin = django_user_model.objects.create_superuser("admin", password=STRONG_PASSWORD)
    entry = AuditEntry.objects.order_by("id")[2]
    # Tamper below the model's append-only guard, as an attacker with database access would.
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {AuditEntry._meta.db_table} SET object_repr = %s WHERE id = %s", ["篡改", entry.pk])
    as_user(client, admin)
    page = page_text(client.post(reverse("system:audit")))
    assert "审计链已损坏" in page and f"第 {entry.pk} 号记录" in page
