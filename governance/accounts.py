"""The account pages (/accounts/): log in and out, change the password, and reset it by mail.

Password reset mails a one-time link, so it exists only where mail is configured
(PASSWORD_RESET_ENABLED, set from EMAIL_URL): elsewhere its four routes are absent and the login page
shows no link to them (the login template asks for the route by name).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views
from viewflow.contrib.auth import AuthViewset

from .site import SitePageMixin


class PasswordChangeView(SitePageMixin, views.PasswordChangeView):
    """Django's password change, in the site's frame (its default template is the admin's)."""

    template_name = "registration/password_change_form.html"
    extra_context = {"page_title": "修改密码"}


class AccountViewset(AuthViewset):
    """viewflow's account pages, with password reset only where mail can deliver it."""

    pass_change_view_class = PasswordChangeView

    def __init__(self, **kwargs):
        kwargs.setdefault("with_profile_view", False)
        super().__init__(**kwargs)

    # After a password change the user sees their API device tokens and may revoke them: that page
    # (api.token_views.PasswordChangedView) is served at accounts/password_change/done/ by api/urls.py,
    # under the name "password_change_done" that the password change form redirects to.
    pass_change_done_path = None

    @staticmethod
    def _reset(route):
        return route if settings.PASSWORD_RESET_ENABLED else None

    @property
    def pass_reset_path(self):
        return self._reset(super().pass_reset_path)

    @property
    def pass_reset_done_path(self):
        return self._reset(super().pass_reset_done_path)

    @property
    def pass_reset_confirm_path(self):
        return self._reset(super().pass_reset_confirm_path)

    @property
    def pass_reset_complete_path(self):
        return self._reset(super().pass_reset_complete_path)
