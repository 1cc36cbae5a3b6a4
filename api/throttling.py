"""Rate limits on writes: per token (or signed-in user) and per IP; Open311 posts per API key + IP.
Design notes: docs/architecture/api.md."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from .credentials import digest

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _WriteThrottle(SimpleRateThrottle):
    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class WriteUserThrottle(_WriteThrottle):
    """Per device token (each token its own budget), else per signed-in user."""

    scope = "write_user"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if getattr(token, "pk", None) and hasattr(token, "key_hash"):
            ident = f"token-{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            return None
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteIPThrottle(_WriteThrottle):
    """Per client address, whoever is signed in (many tokens from one address share it)."""

    scope = "write_ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class Open311PostThrottle(_WriteThrottle):
    """Open311 POSTs per API key and client address (an unknown key counts under its address)."""

    scope = "open311_post"

    def get_cache_key(self, request, view):
        key = (request.data.get("api_key") if hasattr(request.data, "get") else "") or request.query_params.get("api_key") or ""

        ident = f"{digest(str(key))[:16]}-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
