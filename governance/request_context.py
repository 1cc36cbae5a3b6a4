from contextvars import ContextVar

# The id of the HTTP request (or command run) being served; the audit trail stores it.
request_id_var: ContextVar[str] = ContextVar("request_id", default="")
