import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from governance import audit
from governance.models import AuditEntry
from grid import services
from grid.models import Role


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_state_changes_write_chained_audit_rows(county, personas):
    user = personas["grid_member"]
    before = AuditEntry.objects.count()
    post = services.create_post(user=user, role=Role.objects.get(key="grid_leader"), region=county.grid2, by=personas["township_office"])
    services.end_post(post, by=personas["township_office"])
    rows = list(AuditEntry.objects.order_by("-id")[:2])[::-1]
    assert AuditEntry.objects.count() == before + 2
    assert [r.action for r in rows] == ["post.create", "post.end"]
    assert rows[0].actor_name == "township_office"
    assert rows[1].before == {"end_date": None} and rows[1].after["end_date"]
    assert rows[1].previous_hash == rows[0].entry_hash
    assert rows[0].region_path == county.grid2.path


def test_audit_rows_cannot_be_changed_or_deleted_through_the_orm(county):
    entry = AuditEntry.objects.first()
    entry.action = "tampered"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()


def test_verify_audit_passes_on_an_intact_chain(county, capsys):
    call_command("verify_audit")
    assert "审计链完整" in capsys.readouterr().out


def test_verify_audit_names_the_first_edited_row(county):
    victim = AuditEntry.objects.order_by("id")[3]
    _raw("UPDATE governance_auditentry SET after = %s WHERE id = %s", ['{"name": "改过"}', victim.pk])
    with pytest.raises(CommandError, match=f"第 {victim.pk} 号记录.*被修改"):
        call_command("verify_audit")


def test_verify_audit_notices_a_deleted_row(county):
    victim = AuditEntry.objects.order_by("id")[2]
    successor = AuditEntry.objects.filter(id__gt=victim.pk).order_by("id").first()
    _raw("DELETE FROM governance_auditentry WHERE id = %s", [victim.pk])
    with pytest.raises(CommandError, match=f"第 {successor.pk} 号记录.*删除"):
        call_command("verify_audit")


def test_verify_audit_notices_an_entry_whose_action_was_rewritten(county):
    """The hash covers what was done, not only to what: "post.end" rewritten as "post.create" is caught."""
    victim = AuditEntry.objects.order_by("id")[1]
    _raw("UPDATE governance_auditentry SET action = %s WHERE id = %s", ["region.view", victim.pk])
    with pytest.raises(CommandError, match=f"第 {victim.pk} 号记录.*被修改"):
        call_command("verify_audit")


def test_verify_audit_notices_the_first_row_deleted(county):
    """The chain starts from a fixed genesis hash: removing its first row leaves the second pointing at nothing."""
    first, second = AuditEntry.objects.order_by("id")[:2]
    _raw("DELETE FROM governance_auditentry WHERE id = %s", [first.pk])
    with pytest.raises(CommandError, match=f"第 {second.pk} 号记录.*删除"):
        call_command("verify_audit")


def test_every_recorded_field_is_covered_by_the_hash(county):
    entry = AuditEntry.objects.order_by("id").first()
    covered = set(entry.content_for_hash())
    stored = {field.attname for field in AuditEntry._meta.concrete_fields} - {"id", "previous_hash", "entry_hash"}
    assert stored <= covered, f"哈希未覆盖：{stored - covered}"


def test_verify_audit_notices_the_last_row_deleted(county):
    last = AuditEntry.objects.order_by("-id").first()
    _raw("DELETE FROM governance_auditentry WHERE id = %s", [last.pk])
    with pytest.raises(CommandError, match="链尾"):
        call_command("verify_audit")


def test_request_id_is_recorded(county, client, personas):
    from governance.request_context import request_id_var

    token = request_id_var.set("req-123")
    try:
        entry = audit.record("test.action", obj=county.louxing)
    finally:
        request_id_var.reset(token)
    assert entry.request_id == "req-123"
