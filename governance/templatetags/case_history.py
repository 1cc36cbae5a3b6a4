"""Chinese names of audit actions for a case's history (办理记录) on its detail page.

    {% load case_history %}{{ entry.action|action_label }}
"""

from django import template

register = template.Library()

RECTIFICATION_ACTION_LABELS = {
    "rectification_item.create": "新增整改事项",
    "rectification_item.update": "明确责任领导、责任单位与措施",
    "rectification_item.progress": "报送整改进展",
    "rectification_item.claim": "申请销号",
    "rectification_item.verify": "验收通过，销号",
    "rectification_item.return": "验收未通过，退回继续整改",
    "rectification_item.unfinished": "说明未完成原因与下一步措施",
    "rectification_item.overdue": "逾期未整改",
    "rectification_item.overdue_cleared": "逾期标记解除",
    "rectification_item.import": "由整改台账导入",
    "rectification_item.reminder": "发出逾期提醒函",
    "rectification_item.supervision": "发出督办函",
}


@register.filter
def action_label(action: str) -> str:
    """The action's Chinese name; the code itself when none is known (never an empty cell)."""
    if action in RECTIFICATION_ACTION_LABELS:
        return RECTIFICATION_ACTION_LABELS[action]
    from governance.audit_views import action_label as audit_label

    return audit_label(action) or action
