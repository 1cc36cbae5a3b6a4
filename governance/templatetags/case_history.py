"""Chinese names of audit actions for a case's history (办理记录) on its detail page.

    {% load case_history %}{{ entry.action|action_label }}
"""

from django import template

register = template.Library()

@register.filter
def action_label(action: str) -> str:
    """The action's Chinese name (governance.audit_labels); the code itself when none is known."""
    from governance.audit_labels import action_label as label

    return label(action)
