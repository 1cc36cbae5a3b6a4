"""The signed-in user's device tokens (create — shown once —, list, revoke) and the API's doc page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.views import View
from django.views.generic import TemplateView
from drf_spectacular.generators import SchemaGenerator

from governance.site import SitePageMixin

from . import credentials
from .models import DeviceToken


class TokenListView(LoginRequiredMixin, SitePageMixin, TemplateView):
    template_name = "api/tokens.html"

    def get_context_data(self, **kwargs):
        tokens = DeviceToken.objects.filter(user=self.request.user).order_by("revoked_at", "-created_at")[:100]
        return super().get_context_data(page_title="接口令牌", tokens=tokens,
                                        max_tokens=credentials.MAX_TOKENS_PER_USER, **kwargs)

    def post(self, request):
        try:
            token, key = credentials.create_device_token(by=request.user, name=request.POST.get("name", ""))
        except ValidationError as exc:
            context = self.get_context_data(errors=exc.messages, name=request.POST.get("name", ""))
            return self.render_to_response(context, status=422)
        # The key is rendered in this response only; it is never stored or shown again.
        response = self.render_to_response(self.get_context_data(new_token=token, new_key=key))
        response["Cache-Control"] = "no-store"
        return response


class TokenRevokeView(LoginRequiredMixin, View):
    def get(self, request, pk):
        return redirect("api_tokens")

    def post(self, request, pk):
        token = get_object_or_404(DeviceToken, pk=pk, user=request.user)
        try:
            credentials.revoke_device_token(token, by=request.user)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, f"令牌“{token.name}”已吊销，使用它的设备将无法再访问接口。")
        return redirect("api_tokens")


class PasswordChangedView(LoginRequiredMixin, SitePageMixin, TemplateView):
    """After a password change: the user's active device tokens, with revoking one or all offered.

    A device token keeps working when the password changes (the other browser sessions end); someone
    who changes the password because it leaked should revoke the tokens that leak may have created."""

    template_name = "api/password_changed.html"

    def get_context_data(self, **kwargs):
        tokens = DeviceToken.objects.filter(user=self.request.user, revoked_at__isnull=True).order_by("-created_at")
        return super().get_context_data(page_title="密码已修改", tokens=list(tokens[:100]), **kwargs)

    def post(self, request):
        if request.POST.get("action") == "revoke_all":
            pks = None
        else:
            try:
                pks = [int(request.POST.get("token", ""))]
            except ValueError:
                return redirect("password_change_done")
        count = credentials.revoke_own_device_tokens(by=request.user, pks=pks)
        if count:
            messages.success(request, f"已吊销 {count} 个令牌，使用它们的设备将无法再访问接口。")
        return redirect("password_change_done")


class ApiDocsView(SitePageMixin, TemplateView):
    """A page listing every operation of the OpenAPI schema, rendered on the server (no script, no CDN)."""

    template_name = "api/docs.html"

    def get_context_data(self, **kwargs):
        schema = SchemaGenerator().get_schema(request=None, public=True)
        components = schema.get("components", {}).get("schemas", {})

        def body_fields(operation) -> list[str]:
            content = (operation.get("requestBody") or {}).get("content", {})
            for media in content.values():
                ref = media.get("schema", {}).get("$ref", "")
                component = components.get(ref.rsplit("/", 1)[-1], {})
                required = set(component.get("required", []))
                return [f"{name}{'*' if name in required else ''}" for name in component.get("properties", {})]
            return []

        groups: dict[str, list] = {}
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                tag = (operation.get("tags") or ["其他"])[0]
                groups.setdefault(tag, []).append({
                    "method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                    "public": not operation.get("security"),
                    "query": [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"],
                    "body": body_fields(operation),
                })
        return super().get_context_data(page_title="接口文档", groups=groups, info=schema.get("info", {}), **kwargs)
