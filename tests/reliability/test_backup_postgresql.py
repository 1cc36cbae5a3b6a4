"""Backup and restore on PostgreSQL with pg_dump / pg_restore: the same manifest, checksums and
audit-chain check as the JSON backup, a refused tampered dump, nothing half-restored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from governance import audit, backups
from governance.audit import verify_chain
from governance.models import AuditChainHead, AuditEntry
from grid.models import EventCategory

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),  # pg_dump and pg_restore read and write in their own sessions
    pytest.mark.usefixtures("media_in_tmp"),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_dump / pg_restore 只用于 PostgreSQL"),
]


def counts() -> dict[str, int]:
    return {m._meta.label_lower: m._default_manager.count() for m in backups.backed_up_models()}


@pytest.fixture
def backed_up(county, personas, tmp_path) -> Path:
    for number in range(5):
        audit.record("test.backup", actor=personas["county_office"], object_repr=f"记录 {number}")
    Session.objects.create(session_key="s" * 32, session_data="x", expire_date=timezone.now())
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out))
    return out


def test_postgresql_round_trip_with_pg_dump_restores_every_row_and_the_audit_chain(backed_up, personas, capsys):
    manifest = json.loads((backed_up / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["method"] == "pg_dump"
    dump = manifest["data"]["data/database.pgdump"]
    assert dump["sha256"] == hashlib.sha256((backed_up / "data" / "database.pgdump").read_bytes()).hexdigest()
    assert dump["tables"]["governance.auditentry"] == AuditEntry.objects.count() >= 5
    assert "（pg_dump）" in backups.describe(backed_up)
    before = counts()
    head = AuditChainHead.objects.get(pk=1).last_hash
    password = get_user_model().objects.get(pk=personas["county_office"].pk).password

    # Changes after the backup: all of them are gone after the restore.
    EventCategory.objects.create(code="AFTER", name="备份之后新增")
    audit.record("test.after", object_repr="备份之后")
    with pytest.raises(CommandError, match="目标数据库不是空的.*--force"):
        call_command("restore", str(backed_up))
    call_command("restore", str(backed_up), "--force")

    out = capsys.readouterr().out
    assert f"审计链完整，共校验 {before['governance.auditentry']} 条记录" in out
    assert counts() == before
    assert not EventCategory.objects.filter(code="AFTER").exists()
    assert not Session.objects.exists()  # sessions are not kept: everyone logs in again
    assert AuditChainHead.objects.get(pk=1).last_hash == head
    assert verify_chain() == (before["governance.auditentry"], None)
    assert get_user_model().objects.get(pk=personas["county_office"].pk).password == password
    # Sequences follow the restored rows, and the chain goes on from the restored head.
    EventCategory.objects.create(code="NEW", name="恢复后新增")
    audit.record("test.after_restore", object_repr="恢复之后")
    assert verify_chain()[1] is None


def test_a_tampered_dump_is_refused_and_changes_nothing(backed_up):
    dump = backed_up / "data" / "database.pgdump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    EventCategory.objects.create(code="AFTER", name="备份之后新增")
    before = counts()

    with pytest.raises(CommandError, match="备份已损坏.*database.pgdump 校验和不符"):
        call_command("restore", str(backed_up), "--force")
    assert counts() == before


def test_a_dump_whose_checksum_was_forged_fails_in_pg_restore_and_changes_nothing(backed_up):
    dump = backed_up / "data" / "database.pgdump"
    data = bytearray(dump.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = b"\0" * 64
    dump.write_bytes(bytes(data))
    manifest_path = backed_up / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["data"]["data/database.pgdump"]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    EventCategory.objects.create(code="AFTER", name="备份之后新增")
    before = counts()

    with pytest.raises(CommandError, match="pg_restore 恢复失败"):
        call_command("restore", str(backed_up), "--force")
    assert counts() == before  # one transaction: nothing was dropped or loaded
    assert verify_chain()[1] is None


def test_json_backup_on_postgresql_still_lists_every_table(county, tmp_path):
    call_command("backup", "--out", str(tmp_path / "json"), "--json")
    manifest = backups.read_manifest(tmp_path / "json")
    assert manifest["method"] == "json"
    assert manifest["data"]["data/governance.auditentry.json"]["rows"] == AuditEntry.objects.count()
