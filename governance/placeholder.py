"""A page for an area whose pages are built by a later capability (keeps the site's map complete)."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class ComingPageView(LoginRequiredMixin, TemplateView):
    template_name = "governance/coming.html"
    page_title = ""
    summary = ""

    def get_context_data(self, **kwargs):
        return super().get_context_data(page_title=self.page_title, summary=self.summary, **kwargs)
