import threading
import time
import uuid

from django.conf import settings
from django.db import connection

from .request_context import request_id_var

_MAX_INCOMING_ID = 64


class RequestIdMiddleware:
    """Give every request an id (the caller's X-Request-ID if sane) that the audit trail records."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if incoming and len(incoming) <= _MAX_INCOMING_ID and incoming.isprintable() else ""
        request_id = request_id or uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestCostMiddleware:
    """With settings.REQUEST_COST_LOG set: one line per request appended to that file, tab-separated:
    the view's URL name, method, status, CPU milliseconds of the serving thread (time.thread_time, so
    the other threads of a gthread worker are not counted), wall milliseconds and database queries.
    Outermost, so the middleware's own cost is counted. For measuring (the load test reads it)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = settings.REQUEST_COST_LOG
        self.lock = threading.Lock()

    def __call__(self, request):
        queries = [0]

        def count(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        cpu, wall = time.thread_time(), time.perf_counter()
        with connection.execute_wrapper(count):
            response = self.get_response(request)
        cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
        match = getattr(request, "resolver_match", None)
        name = (match.view_name if match else "") or "-"
        line = f"{name}\t{request.method}\t{response.status_code}\t{cpu * 1000:.2f}\t{wall * 1000:.2f}\t{queries[0]}\n"
        with self.lock, open(self.path, "a", encoding="utf-8") as log:
            log.write(line)
        return response
