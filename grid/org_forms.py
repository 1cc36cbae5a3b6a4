"""Forms of the organisation pages (区域与网格, 岗位与人员). They decode input; grid.services changes state.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.db.models import F, Q
from django.utils import timezone

from governance.listing import FilterForm

from .models import PATH_SEPARATOR, Department, Post, Region, Role, Tier, paths_from_root
from .services import appointable_roles, post_refusal

User = get_user_model()


def tiers_below(region: Region):
    """The tiers a child of `region` may have: any tier deeper than the region's own (plans skip tiers)."""
    return Tier.objects.filter(depth__gt=region.tier.depth).order_by("depth")


def departments_for_posts_at(region: Region):
    """Departments a post at `region` may belong to: those of the region or of a region above it."""
    return Department.objects.filter(region__path__in=paths_from_root(region.path)).select_related("region").order_by("region__depth", "name")


def outside_household_norm() -> Q:
    """Regions whose households fall outside their tier's norm (the grid governance plans)."""
    return Q(households__lt=F("tier__households_min")) | Q(households__gt=F("tier__households_max"))


def _clean_name(value: str) -> str:
    name = (value or "").strip()
    if PATH_SEPARATOR in name:
        raise forms.ValidationError(f"名称中不能含有“{PATH_SEPARATOR}”。")
    return name


def _clean_code(value: str, *, exclude_pk: int | None = None) -> str:
    code = (value or "").strip()
    if code and Region.objects.filter(code=code).exclude(pk=exclude_pk).exists():
        raise forms.ValidationError(f"编码“{code}”已被其他区域使用。")
    return code


def households_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="户数", required=False, min_value=0, widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        help_text="网格 300–500 户、微网格 100–150 户为规范范围（超出仅提示，不阻止保存）",
    )


# ---------------------------------------------------------------- region tree filters


class RegionTreeFilterForm(forms.Form):
    q = forms.CharField(label="名称", required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "按名称搜索"}))
    level = forms.ChoiceField(label="显示到", required=False)
    warn = forms.BooleanField(label="仅看户数超出规范", required=False)

    def __init__(self, *args, default_level: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.tiers = list(Tier.objects.order_by("depth"))
        self.fields["level"].choices = [(tier.key, tier.name) for tier in self.tiers] + [("all", "全部层级")]
        self.fields["level"].initial = default_level
        self.default_level = default_level

    def value(self, name: str):
        """The cleaned value of a filter, or its default when the form is unbound or that field is invalid."""
        default = {"q": "", "level": self.default_level, "warn": False}[name]
        if not self.is_bound:
            return default
        self.is_valid()
        return self.cleaned_data.get(name, default)

    def max_tier_depth(self) -> int | None:
        """The deepest tier shown in tree mode, or None for all tiers."""
        key = self.value("level") or self.default_level
        return next((tier.depth for tier in self.tiers if tier.key == key), None)


# ---------------------------------------------------------------- region detail forms


class ChildRegionForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100)
    tier = forms.ModelChoiceField(label="层级", queryset=Tier.objects.none(), empty_label=None)
    code = forms.CharField(label="编码", max_length=32, required=False)
    households = households_field()

    def __init__(self, *args, parent: Region, **kwargs):
        super().__init__(*args, **kwargs)
        self.parent = parent
        tier_field = self.fields["tier"]
        tier_field.queryset = tiers_below(parent)
        tier_field.error_messages["invalid_choice"] = f"所选层级不能设在“{parent.tier.name}”之下，请选择更低的层级。"
        first = tier_field.queryset.first()
        if first is not None:
            tier_field.initial = first.pk

    def clean_name(self):
        name = _clean_name(self.cleaned_data["name"])
        if Region.objects.filter(full_path=f"{self.parent.full_path}{PATH_SEPARATOR}{name}").exists():
            raise forms.ValidationError(f"“{self.parent.name}”下已有名为“{name}”的区域。")
        return name

    def clean_code(self):
        return _clean_code(self.cleaned_data["code"])


class RegionEditForm(forms.Form):
    """Name, code and households (services.update_region). The place in the tree is changed in the admin."""

    name = forms.CharField(label="名称", max_length=100)
    code = forms.CharField(label="编码", max_length=32, required=False)
    households = households_field()

    def __init__(self, *args, region: Region, **kwargs):
        kwargs.setdefault("initial", {"name": region.name, "code": region.code or "", "households": region.households})
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_code(self):
        return _clean_code(self.cleaned_data["code"], exclude_pk=self.region.pk)


class DepartmentForm(forms.Form):
    name = forms.CharField(label="部门名称", max_length=100, widget=forms.TextInput(attrs={"placeholder": "如：农业农村办"}))

    def __init__(self, *args, region: Region, **kwargs):
        super().__init__(*args, **kwargs)
        self.region = region

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("请填写部门名称。")
        if Department.objects.filter(region=self.region, name=name).exists():
            raise forms.ValidationError(f"“{self.region.name}”已有名为“{name}”的部门。")
        return name


class AppointForm(forms.Form):
    """Appoint a post at one region: an existing account, or a new one with its first password."""

    username = forms.CharField(label="账号", max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="已有账号直接任命；新账号须填写姓名与初始密码")
    full_name = forms.CharField(label="姓名", max_length=150, required=False)
    password = forms.CharField(label="初始密码（仅新账号）", required=False, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    role = forms.ModelChoiceField(label="角色", queryset=Role.objects.order_by("id"), empty_label="请选择角色")
    department = forms.ModelChoiceField(label="部门", queryset=Department.objects.none(), required=False, empty_label="（不属于部门）")
    start_date = forms.DateField(label="任职起", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, region: Region, appointer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.region, self.appointer = region, appointer
        roles = appointable_roles(appointer, region)
        self.fields["role"].queryset = Role.objects.filter(pk__in=[role.pk for role in roles]).order_by("id")
        self.fields["department"].queryset = departments_for_posts_at(region)
        self.fields["department"].label_from_instance = lambda d: f"{d.region.name}·{d.name}" if d.region_id != region.pk else d.name
        self.fields["start_date"].initial = timezone.localdate()
        self.existing_user = None

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        self.existing_user = User.objects.filter(username=username).first()
        return username

    def clean(self):
        data = super().clean()
        username = data.get("username")
        if not username:
            return data
        if self.existing_user is None:
            if not data.get("full_name", "").strip():
                self.add_error("full_name", "新账号请填写姓名。")
            password = data.get("password") or ""
            if not password:
                self.add_error("password", "新账号请设置初始密码。")
            else:
                try:
                    validate_password(password, User(username=username, first_name=data.get("full_name", "")))
                except forms.ValidationError as exc:
                    self.add_error("password", exc)
        elif data.get("role") and Post.objects.active().filter(
            user=self.existing_user, role=data["role"], region=self.region
        ).exists():
            self.add_error("role", f"“{username}”已在本区域担任“{data['role'].name}”。")
        if data.get("role") and not self.errors:
            refusal = post_refusal(self.appointer, user=self.existing_user, role=data["role"], region=self.region,
                                   department=data.get("department"))
            if refusal:
                self.add_error(None, refusal)
        return data


class EndPostForm(forms.Form):
    post = forms.IntegerField(widget=forms.HiddenInput)


# ---------------------------------------------------------------- post list filters


class PostFilterForm(FilterForm):
    STATUS_CHOICES = [("active", "在任"), ("ended", "已离任"), ("upcoming", "未到任"), ("all", "全部")]

    user = forms.CharField(label="账号或姓名", required=False, max_length=150)
    region = forms.CharField(label="区域", required=False, max_length=100, widget=forms.TextInput(attrs={"placeholder": "区域名称"}))
    role = forms.ModelChoiceField(label="角色", required=False, queryset=Role.objects.order_by("id"), empty_label="全部")
    status = forms.ChoiceField(label="状态", required=False, choices=STATUS_CHOICES)

    def filter(self, posts):
        data = self.valid_values()
        today = timezone.localdate()
        status = data.get("status") or "active"
        if status == "active":
            posts = posts.active(today)
        elif status == "ended":
            posts = posts.filter(end_date__lte=today)
        elif status == "upcoming":
            posts = posts.filter(start_date__gt=today).filter(Q(end_date__isnull=True) | Q(end_date__gt=today))
        if data.get("role"):
            posts = posts.filter(role=data["role"])
        if data.get("region", "").strip():
            posts = posts.filter(region__full_path__icontains=data["region"].strip())
        if data.get("user", "").strip():
            text = data["user"].strip()
            posts = posts.filter(
                Q(user__username__icontains=text) | Q(user__first_name__icontains=text) | Q(user__last_name__icontains=text)
            )
        return posts
