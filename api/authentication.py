"""`Authorization: Token <key>` for devices: per-device keys kept as SHA-256, revocable in the UI."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from .credentials import token_for_key


class DeviceTokenAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in (b"token", b"bearer"):
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("令牌格式无效：应为“Authorization: Token <令牌>”。")
        try:
            key = parts[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("令牌格式无效。") from None
        token = token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed("令牌无效或已吊销。")
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
