from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from grid import services
from grid.models import Department, Role
from grid.regions import RegionNotFound, find_region


class Command(BaseCommand):
    help = "为用户任命岗位（用户不存在时创建）。例：manage.py create_post --username zhangsan --role grid_member --region 太平镇/楼星村/第1网格"

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True, help="用户名")
        parser.add_argument("--role", required=True, help="角色标识，如 grid_member")
        parser.add_argument("--region", required=True, help="区域路径，如 某县/太平镇/楼星村")
        parser.add_argument("--department", help="部门名称（须属于该区域或其上级区域）")
        parser.add_argument("--password", help="新建用户时设置的密码（须符合密码规则：至少 10 位，含三类字符，不能与用户名相近或过于常见）")
        parser.add_argument("--name", default="", help="新建用户时的姓名")

    def handle(self, *args, username, role, region, department, password, name, **options):
        username = username.strip()
        if not username:
            raise CommandError("用户名不能为空。")
        role_obj = Role.objects.filter(key=role).first()
        if role_obj is None:
            keys = "、".join(Role.objects.values_list("key", flat=True))
            raise CommandError(f"未知角色“{role}”。可用角色：{keys}")
        try:
            region_obj = find_region(region)
        except RegionNotFound as exc:
            raise CommandError(str(exc)) from exc
        department_obj = None
        if department:
            try:
                department_obj = services.department_for_post(region_obj, department)
            except Department.DoesNotExist as exc:
                raise CommandError(str(exc)) from exc
        if password is not None:
            _check_password(password, username=username, name=name)
        try:
            with transaction.atomic():
                user, created = services.ensure_user(username, password=password, full_name=name)
                post = services.create_post(user=user, role=role_obj, region=region_obj, department=department_obj)
        except ValidationError as exc:
            raise CommandError("；".join(exc.messages)) from exc
        if created:
            self.stdout.write(f"已创建用户 {username}" + ("" if password else "（未设置密码，无法登录，请用 changepassword 设置）"))
        self.stdout.write(f"已任命：{post}" + (f"（{department_obj.name}）" if department_obj else ""))


def _check_password(password: str, *, username: str, name: str) -> None:
    """The same password rules as every other way of setting one (AUTH_PASSWORD_VALIDATORS), in Chinese."""
    candidate = get_user_model().objects.filter(username=username).first() or get_user_model()(
        username=username, first_name=name)
    with translation.override(settings.LANGUAGE_CODE):
        try:
            password_validation.validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError("密码不符合要求：" + "；".join(str(message) for message in exc.messages)) from exc
