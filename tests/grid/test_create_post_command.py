import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from governance.models import AuditEntry
from grid.models import Post

User = get_user_model()


def test_create_post_creates_the_user_and_the_post(county, capsys):
    call_command(
        "create_post", "--username", "lisi", "--role", "department", "--region", "太平镇",
        "--department", "农业农村办", "--password", "Li@si2026pw",
    )
    post = Post.objects.get(user__username="lisi")
    assert (post.role.key, post.region, post.department) == ("department", county.taiping, county.agriculture)
    assert User.objects.get(username="lisi").check_password("Li@si2026pw")
    assert "已任命" in capsys.readouterr().out
    assert post.user.has_perm("grid.view_region", county.louxing)


def test_create_post_accepts_the_full_path_and_an_existing_user(county):
    call_command("create_post", "--username", "wang", "--role", "grid_member", "--region", "某县/太平镇/楼星村/第1网格")
    call_command("create_post", "--username", "wang", "--role", "grid_leader", "--region", "太平镇/楼星村/第2网格")
    assert Post.objects.filter(user__username="wang").count() == 2
    assert User.objects.filter(username="wang").count() == 1


def test_department_of_a_parent_region_is_accepted(county):
    call_command("create_post", "--username", "zhao", "--role", "department", "--region", "太平镇/楼星村", "--department", "农业农村办")
    assert Post.objects.get(user__username="zhao").department == county.agriculture


@pytest.mark.parametrize(
    "args, message",
    [
        (["--role", "mayor", "--region", "太平镇"], "未知角色“mayor”"),
        (["--role", "grid_member", "--region", "太平镇/不存在村"], "找不到区域“太平镇/不存在村”"),
        (["--role", "department", "--region", "赵村镇", "--department", "农业农村办"], "没有名为“农业农村办”的部门"),
    ],
)
def test_mistakes_are_refused_in_chinese_and_write_nothing(county, args, message):
    users, posts, audits = User.objects.count(), Post.objects.count(), AuditEntry.objects.count()
    with pytest.raises(CommandError, match=message):
        call_command("create_post", "--username", "newbie", *args)
    assert (User.objects.count(), Post.objects.count(), AuditEntry.objects.count()) == (users, posts, audits)


def test_mistake_exits_non_zero_from_the_command_line(county, capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "create_post", "--username", "x", "--role", "nope", "--region", "太平镇"]).execute()
    assert exit_info.value.code != 0
    assert "未知角色" in capsys.readouterr().err


@pytest.mark.parametrize("username, password, message", [
    ("lisi", "Ab1!", "10"),  # too short (Django's rule, at the project's length)
    ("lisi", "abcdefghijk", "至少 3 类"),
    ("lisi", "12345678901234", "密码"),  # all digits, common
    ("zhangsanfeng", "Zhangsanfeng1", "密码"),  # like the user name
])
def test_create_post_refuses_a_password_that_breaks_the_password_rules(county, username, password, message):
    with pytest.raises(CommandError, match=message) as refused:
        call_command("create_post", "--username", username, "--role", "grid_member", "--region", "太平镇",
                     "--password", password)
    assert str(refused.value).startswith("密码不符合要求：")
    assert not User.objects.filter(username=username).exists() and not Post.objects.exists()
