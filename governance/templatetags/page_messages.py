"""Messages shown once: inline on our pages, as viewflow's toast only on pages without them."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def messages_shown_inline(context) -> str:
    """Called where governance/page.html lists the messages; the toast (snackbar.html) then stays empty."""
    request = context.get("request")
    if request is not None:
        request.gv_messages_shown_inline = True
    return ""
