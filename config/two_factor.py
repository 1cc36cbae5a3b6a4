"""Optional two-factor authentication (TOTP, django-otp) for people with a county or township post.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import base64
import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views import View
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from governance import audit
from governance.site import SitePageMixin
from grid.models import Post

ENROLLING_TIERS = ("county", "township")
DEVICE_NAME = "手机验证器"
BAD_CODE = "验证码不正确或已过期，请输入验证器当前显示的 6 位数字。"
RECOVERY_DEVICE_NAME = "恢复码"
RECOVERY_CODE_COUNT = 10


def may_enrol(user, posts=None) -> bool:
    """County and township posts (and superusers) may turn on two-factor authentication.

    `posts`: the user's posts with their regions' tiers, when a page has them loaded already (no query)."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if posts is not None:
        return any(post.is_active and post.region.tier.key in ENROLLING_TIERS for post in posts)
    return Post.objects.active().filter(user=user, region__tier__key__in=ENROLLING_TIERS).exists()


def confirmed_device(user) -> TOTPDevice | None:
    if not user.is_authenticated:
        return None
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


def pending_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (one per user), created on first use."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def _clean(token: str) -> str:
    return "".join((token or "").split())


def confirm_enrolment(user, token: str) -> TOTPDevice:
    if not may_enrol(user):
        raise PermissionDenied("只有县、乡镇岗位的人员可以启用两步验证。")
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
        if device is None or not device.verify_token(_clean(token)):
            raise ValueError(BAD_CODE)
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        audit.record("two_factor.enrol", actor=user, obj=user, after={"device": device.name},
                     object_repr=user.get_username())
    return device


def _plain(code: str) -> str:
    """A recovery code as stored: lower case, without the spaces and dashes it may be typed with."""
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def make_recovery_codes(user) -> list[str]:
    """A new set of recovery codes for a user with two-factor authentication on, replacing any old set.

    Returns the codes for showing once (as xxxx-xxxx); the audit trail records only that a set was made."""
    with transaction.atomic():
        if not TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).exists():
            raise ValueError("请先启用两步验证，再生成恢复码。")
        StaticDevice.objects.filter(user=user).delete()
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
        codes: set[str] = set()
        while len(codes) < RECOVERY_CODE_COUNT:
            code = StaticToken.random_token()  # 8 characters of a-z and 2-7
            if not code.isdigit():
                codes.add(code)
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in sorted(codes))
        audit.record("two_factor.recovery_codes", actor=user, obj=user, after={"count": len(codes)},
                     object_repr=user.get_username())
    return [shown(code) for code in sorted(codes)]


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def use_recovery_code(user, code: str) -> StaticDevice | None:
    """The user's recovery device if `code` is one of its unused codes (then used up), else None."""
    device = StaticDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    plain = _plain(code)
    if device is None or not plain:
        return None
    with transaction.atomic():
        if not device.verify_token(plain):
            return None
        audit.record("two_factor.recovery_code_used", actor=user, obj=user,
                     after={"left": recovery_codes_left(user)}, object_repr=user.get_username())
    return device


def proves_second_factor(user, device: TOTPDevice, token: str) -> bool:
    """The authenticator's current code, or one of the user's recovery codes (used up): for turning
    two-factor off and for a new set of codes, so that someone whose phone is lost can start over."""
    if is_authenticator_code(token):
        return device.verify_token(_clean(token))
    return use_recovery_code(user, token) is not None


def is_authenticator_code(token: str) -> bool:
    """Digits only (or nothing): a code of the authenticator app; anything else is tried as a recovery
    code (every recovery code has a letter)."""
    cleaned = _clean(token)
    return not cleaned or cleaned.isdigit()


def disable(user, token: str) -> None:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("pk").first()
        if device is None:
            raise ValueError("尚未启用两步验证。")
        if not proves_second_factor(user, device, token):
            raise ValueError(BAD_CODE)
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit.record("two_factor.disable", actor=user, obj=user, before={"device": device.name},
                     object_repr=user.get_username())


def qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// URL of the device as an inline SVG QR code (made here, no user text in it)."""
    # Deferred: qrcode is loaded only when a QR code is drawn, at two-factor enrolment
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    return mark_safe(image.to_string(encoding="unicode"))


def _safe_next(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


class TwoFactorSetupView(LoginRequiredMixin, SitePageMixin, View):
    template_name = "governance/two_factor_setup.html"

    def context(self, request, **extra):
        device = confirmed_device(request.user)
        ctx = {"page_title": "两步验证", "device": device, "may_enrol": may_enrol(request.user),
               "recovery_left": recovery_codes_left(request.user) if device else 0}
        if device is None and ctx["may_enrol"]:
            pending = pending_device(request.user)
            ctx.update(qr=qr_svg(pending), secret=base64.b32encode(pending.bin_key).decode().rstrip("="))
        ctx.update(extra)
        return ctx

    def get(self, request):
        return render(request, self.template_name, self.context(request))

    def post(self, request):
        action = request.POST.get("action")
        token = request.POST.get("token", "")
        try:
            if action == "enrol":
                device = confirm_enrolment(request.user, token)
                otp_login(request, device)  # this session has just proved the code
                messages.success(request, "两步验证已启用：以后登录时，输入密码后还需输入验证器上的 6 位验证码。")
                return self.show_recovery_codes(request, make_recovery_codes(request.user))
            elif action == "recovery_codes":
                device = confirmed_device(request.user)
                if device is None or not proves_second_factor(request.user, device, token):
                    raise ValueError(BAD_CODE)
                return self.show_recovery_codes(request, make_recovery_codes(request.user))
            elif action == "disable":
                disable(request.user, token)
                messages.success(request, "两步验证已关闭。")
            else:
                return render(request, self.template_name, self.context(request, error="未知操作。"), status=400)
        except ValueError as exc:
            return render(request, self.template_name, self.context(request, error=str(exc)), status=422)
        return redirect("two_factor_setup")

    def show_recovery_codes(self, request, codes: list[str]):
        """The codes, in this response only: they are not shown again (a new set replaces them)."""
        response = render(request, self.template_name, self.context(request, recovery_codes=codes))
        response["Cache-Control"] = "no-store"
        return response


class TwoFactorVerifyView(LoginRequiredMixin, View):
    """The second step of the login: the current code of the user's authenticator."""

    template_name = "governance/two_factor_verify.html"

    def get(self, request):
        if confirmed_device(request.user) is None or request.user.is_verified():
            return redirect(_safe_next(request))
        return render(request, self.template_name, {"next": _safe_next(request)})

    def post(self, request):
        device = confirmed_device(request.user)
        if device is None:
            return redirect(_safe_next(request))
        # django-otp doubles the wait after each wrong code: guessing six digits takes forever.
        # A recovery code (not six digits) is checked against the recovery device, throttled the same way.
        token = request.POST.get("token", "")
        if not is_authenticator_code(token):
            recovery = StaticDevice.objects.filter(user=request.user, confirmed=True).order_by("pk").first()
            allowed = recovery is not None and recovery.verify_is_allowed()[0]
            used = use_recovery_code(request.user, token) if allowed else None
            if used is not None:
                otp_login(request, used)
                left = recovery_codes_left(request.user)
                messages.warning(request, f"已使用一个恢复码登录，还剩 {left} 个。请尽快在“两步验证”页面生成新的恢复码；"
                                          "手机丢失时，可用恢复码关闭两步验证，再用新手机重新启用。")
                return redirect(_safe_next(request))
            error = "恢复码不正确或已使用过。" if allowed else "验证码错误次数过多，请稍候再试。"
            return render(request, self.template_name, {"next": _safe_next(request), "error": error}, status=422)
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(_clean(token)):
            otp_login(request, device)
            return redirect(_safe_next(request))
        error = BAD_CODE if allowed else "验证码错误次数过多，请稍候再试。"
        return render(request, self.template_name, {"next": _safe_next(request), "error": error}, status=422)


# Paths a signed-in user who still owes the code may open: the code page itself, log out, static files.
OPEN_PREFIXES = ("/accounts/two-factor/verify/", "/accounts/logout/", "/static/", "/healthz", "/public/")


class TwoFactorMiddleware:
    """After the password, a user with a confirmed device sees nothing but the code page until the
    session is verified. (Runs after django_otp's OTPMiddleware, which sets user.is_verified().)"""

    # "This user has no confirmed device" is remembered in the session for this long (seconds), so
    # that ordinary pages do not ask the database each time; an enrolment elsewhere counts from then on.
    NO_DEVICE_RECHECK_SECONDS = 300
    SESSION_KEY = "gv_2fa_no_device_until"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(OPEN_PREFIXES)
            and not user.is_verified()
            and self._has_device(request, user)
        ):
            return redirect(f"{reverse('two_factor_verify')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)

    def _has_device(self, request, user) -> bool:
        session = getattr(request, "session", None)
        now = time.time()
        if session is not None and session.get(self.SESSION_KEY, 0) > now:
            return False
        has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        if session is not None and not has_device:
            session[self.SESSION_KEY] = now + self.NO_DEVICE_RECHECK_SECONDS
        return has_device


urlpatterns = [
    path("accounts/two-factor/", TwoFactorSetupView.as_view(), name="two_factor_setup"),
    path("accounts/two-factor/verify/", TwoFactorVerifyView.as_view(), name="two_factor_verify"),
]
