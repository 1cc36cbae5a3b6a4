import uuid

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
