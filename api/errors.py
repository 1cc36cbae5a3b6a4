"""One error shape for the API, in Chinese: {"detail": "…", "errors": ["…", …]}.
Design notes: docs/architecture/api.md."""

from __future__ import annotations

import logging
import math
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.template import loader
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("api")

UNEXPECTED = "服务器内部错误，请稍后重试；如仍出现，请联系系统管理员。"

# Field names in messages as users know them.
FIELD_LABELS = {
    "region": "发生区域", "category": "事件类别", "title": "标题", "description": "描述", "occurred_at": "发生时间",
    "urgency": "紧急程度", "source": "来源", "latitude": "纬度", "longitude": "经度", "address": "地址",
    "idempotency_key": "提交标识", "files": "附件", "decision": "决定", "result": "处置结果", "reason": "理由",
    "department": "部门", "duplicate_of": "重复事件", "rating": "满意度", "comment": "评价", "reported_on": "进展日期",
    "text": "情况", "long_term": "长期坚持", "township": "乡镇", "month": "月份", "quarter": "季度",
    "parent": "上级区域", "plan": "整改方案",
}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        result = []
        for key, value in detail.items():
            for message in _flatten(value):
                result.append(message if key in ("non_field_errors", "detail") else f"{FIELD_LABELS.get(key, key)}：{message}")
        return result
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


PARSE_ERROR = "请求内容无法解析：请发送有效的 JSON（或表单）数据。"
CSRF_ERROR = "CSRF 校验失败：请刷新页面后重试（用登录会话写入时须带 CSRF 令牌；设备请使用令牌认证）。"


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        messages = list(exc.messages)
        return Response({"detail": "；".join(messages), "errors": messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "您没有执行此操作的权限。")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "对象不存在或无权查看。")
    elif isinstance(exc, exceptions.ParseError):
        # DRF's text names the parser's own (English) complaint: "JSON parse error - Expecting ..."
        exc = exceptions.ParseError(PARSE_ERROR)
    elif isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        exc = exceptions.PermissionDenied(CSRF_ERROR)
    if isinstance(exc, exceptions.Throttled):
        wait = math.ceil(exc.wait) if exc.wait is not None else None
        text = f"请求过于频繁，请在 {wait} 秒后重试。" if wait else "请求过于频繁，请稍后重试。"
        response = Response({"detail": text, "errors": [text]}, status=status.HTTP_429_TOO_MANY_REQUESTS)
        if wait:
            response["Retry-After"] = str(wait)
        return response
    response = drf_exception_handler(exc, context)
    if response is None:
        view = context.get("view")
        logger.error("Unexpected error in %s", type(view).__name__ if view else "the API", exc_info=exc)
        return Response({"detail": UNEXPECTED, "errors": [UNEXPECTED]}, status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(response.data, dict | list):
        messages = _flatten(response.data)
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        if isinstance(detail, list | dict):  # several messages under "detail": the text is all of them
            detail = "；".join(_flatten(detail))
        response.data = {"detail": str(detail) if detail else "；".join(messages), "errors": messages}
    return response


# ---------------------------------------------------------------- outside the API's views

API_PATH_PREFIXES = ("/api/v1/", "/open311/")
NOT_FOUND = "接口地址不存在。"


def _error(status_code: int, text: str) -> JsonResponse:
    return JsonResponse({"detail": text, "errors": [text]}, status=status_code, json_dumps_params={"ensure_ascii": False})


def page_not_found(request, exception=None):
    """The site's 404 handler: an unknown API address answers in the API's shape, other pages as usual."""
    if request.path.startswith(API_PATH_PREFIXES):
        return _error(404, NOT_FOUND)
    return defaults.page_not_found(request, exception)


DATABASE_UNAVAILABLE = "系统暂时无法访问数据库（可能正在重启或维护），请稍后重试。"
DATABASE_RETRY_SECONDS = 10
HEALTH_PATH = "/healthz"


def server_error(request):
    """The site's 500 handler (DEBUG off): an error outside a view's own handling (a middleware) on an
    API address still answers in the API's shape.

    A database that cannot be reached (down, restarting, refusing connections; raised wherever the
    request met it, a middleware included) is not a fault of the page: 503 with Retry-After, a page
    that needs no database, and for /healthz its own "degraded" answer. Django has logged the error
    before calling this (it is still being handled: sys.exc_info)."""
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        if request.path == HEALTH_PATH:
            response = JsonResponse({"status": "degraded"}, status=503)
        elif request.path.startswith(API_PATH_PREFIXES):
            response = _error(503, DATABASE_UNAVAILABLE)
        else:
            response = HttpResponse(loader.render_to_string("503.html"), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
    if request.path.startswith(API_PATH_PREFIXES):
        return _error(500, UNEXPECTED)
    return defaults.server_error(request)
