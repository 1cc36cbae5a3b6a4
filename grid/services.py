"""State changes of regions, departments and posts. Each takes the acting user and writes the audit trail."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from governance import audit

from .access import forget_grants
from .flow_policy import deadline_problems, next_version, policy_cache, policy_problems
from .models import (
    PATH_SEPARATOR,
    Department,
    FlowPolicy,
    FlowPolicyDeadline,
    Post,
    Region,
    Role,
    Tier,
    parent_path,
    paths_from_root,
)

User = get_user_model()


def _check_tier(parent: Region | None, tier: Tier) -> None:
    if parent is None:
        if tier.depth != 1:
            raise ValidationError(f"顶级区域的层级必须是“{Tier.objects.filter(depth=1).first() or '县'}”。")
    elif tier.depth <= parent.tier.depth:
        raise ValidationError(f"“{tier.name}”不能设在“{parent.tier.name}”之下。")


@transaction.atomic
def create_region(
    *, parent: Region | None, name: str, tier: Tier, code: str | None = None, households: int | None = None, by=None
) -> Region:
    name = name.strip()
    if not name or PATH_SEPARATOR in name:
        raise ValidationError(f"区域名称不能为空，也不能含有“{PATH_SEPARATOR}”。")
    _check_tier(parent, tier)
    full_path = f"{parent.full_path}{PATH_SEPARATOR}{name}" if parent else name
    fields = {"name": name, "tier": tier, "code": code or None, "households": households, "full_path": full_path}
    region = Region.objects.add_child(parent, fields) if parent else Region.objects.add_root(fields)
    audit.record("region.create", actor=by, obj=region, after=audit.snapshot(region, ["name", "code", "tier", "households"]))
    return region


@transaction.atomic
def update_region(region: Region, *, by=None, **changes) -> Region:
    """Change a region's name, code, households or tier (its place in the tree is changed in the admin).

    A new name is carried into the stored path of names of the region and its whole subtree.
    """
    unknown = set(changes) - {"name", "code", "households", "tier"}
    if unknown:
        raise ValueError(f"unsupported region fields {sorted(unknown)}")
    if "code" in changes:
        changes["code"] = changes["code"] or None
    renamed = "name" in changes and changes["name"].strip() != region.name
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"] or PATH_SEPARATOR in changes["name"]:
            raise ValidationError(f"区域名称不能为空，也不能含有“{PATH_SEPARATOR}”。")
        parent = Region.objects.get_parent(region)
        siblings = Region.objects.get_children(parent) if parent else Region.get_root_nodes()
        if renamed and siblings.filter(name=changes["name"]).exclude(pk=region.pk).exists():
            raise ValidationError(f"同一上级下已有名为“{changes['name']}”的区域。")
    before = audit.snapshot(region, ["name", "code", "tier", "households"])
    for field, value in changes.items():
        setattr(region, field, value)
    if "tier" in changes:
        _check_tier(Region.objects.get_parent(region), region.tier)
        for child in Region.objects.get_children(region).select_related("tier"):
            if child.tier.depth <= region.tier.depth:
                raise ValidationError(f"下级区域“{child.name}”的层级“{child.tier.name}”不能高于或等于“{region.tier.name}”。")
    after = audit.snapshot(region, ["name", "code", "tier", "households"])
    if after != before:
        region.save()
        if renamed:
            refresh_full_paths(region)
        audit.record("region.update", actor=by, obj=region, before=before, after=after)
    return region


def refresh_full_paths(region: Region) -> None:
    """Recompute the stored path of names of a region and its subtree after a rename or move."""
    region.refresh_from_db()
    parent = Region.objects.get_parent(region)
    region.full_path = f"{parent.full_path}{PATH_SEPARATOR}{region.name}" if parent else region.name
    Region.objects.filter(pk=region.pk).update(full_path=region.full_path)
    names = {region.path: region.full_path}
    for node in Region.objects.filter(path__startswith=region.path, depth__gt=region.depth).order_by("depth"):
        node_full = f"{names[parent_path(node.path)]}{PATH_SEPARATOR}{node.name}"
        names[node.path] = node_full
        if node.full_path != node_full:
            Region.objects.filter(pk=node.pk).update(full_path=node_full)


@transaction.atomic
def create_department(*, name: str, region: Region, by=None, is_grid_centre: bool = False) -> Department:
    department = Department.objects.create(name=name.strip(), region=region, is_grid_centre=is_grid_centre)
    audit.record("department.create", actor=by, obj=department,
                 after=audit.snapshot(department, ["name", "region", "is_grid_centre"]))
    return department


def create_flow_policy(*, by, region: Region, deadlines: list[dict] = (), **fields) -> FlowPolicy:
    """Save a new version of a region's flow policy with its deadline rows (each a dict of tier,
    urgency, hours, action, working_hours); an unsound policy is refused with Chinese messages.
    `by` None is the system (demo, data migrations); a user needs grid.add_flowpolicy over the region."""
    if by is not None and not by.has_perm("grid.add_flowpolicy", region):
        raise PermissionDenied("只有负责该县（乡镇）的县委巡察办可以新增流程策略版本。")
    with transaction.atomic():
        policy = FlowPolicy(region=region, **fields)
        rows = [FlowPolicyDeadline(**row) for row in deadlines]
        problems = policy_problems(policy) + deadline_problems(policy, rows)
        if problems:
            raise ValidationError(problems)
        policy.version = next_version(region)
        policy.save()
        for row in rows:
            row.policy = policy
        FlowPolicyDeadline.objects.bulk_create(rows)
        policy_cache.clear_now_and_after_commit()  # the deadlines' bulk insert sends no signal
        audit.record("flow_policy.create", actor=by, obj=policy, after={
            **audit.snapshot(policy, None),
            "deadlines": [f"{row.tier}/{row.urgency}/{row.hours}/{row.action}" for row in rows],
        })
    return policy


def department_for_post(region: Region, name: str) -> Department:
    """The department of that name at the post's region or the nearest region above it."""
    department = (
        Department.objects.select_related("region")
        .filter(name=name.strip(), region__path__in=paths_from_root(region.path))
        .order_by("-region__depth")
        .first()
    )
    if department is None:
        raise Department.DoesNotExist(f"“{region.full_path}”及其上级区域没有名为“{name}”的部门。")
    return department


@transaction.atomic
def ensure_user(username: str, *, password: str | None = None, full_name: str = "", by=None):
    """The user with that username, created (with the password, if given) when missing."""
    user = User.objects.filter(username=username).first()
    if user is not None:
        return user, False
    user = User(username=username, first_name=full_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    audit.record("user.create", actor=by, obj=user, after={"username": username, "full_name": full_name})
    return user, True


# Front-line roles a township or village office appoints as part of its ordinary work (the grid
# plans: 网格员、网格长、网格指导员 are appointed by the township; departments name their staff).
# Any other role may only be appointed by someone who holds all of its permissions there.
FRONTLINE_ROLE_KEYS = frozenset({"grid_member", "grid_leader", "grid_instructor", "village_cadre", "department", "supervision_group"})

# Permissions that verify village reports and award or deduct points (大巡查). A role carrying one is
# appointed (and ended) only by someone who may manage the post's department, and never without one.
SCORING_PERMISSIONS = frozenset({
    "inspection.verify_patrolreport", "inspection.register_patrolfinding", "inspection.confirm_month",
})


def _role_permissions(role: Role) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.all()}


def _role_refusal(by, role: Role, region: Region, held: set[str]) -> str:
    """Why `by` may not hand out `role` at `region` ("" if they may): no more than they hold themselves."""
    if role.key in FRONTLINE_ROLE_KEYS or _role_permissions(role) <= held:
        return ""
    return f"您不能任命或免去“{role.name}”：该角色的权限超出您在“{region.name}”的权限。"


def appointable_roles(user, region: Region) -> list[Role]:
    """The roles `user` may appoint at `region` (the choices of the appointment form)."""
    roles = list(Role.objects.prefetch_related("permissions__content_type").order_by("id"))
    if user is None or user.is_superuser:
        return roles
    held = user.get_all_permissions(region)
    return [role for role in roles if not _role_refusal(user, role, region, held)]


def post_refusal(
    by, *, user, role: Role, region: Region, department: Department | None = None, held: set[str] | None = None
) -> str:
    """Why `by` may not appoint `user` to a post of `role` at `region` (× department), nor end such a
    post: "" when they may. The one rule for both, asked by create_post, end_post, the appointment form
    and the region page (which offers 免去 only where it is allowed). `by=None` is the system itself
    (migrations, commands run by the operator). `held`: by's permissions at `region`, when a page
    asks for many posts of one region.

    - Nobody appoints themselves or ends their own post.
    - Nobody hands out a role with permissions they do not hold there, except the front-line roles a
      township office appoints in its ordinary work.
    - A role that verifies reports or awards points is handed out only by someone who may manage the
      post's department.
    """
    if by is None:
        return ""
    if user is not None and user.pk == by.pk:
        return "不能任命或免去本人的岗位，请由上级或其他管理人员办理。"
    if by.is_superuser:
        return ""
    refusal = _role_refusal(by, role, region, by.get_all_permissions(region) if held is None else held)
    if refusal:
        return refusal
    if _role_permissions(role) & SCORING_PERMISSIONS:
        if department is None:
            return f"“{role.name}”岗位带有核实、加减分权限，必须属于一个部门。"
        if not by.has_perm("grid.change_department", department):
            return f"“{role.name}”岗位带有核实、加减分权限，只能由可管理“{department.name}”的人员任命或免去。"
    return ""


@transaction.atomic
def create_post(
    *,
    user,
    role: Role,
    region: Region,
    department: Department | None = None,
    start_date: datetime.date | None = None,
    note: str = "",
    by=None,
) -> Post:
    refusal = post_refusal(by, user=user, role=role, region=region, department=department)
    if refusal:
        raise PermissionDenied(refusal)
    post = Post(
        user=user, role=role, region=region, department=department,
        start_date=start_date or timezone.localdate(), note=note,
    )
    post.full_clean()
    post.save()
    audit.record(
        "post.create", actor=by, obj=post,
        after=audit.snapshot(post, ["user", "role", "region", "department", "start_date", "end_date"]),
    )
    forget_grants(user)
    return post


@transaction.atomic
def end_post(post: Post, *, by=None, on: datetime.date | None = None) -> Post:
    """End a post: from `on` (default today) it grants nothing. The post itself stays, as history.

    Ending obeys the rule of appointing (post_refusal): who may not appoint the post may not end it."""
    refusal = post_refusal(by, user=post.user, role=post.role, region=post.region, department=post.department)
    if refusal:
        raise PermissionDenied(refusal)
    before = audit.snapshot(post, ["end_date"])
    post.end_date = on or timezone.localdate()
    post.full_clean()
    post.save(update_fields=["end_date"])
    audit.record("post.end", actor=by, obj=post, before=before, after=audit.snapshot(post, ["end_date"]))
    forget_grants(post.user)
    return post
