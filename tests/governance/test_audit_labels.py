"""Every audit action the code records has a Chinese name (audit log, exports, case histories, API)."""

import re
from pathlib import Path

from governance.audit_labels import ACTION_LABELS, action_label
from grid.models import Event
from inspection.models import MobileProposal, PatrolReport

ROOT = Path(__file__).resolve().parents[2]
APPS = ("api", "governance", "grid", "inspection", "jobs", "rectification", "workflows")
# audit.record("x.y"), record_many("x.y"), _audit_item("x.y"), _apply_new(..., "x.y", ...), action="x.y"
LITERAL = re.compile(r'(?:record(?:_many)?\(\s*|_audit_item\(\s*|action=)"([a-z_]+(?:\.[a-z_]+)+)"')
IMPORT_ACTION = re.compile(r'_apply_new\([^)]*?"([a-z_]+\.[a-z_]+)"')


def recorded_actions() -> set[str]:
    actions = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            actions |= set(LITERAL.findall(text)) | set(IMPORT_ACTION.findall(text))
    # The ones built from a decision (f-strings), by their possible values.
    actions |= {f"event.{d}" for d in ("resolve", "escalate", "dispatch", "merge", "reject")}
    actions |= {f"event.department.{d}" for d in ("resolve", "send_back")}
    actions |= {f"event.verify.{d}" for d in ("satisfied", "return", "return_to_department")}
    actions |= {f"patrol_report.verify.{v}" for v in PatrolReport.Verdict.values if v != "pending"}
    actions |= {f"patrol_report.follow_up.{k}" for k in PatrolReport.FollowUp.values if k}
    actions |= {f"mobile_proposal.{d}" for d in MobileProposal.Decision.values if d != "pending"}
    return actions


def test_every_recorded_action_has_a_chinese_name():
    actions = recorded_actions()
    assert len(actions) > 80  # the walk found the code's actions
    missing = sorted(action for action in actions if action not in ACTION_LABELS)
    assert not missing, f"audit actions without a Chinese name in governance/audit_labels.py: {missing}"


def test_an_unknown_action_shows_its_code():
    assert action_label("event.report") == "上报事件"
    assert action_label("something.new") == "something.new"
    assert Event.Status.CLOSED  # the event model the decisions above belong to is importable


def test_histories_name_people_by_their_names(db, django_user_model):
    from governance import audit
    from governance.models import AuditEntry
    from governance.templatetags.case_history import actor_of

    named = django_user_model.objects.create_user("wangxiaoming", first_name="小明", last_name="王")
    plain = django_user_model.objects.create_user("lisi")
    audit.record("event.report", actor=named)
    audit.record("event.report", actor=plain)
    audit.record("event.supervised")
    assert [actor_of(entry) for entry in AuditEntry.objects.select_related("actor").order_by("id")] == [
        named.get_full_name(), "lisi", "系统"]
