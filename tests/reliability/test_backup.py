"""Backup and restore: the demo county goes out and comes back whole, audit chain intact."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError

from governance import backups, evidence
from governance.audit import verify_chain
from governance.models import Attachment, AuditChainHead, AuditEntry
from tests.conftest import photo_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]



def counts() -> dict[str, int]:
    return {m._meta.label_lower: m._default_manager.count() for m in backups.backed_up_models()}


@pytest.fixture
def demo():
    from config.demo import load_demo
    from grid.models import Event

    load_demo()
    event = Event.objects.order_by("pk").first()
    [attachment] = evidence.store(event, [evidence.inspect_upload(SimpleUploadedFile("现场.jpg", photo_bytes()))])
    return attachment


def test_the_demo_county_round_trips_and_its_audit_chain_verifies(demo, tmp_path, capsys):
    before = counts()
    assert before["governance.auditentry"] > 50 and before["grid.event"] > 0
    head = AuditChainHead.objects.get(pk=1).last_hash
    password = get_user_model().objects.get(username="wanggeyuan").password
    out = tmp_path / "backup"

    call_command("backup", "--out", str(out), "--json")
    assert "已备份到" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"]["data/governance.auditentry.json"]["rows"] == before["governance.auditentry"]
    assert manifest["media"][demo.file.name]["sha256"] == hashlib.sha256(photo_bytes()).hexdigest()
    assert not manifest["missing_media"]

    # A new, empty database and an empty media directory.
    backups._empty_tables()
    for path in sorted(Path(demo.file.storage.location).rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    assert AuditEntry.objects.count() == 0 and get_user_model().objects.count() == 0

    call_command("restore", str(out))
    out_text = capsys.readouterr().out
    assert "恢复完成" in out_text and "审计链完整" in out_text
    assert counts() == before
    assert verify_chain()[1] is None and verify_chain()[0] == before["governance.auditentry"]
    assert AuditChainHead.objects.get(pk=1).last_hash == head
    assert get_user_model().objects.get(username="wanggeyuan").password == password
    restored = Attachment.objects.get(pk=demo.pk)
    with restored.file.open("rb") as handle:
        assert handle.read() == photo_bytes()
    # Sequences follow the restored rows: new rows get new numbers.
    from grid.models import EventCategory

    EventCategory.objects.create(code="NEW", name="恢复后新增")


def test_restore_refuses_a_database_with_data_unless_forced(county, personas, tmp_path):
    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), "--json")
    with pytest.raises(CommandError, match="目标数据库不是空的.*--force"):
        call_command("restore", str(out))
    from grid.models import EventCategory

    EventCategory.objects.create(code="AFTER", name="备份之后新增")
    call_command("restore", str(out), "--force")
    assert not EventCategory.objects.filter(code="AFTER").exists()
    assert verify_chain()[1] is None


def test_a_damaged_backup_is_refused_and_changes_nothing(county, personas, tmp_path):
    import re

    out = tmp_path / "backup"
    call_command("backup", "--out", str(out), "--json")
    data = out / "data" / "grid.region.json"
    data.write_text(re.sub(r'"pk": \d+', '"pk": 999', data.read_text(encoding="utf-8"), count=1), encoding="utf-8")
    before = counts()
    with pytest.raises(CommandError, match="备份已损坏.*grid.region.json 校验和不符"):
        call_command("restore", str(out), "--force")
    assert counts() == before


def test_backup_refuses_a_directory_that_is_not_empty(db, tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "x").write_text("x")
    with pytest.raises(CommandError, match="不是空的"):
        call_command("backup", "--out", str(tmp_path / "old"))


def test_every_model_is_in_the_backup(db, tmp_path):
    summary = backups.backup(tmp_path / "b", method=backups.METHOD_JSON)
    manifest = backups.read_manifest(tmp_path / "b")
    expected = {m._meta.label_lower for m in apps.get_models() if m._meta.managed and not m._meta.proxy}
    assert {entry["model"] for entry in manifest["data"].values()} == expected - backups.EXCLUDED
    assert summary.models == len(manifest["data"])
