"""The audit trail page (审计日志), scoped to the regions a user may audit."""

from .placeholder import ComingPageView


class AuditListView(ComingPageView):
    page_title = "审计日志"
