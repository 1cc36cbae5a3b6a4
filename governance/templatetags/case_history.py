"""Chinese names of audit actions for a case's history (办理记录) on its detail page.

    {% load case_history %}{{ entry.action|action_label }}
"""

from django import template

from governance.audit_labels import action_label as label

register = template.Library()

@register.filter
def action_label(action: str) -> str:
    """The action's Chinese name (governance.audit_labels); the code itself when none is known."""
    return label(action)


@register.filter
def actor_of(entry) -> str:
    """Who did it, by name: the account's full name, else the account name stored with the entry, else 系统."""
    actor = entry.actor if entry.actor_id else None
    if actor is not None and actor.get_full_name():
        return actor.get_full_name()
    return entry.actor_name or "系统"
