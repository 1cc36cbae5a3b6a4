"""Pages of the organisation: the region tree, one region with its forms, and the post list (系统管理).
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from governance.audit import snapshot
from governance.audit_labels import action_label
from governance.listing import SortedForm, Sorts, xlsx_export
from governance.models import AuditEntry
from governance.paging import UncountedPage

from . import services
from .access import get_object_for_user, region_grants, require_perm, scope, visible_audit_entries
from .models import Department, Post, Region, Tier, parent_path, paths_from_root
from .org_forms import (
    AppointForm,
    ChildRegionForm,
    DepartmentForm,
    EndPostForm,
    PostFilterForm,
    RegionEditForm,
    RegionTreeFilterForm,
    outside_household_norm,
    tiers_below,
)

TREE_ROW_LIMIT = 2000
SEARCH_ROW_LIMIT = 500
PAGE_SIZE = 50
DEFAULT_TREE_TIER_DEPTH = 3  # down to villages; grids and micro-grids open per village


def _error_messages(exc: Exception) -> list[str]:
    if isinstance(exc, ValidationError):
        return list(exc.messages)
    if isinstance(exc, IntegrityError):
        return ["保存失败：名称或编码与已有记录重复，请修改后重试。"]
    return [str(exc)]


def _top_depth(user) -> int:
    """The tree depth of the user's highest region with grid.view_region (1 for superusers)."""
    if user.is_superuser:
        return 1
    paths = region_grants(user).paths("grid.view_region")
    return min((len(path) // Region.steplen for path in paths), default=1)


class RegionTreeView(LoginRequiredMixin, TemplateView):
    """The regions a user may see, as an indented tree from their own top regions.

    One query for the rows (ordered by path) and one for the count of norm warnings, whatever the
    size of the county: by default the tree stops at the village tier (a county office sees its
    townships and villages, each village opening on its own); `?q=` and `?warn=1` list matches flat.
    """

    template_name = "system/region_tree.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        require_perm(user, "grid.view_region")
        visible = scope(user, Region.objects.select_related("tier"), "grid.view_region")
        root = None
        if self.request.GET.get("root"):
            try:
                root_pk = int(self.request.GET["root"])
            except ValueError as exc:
                raise Http404("区域不存在。") from exc
            root = get_object_for_user(user, Region.objects.all(), "grid.view_region", pk=root_pk)
            visible = visible.filter(path__startswith=root.path)
        default_level = "all" if root else self._default_level(user)
        form = RegionTreeFilterForm(self.request.GET or None, default_level=default_level)
        query, only_warnings = form.value("q").strip(), form.value("warn")
        search_mode = bool(query or only_warnings)
        rows = visible
        if query:
            rows = rows.filter(name__icontains=query)
        if only_warnings:
            rows = rows.filter(outside_household_norm())
        max_depth = None if search_mode else form.max_tier_depth()
        if max_depth is not None:
            rows = rows.filter(tier__depth__lte=max_depth)
        limit = SEARCH_ROW_LIMIT if search_mode else TREE_ROW_LIMIT
        regions = list(rows.order_by("path")[: limit + 1])
        truncated = len(regions) > limit
        regions = regions[:limit]
        return super().get_context_data(
            page_title="区域与网格", form=form, root=root, search_mode=search_mode, truncated=truncated, limit=limit,
            rows=self._rows(regions, max_depth), shown=len(regions),
            warning_count=visible.filter(outside_household_norm()).count(),
            **kwargs,
        )

    @staticmethod
    def _default_level(user) -> str:
        depth = max(DEFAULT_TREE_TIER_DEPTH, _top_depth(user) + 1)
        return Tier.objects.filter(depth=depth).values_list("key", flat=True).first() or "all"

    @staticmethod
    def _rows(regions: list[Region], max_depth: int | None) -> list[dict]:
        """Each region with its indent below the nearest shown ancestor, computed in one pass."""
        levels: dict[str, int] = {}
        rows = []
        for region in regions:
            parent = parent_path(region.path)
            level = levels[parent] + 1 if parent in levels else 0
            levels[region.path] = level
            collapsed = max_depth is not None and region.tier.depth >= max_depth and region.numchild > 0
            rows.append({"region": region, "level": level, "collapsed": collapsed, "warning": region.household_warning})
        return rows


# ------------------------------------------------------------------ one region


ACTION_PERMISSIONS = {
    "add_child": "grid.add_region",
    "edit": "grid.change_region",
    "add_department": "grid.add_department",
    "appoint": "grid.add_post",
    "end_post": "grid.change_post",
}

ACTION_FORMS = {
    "add_child": lambda region, user, data=None: ChildRegionForm(data, parent=region, prefix="child"),
    "edit": lambda region, user, data=None: RegionEditForm(data, region=region, prefix="edit"),
    "add_department": lambda region, user, data=None: DepartmentForm(data, region=region, prefix="dept"),
    "appoint": lambda region, user, data=None: AppointForm(data, region=region, appointer=user, prefix="post"),
    "end_post": lambda region, user, data=None: EndPostForm(data),
}


def _region_for(user, pk) -> Region:
    return get_object_for_user(user, Region.objects.select_related("tier"), "grid.view_region", pk=pk)


class RegionDetailView(LoginRequiredMixin, TemplateView):
    template_name = "system/region_detail.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        region = kwargs.pop("region", None) or _region_for(user, self.kwargs["pk"])
        bound_forms = kwargs.pop("bound_forms", {})
        grants_cover = (lambda perm, path: True) if user.is_superuser else region_grants(user).covers
        may = {action: user.has_perm(perm, region) for action, perm in ACTION_PERMISSIONS.items()}
        may["add_child"] = may["add_child"] and tiers_below(region).exists()
        forms = {
            action: bound_forms.get(action) or ACTION_FORMS[action](region, user)
            for action in ("add_child", "edit", "add_department", "appoint") if may[action]
        }
        ancestors = [
            (ancestor, grants_cover("grid.view_region", ancestor.path))
            for ancestor in Region.objects.filter(path__in=paths_from_root(region.path)[:-1]).order_by("depth")
        ]
        children = list(Region.objects.filter(path__startswith=region.path, depth=region.depth + 1).select_related("tier").order_by("path")[:500])
        context = {
            "page_title": region.name, "region": region, "ancestors": ancestors, "children": children,
            "may": may, "forms": forms, "open_form": next(iter(bound_forms), ""),
            "departments": None, "active_posts": None, "audit_entries": None,
        }
        if user.has_perm("grid.view_department", region):
            context["departments"] = list(Department.objects.filter(region=region).order_by("name"))
        if user.has_perm("grid.view_post", region):
            today = timezone.localdate()
            posts = list(
                Post.objects.filter(region=region).select_related("user", "role", "department__region")
                .prefetch_related("role__permissions__content_type").order_by("role_id", "start_date", "id")
            )
            # 免去 is offered only where the appointing rule allows it (grid.services.post_refusal).
            held = user.get_all_permissions(region) if may["end_post"] else set()
            context["may_end"] = {
                post.pk for post in posts
                if may["end_post"] and not services.post_refusal(
                    user, user=post.user, role=post.role, region=region, department=post.department, held=held)
            }
            context["active_posts"] = [post for post in posts if post.is_active]
            context["upcoming_posts"] = [
                post for post in posts if post.start_date > today and (post.end_date is None or post.end_date > today)
            ]
            context["ended_posts"] = sorted((post for post in posts if post.end_date and post.end_date <= today), key=lambda post: post.end_date, reverse=True)
        # Asked of the region grants directly: guardian's backend refuses a governance perm on a grid object.
        if user.is_superuser or region_grants(user).covers("governance.view_auditentry", region.path):
            entries = list(visible_audit_entries(user, AuditEntry.objects.filter(region_path=region.path))
                           .select_related("actor").order_by("-id")[:20])
            for entry in entries:
                entry.action_label = action_label(entry.action) or entry.action
            context["audit_entries"] = entries
        return super().get_context_data(**context, **kwargs)

    def post(self, request, pk):
        user = request.user
        region = _region_for(user, pk)
        action = request.POST.get("action", "")
        perm = ACTION_PERMISSIONS.get(action)
        if perm is None:
            return HttpResponseBadRequest("未知的操作。")
        require_perm(user, perm, region)
        form = ACTION_FORMS[action](region, request.user, request.POST)
        errors: list[str] = []
        status = 422
        if form.is_valid():
            try:
                with transaction.atomic():
                    message, warning = getattr(self, f"_do_{action}")(region, form.cleaned_data)
            except (ValidationError, IntegrityError) as exc:
                errors = _error_messages(exc)
            except PermissionDenied as exc:  # the appointing rule refused (grid.services.post_refusal)
                errors, status = [str(exc)], 403
            else:
                messages.success(request, message)
                if warning:
                    messages.warning(request, warning)
                return redirect(reverse("system:region_detail", args=[region.pk]))
        else:
            errors = ["提交的内容有误，请按提示修改。"]
        context = self.get_context_data(region=region, bound_forms={action: form}, errors=errors)
        return self.render_to_response(context, status=status)

    # Each handler runs inside the view's transaction and returns (success message, warning or "").

    def _do_add_child(self, region: Region, data: dict) -> tuple[str, str]:
        child = services.create_region(
            parent=region, name=data["name"], tier=data["tier"], code=data["code"] or None,
            households=data["households"], by=self.request.user,
        )
        return f"已新增{child.tier.name}“{child.name}”。", child.household_warning

    def _do_edit(self, region: Region, data: dict) -> tuple[str, str]:
        before = snapshot(region, ["name", "code", "households"])
        services.update_region(
            region, by=self.request.user, name=data["name"], code=data["code"] or None, households=data["households"]
        )
        changed = snapshot(region, ["name", "code", "households"]) != before
        return ("已保存区域信息。" if changed else "区域信息没有变化。"), region.household_warning

    def _do_add_department(self, region: Region, data: dict) -> tuple[str, str]:
        department = services.create_department(name=data["name"], region=region, by=self.request.user)
        return f"已新增部门“{department.name}”。", ""

    def _do_appoint(self, region: Region, data: dict) -> tuple[str, str]:
        user, created = services.ensure_user(
            data["username"], password=data["password"] or None, full_name=data["full_name"].strip(), by=self.request.user,
        )
        post = services.create_post(
            user=user, role=data["role"], region=region, department=data["department"],
            start_date=data["start_date"], by=self.request.user,
        )
        who = user.get_full_name() or user.username
        note = f"（已新建账号“{user.username}”）" if created else ""
        return f"已任命 {who} 为{region.name}{post.role.name}{note}。", ""

    def _do_end_post(self, region: Region, data: dict) -> tuple[str, str]:
        post = Post.objects.select_related("user", "role", "region", "department__region").filter(region=region, pk=data["post"]).first()
        if post is None:
            raise Http404("岗位不存在。")
        if post.end_date is not None and post.end_date <= timezone.localdate():
            raise ValidationError("该岗位已经免去。")
        services.end_post(post, by=self.request.user)
        return f"已免去 {post.user.get_full_name() or post.user.username} 的{post.role.name}岗位，即时生效。", ""


# ------------------------------------------------------------------ posts


POST_SORTS = Sorts(
    ("按区域", ("region__path", "role_id", "user__username", "id")),
    name=("按账号", ("user__username", "start_date", "id")),
    role=("按角色", ("role_id", "region__path", "user__username", "id")),
    newest=("最近任职在前", ("-start_date", "-id")),
)


class PostListForm(SortedForm, PostFilterForm):
    """The post list's filters (grid.org_forms.PostFilterForm) and its choice of order."""

    SORTS = POST_SORTS


def posts_for(user, query) -> tuple[PostListForm, QuerySet[Post]]:
    """The posts the 岗位与人员 list shows for this query string, in its order: the list and its roster export."""
    require_perm(user, "grid.view_post")
    form = PostListForm(query or None)
    posts = scope(user, Post.objects.select_related("user", "role", "region__tier", "department"), "grid.view_post")
    return form, form.order(form.filter(posts))


class PostListView(LoginRequiredMixin, TemplateView):
    template_name = "system/post_list.html"

    def get_context_data(self, **kwargs):
        form, posts = posts_for(self.request.user, self.request.GET)
        page = UncountedPage(posts, self.request.GET.get("page"), PAGE_SIZE)
        return super().get_context_data(page_title="岗位与人员", form=form, page=page, today=timezone.localdate(), **kwargs)


POST_HEADERS = ["姓名", "账号", "角色", "区域", "部门", "任职起", "任职止", "状态"]


def _post_state(post: Post, today) -> str:
    if post.is_active:
        return "在任"
    return "未到任" if post.start_date > today else "已离任"


class PostExportView(LoginRequiredMixin, View):
    """The roster (花名册) as an .xlsx file: the same posts, filters and order as the list, all pages."""

    def get(self, request):
        _form, posts = posts_for(request.user, request.GET)
        today = timezone.localdate()
        rows = ([post.user.get_full_name(), post.user.get_username(), post.role.name, post.region.full_path,
                 post.department.name if post.department_id else "", f"{post.start_date:%Y-%m-%d}",
                 f"{post.end_date:%Y-%m-%d}" if post.end_date else "", _post_state(post, today)]
                for post in posts.iterator(chunk_size=2000))
        return xlsx_export(about=Post, rows=rows, headers=POST_HEADERS, sheet_title="岗位与人员", filename="岗位与人员花名册",
                           by=request.user, action="grid.post.export", query=request.GET.urlencode())
