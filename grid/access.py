"""Who may do what where: the one permission backend and the one scoping function.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import BooleanField, CharField, ExpressionWrapper, Model, Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404
from guardian.backends import ObjectPermissionBackend
from guardian.models import GroupObjectPermission, UserObjectPermission

from governance import visibility

from . import roles
from .models import Post, Region, posted_at_township_or_below

_CACHE_ATTR = "_region_grants_cache"
EXPLICIT_ATTR = "_gv_explicit_grants"  # (model label, perm) → pks granted one by one (kept like the grants)


@dataclass
class RegionGrants:
    """The region paths under which a user holds each permission ("app_label.codename")."""

    paths_by_perm: dict[str, list[str]] = field(default_factory=dict)
    # The departments of the posts through which each permission is held (posts in a department).
    departments_by_perm: dict[str, list[int]] = field(default_factory=dict)
    # The ids of the regions under each granted path whose subtree is small (a grid, a village), read
    # when the grants are kept with the user's access snapshot (grid.access_cache), which any change of
    # a region drops; empty otherwise. See scope().
    subtree_ids: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def paths(self, perm: str) -> list[str]:
        return self.paths_by_perm.get(perm, [])

    def departments(self, perm: str) -> list[int]:
        return self.departments_by_perm.get(perm, [])

    def covers(self, perm: str, path: str) -> bool:
        return any(path.startswith(prefix) for prefix in self.paths(perm))

    @property
    def perms(self) -> set[str]:
        return set(self.paths_by_perm)


def _minimal_prefixes(paths) -> list[str]:
    """Drop paths already covered by a shorter one (a post at the township covers its villages)."""
    result: list[str] = []
    for path in sorted(set(paths)):
        if not result or not path.startswith(result[-1]):
            result.append(path)
    return result


def region_grants(user) -> RegionGrants:
    """All region-wide grants of a user, computed in three queries and cached on the user object."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    raw: dict[str, list[str]] = defaultdict(list)
    departments: dict[str, set[int]] = defaultdict(set)
    if user is not None and user.is_authenticated and user.is_active:
        post_rows = (
            Post.objects.active()
            .filter(user=user, role__permissions__isnull=False)
            .annotate(at_township=ExpressionWrapper(posted_at_township_or_below(), output_field=BooleanField()))
            .values_list("region__path", "department_id", "role__permissions__content_type__app_label",
                         "role__permissions__codename", "role__key", "at_township")
        )
        for path, department_id, app_label, codename, role_key, at_township in post_rows:
            perm = f"{app_label}.{codename}"
            if not at_township and roles.township_posts_only(role_key, perm):
                continue  # as Post.objects.granting() reads it: a township's permission, held above one
            raw[perm].append(path)
            if department_id is not None:
                departments[perm].add(department_id)

        region_type = ContentType.objects.get_for_model(Region)
        guardian_rows = list(
            UserObjectPermission.objects.filter(user=user, content_type=region_type).values_list(
                "object_pk", "permission__content_type__app_label", "permission__codename"
            )
        ) + list(
            GroupObjectPermission.objects.filter(group__user=user, content_type=region_type).values_list(
                "object_pk", "permission__content_type__app_label", "permission__codename"
            )
        )
        if guardian_rows:
            paths_by_pk = dict(
                Region.objects.filter(pk__in={int(pk) for pk, _, _ in guardian_rows}).values_list("pk", "path")
            )
            for pk, app_label, codename in guardian_rows:
                if int(pk) in paths_by_pk:
                    raw[f"{app_label}.{codename}"].append(paths_by_pk[int(pk)])
    grants = RegionGrants({perm: _minimal_prefixes(paths) for perm, paths in raw.items()},
                          {perm: sorted(ids) for perm, ids in departments.items()})
    if user is not None:
        setattr(user, _CACHE_ATTR, grants)
    return grants


# A subtree of at most this many regions is named by its ids in scope(): a village and its grids.
SMALL_SUBTREE = 100


def read_small_subtrees(grants: RegionGrants) -> None:
    """Fill `grants.subtree_ids` for the granted paths whose subtree is small (one query per path)."""
    for prefix in sorted({path for paths in grants.paths_by_perm.values() for path in paths}):
        ids = list(Region.objects.filter(path__startswith=prefix).order_by("pk")
                   .values_list("pk", flat=True)[:SMALL_SUBTREE + 1])
        if len(ids) <= SMALL_SUBTREE:
            grants.subtree_ids[prefix] = tuple(ids)


def regions_named(user, perm: str) -> int | None:
    """How many regions scope() names by id for `perm` (every granted subtree small and read), or None
    when some granted subtree is not (or no subtree was read: no access snapshot)."""
    grants = region_grants(user)
    paths = grants.paths(perm)
    if not paths or any(prefix not in grants.subtree_ids for prefix in paths):
        return None
    return sum(len(grants.subtree_ids[prefix]) for prefix in paths)


def forget_grants(user) -> None:
    """Drop the cached grants, e.g. after a post of this user was created or ended."""
    for attr in (_CACHE_ATTR, EXPLICIT_ATTR):
        if user is not None and hasattr(user, attr):
            delattr(user, attr)


def department_condition(user, model: type[Model], perm: str) -> Q | None:
    """The records of `model` that `user` holds `perm` on through a post in a department, where the model
    declares such a view (`department_views`: the permission asked → the permission the post's role
    holds and the record's department field); None when there are none."""
    via = getattr(model, "department_views", {}).get(perm)
    if via is None:
        return None
    held, department_field = via
    ids = region_grants(user).departments(held)
    return Q(**{f"{department_field}__in": ids}) if ids else None


def _department_covers(grants: RegionGrants, perm: str, obj) -> bool:
    """department_condition, asked of one record."""
    via = getattr(type(obj), "department_views", {}).get(perm)
    return via is not None and getattr(obj, via[1], None) in grants.departments(via[0])


def region_lookup(model) -> str:
    """The ORM path from a model to its region's materialised path ("region__path" unless declared)."""
    if issubclass(model, Region):
        return "path"
    return getattr(model, "region_path_lookup", "region__path")


def broadest_post_path(user) -> str:
    """The broadest region where `user` holds a post now ("" for none)."""
    paths = list(Post.objects.active().filter(user=user).values_list("region__path", flat=True))
    return min(paths, key=lambda path: (len(path), path)) if paths else ""


def region_path_of(obj) -> str | None:
    """The materialised path of the region an object belongs to, or None if it has none."""
    if isinstance(obj, Region):
        return obj.path
    getter = getattr(obj, "get_permission_region", None)
    region = getter() if getter else getattr(obj, "region", None)
    return region.path if isinstance(region, Region) else None


class RegionPermissionBackend:
    """Answers `user.has_perm(perm, obj)` from posts and region grants, in a constant number of queries.

    Without an object it answers whether the user holds the permission anywhere (menus, flow lists);
    the object check then decides for each record.
    """

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active or isinstance(user_obj, AnonymousUser):
            return False
        grants = region_grants(user_obj)
        if obj is None:
            return bool(grants.paths(perm))
        path = region_path_of(obj)
        return (path is not None and grants.covers(perm, path)) or _department_covers(grants, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if not user_obj.is_active or isinstance(user_obj, AnonymousUser):
            return False
        return any(perm.startswith(f"{app_label}.") for perm in region_grants(user_obj).perms)

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or isinstance(user_obj, AnonymousUser):
            return set()
        grants = region_grants(user_obj)
        if obj is None:
            return grants.perms
        path = region_path_of(obj)
        via_department = {perm for perm in getattr(type(obj), "department_views", {})
                          if _department_covers(grants, perm, obj)}
        if path is None:
            return via_department
        return {perm for perm in grants.perms if grants.covers(perm, path)} | via_department


_ALL_READ = "*"  # a key of the memo: every single-object grant of the user has been read into it


def _explicitly_granted_pks(user, model: type[Model], perm: str) -> list:
    """Primary keys of single objects of `model` that guardian grants `perm` on to the user. All of the
    user's single-object grants are read at the first question (two queries, whatever the models and
    permissions asked later) and kept with the region grants (grid.access_cache)."""
    memo = getattr(user, EXPLICIT_ATTR, None)
    if memo is None:
        memo = {}
        setattr(user, EXPLICIT_ATTR, memo)
    if _ALL_READ not in memo:
        memo.update(_read_explicit_grants(user))
        memo[_ALL_READ] = ()
    granted = memo.get(f"{model._meta.label_lower}|{perm.split('.', 1)[1]}", ())
    field = model._meta.pk
    return [field.to_python(pk) for pk in granted]


def explicit_grants(user, model: type[Model], perm: str) -> list:
    """Primary keys of the single objects of `model` granted to the user with `perm` (besides their
    regions): for a figure that counts from pre-aggregated rows and must add these one by one."""
    if user is None or not user.is_authenticated or not user.is_active:
        return []
    return _explicitly_granted_pks(user, model, perm)


def _read_explicit_grants(user) -> dict[str, tuple]:
    """{"<app_label>.<model>|<codename>": object pks} of every guardian grant of the user and their groups."""
    columns = ("content_type__app_label", "content_type__model", "permission__codename", "object_pk")
    granted: dict[str, set] = defaultdict(set)
    for rows in (UserObjectPermission.objects.filter(user=user).values_list(*columns),
                 GroupObjectPermission.objects.filter(group__user=user).values_list(*columns)):
        for app_label, model_name, codename, pk in rows:
            granted[f"{app_label}.{model_name}|{codename}"].add(pk)
    return {key: tuple(sorted(pks)) for key, pks in granted.items()}


def scope(user, queryset: QuerySet, perm: str) -> QuerySet:
    """Filter any queryset of region-bound objects to those `user` holds `perm` on."""
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    model = queryset.model
    lookup = region_lookup(model)
    condition = Q(pk__in=[])
    region_fk = lookup.removesuffix("__path") if lookup.endswith("__path") else None
    grants = region_grants(user)
    for prefix in grants.paths(perm):
        if region_fk:
            # `region IN (regions under prefix)` rather than a join on the path: the database can then
            # walk the foreign-key index region by region, which keeps a small subtree's page fast
            # even when the table is large (SQLite otherwise scans the whole table newest-first).
            # A small subtree is named by its ids when they are known: PostgreSQL guesses the rows of
            # `path LIKE prefix%` from a coarse histogram, and a grid guessed as forty regions made
            # it read the whole events table newest-first to find one grid's latest fifty.
            known = grants.subtree_ids.get(prefix)
            subtree = known if known is not None else Region.objects.filter(path__startswith=prefix).values("pk")
            condition |= Q(**{f"{region_fk}__in": subtree})
        else:
            condition |= Q(**{f"{lookup}__startswith": prefix})
    explicit = _explicitly_granted_pks(user, model, perm)
    if explicit:
        condition |= Q(pk__in=explicit)
    by_department = department_condition(user, model, perm)
    if by_department is not None:
        condition |= by_department
    return queryset.filter(condition)


def get_object_for_user(user, queryset: QuerySet, perm: str, **lookup):
    """The object, if the user holds `perm` on it; 404 when it is outside what they may see.

    404 rather than 403 so that a user cannot learn that a record exists outside their scope.
    """
    obj = scope(user, queryset, perm).filter(**lookup).first()
    if obj is None:
        raise Http404("对象不存在或无权查看。")
    return obj


def require_perm(user, perm: str, obj=None) -> None:
    """Raise PermissionDenied (403) unless the user may do `perm` (on `obj`)."""
    if not user.has_perm(perm, obj):
        raise PermissionDenied("您没有执行此操作的权限。")


class ObjectGrantBackend(ObjectPermissionBackend):
    """django-guardian's backend, answered from the user's single-object grants as _explicitly_granted_pks
    reads them: all of them in two queries at the first question, kept with the user's cached access
    (grid.access_cache), instead of guardian's two queries for every object asked about.

    A permission of another app than the object's is False, not an error: asking
    `has_perm("governance.view_auditentry", region)` — may this user see audit entries in that region?
    — is a fair question for the region backend; guardian alone would raise WrongAppError.
    """

    def has_perm(self, user_obj, perm, obj=None):
        if obj is None or not getattr(user_obj, "is_authenticated", False) or not user_obj.is_active:
            return False
        model = obj._meta.concrete_model  # guardian files grants under the concrete model's content type
        app_label, _, codename = perm.rpartition(".")
        if app_label and app_label != model._meta.app_label:
            return False
        return obj.pk in _explicitly_granted_pks(user_obj, model, f"{model._meta.app_label}.{codename}")


class RegionRule:
    """The visibility rule of a kind of record that is seen wherever its view permission is held
    (a post's region subtree, or a guardian grant on the single record): `scope()` itself.

    In the audit log the entry's own region path (the record's, written with the entry) decides,
    with the single records granted explicitly: no subquery over the records' table, no query of its own."""

    def __init__(self, model: type[Model], perm: str):
        self.model = model
        self.perm = perm

    def records(self, user) -> QuerySet:
        return scope(user, self.model._default_manager.all(), self.perm)

    def audit_condition(self, user) -> Q:
        if user.is_superuser:
            return Q()
        condition = Q(pk__in=[])
        for prefix in region_grants(user).paths(self.perm):
            condition |= Q(region_path__startswith=prefix)
        # Single records shared through guardian, as subqueries (guardian keeps their ids as text too).
        codename = self.perm.split(".", 1)[1]
        grants = {"content_type": ContentType.objects.get_for_model(self.model), "permission__codename": codename}
        condition |= Q(object_id__in=UserObjectPermission.objects.filter(user=user, **grants).values("object_pk"))
        condition |= Q(object_id__in=GroupObjectPermission.objects.filter(group__user=user, **grants).values("object_pk"))
        by_department = department_condition(user, self.model, self.perm)
        if by_department is not None:
            # AuditEntry.object_id is text: compare it with the ids as text on every database.
            ids = self.model._default_manager.filter(by_department).order_by().annotate(
                _audit_object_id=Cast("pk", CharField())).values("_audit_object_id")
            condition |= Q(object_id__in=ids)
        return condition


def visible_audit_entries(user, entries: QuerySet) -> QuerySet:
    """The audit entries `user` may read: in the regions where they may audit, and about records they may
    see by each record's own rule. Every place that shows audit entries reads them through here."""
    return visibility.audit_entries_visible(user, scope(user, entries, "governance.view_auditentry"))
