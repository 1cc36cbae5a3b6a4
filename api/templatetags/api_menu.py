"""Whether the account menu offers the device-token pages (接口令牌, 接口文档): only to users who hold a
token, or who are on those pages having asked for one; grassroots users never see them otherwise.

    {% load api_menu %}{% api_menu_shown request as shown %}
"""

from django import template
from django.urls import reverse

from api.credentials import HOLDS_A_TOKEN
from grid import access_cache

register = template.Library()


@register.simple_tag
def api_menu_shown(request) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    if request.path in (reverse("api_tokens"), reverse("api_docs")):
        return True
    return access_cache.user_fact(user, HOLDS_A_TOKEN)
