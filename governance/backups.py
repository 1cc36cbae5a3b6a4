"""Backup and restore of the whole system: database and uploaded files, consistent, verifiable.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.management import call_command
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from .audit import verify_chain
from .models import AuditEntry

FORMAT = "governance-backup/1"
# Rows that need not survive a restore: sessions (everyone logs in again).
EXCLUDED = {"sessions.session"}


class ExactJSONEncoder(DjangoJSONEncoder):
    """DjangoJSONEncoder cuts times to milliseconds; a backup keeps them exact (the audit chain's
    hashes cover the microseconds)."""

    def default(self, o):
        if isinstance(o, (datetime.datetime, datetime.time)):
            return o.isoformat()
        return super().default(o)


class BackupError(Exception):
    """A backup or restore that cannot go ahead; the message is for the operator, in Chinese."""


@dataclass
class BackupSummary:
    directory: Path
    rows: int = 0
    models: int = 0
    media_files: int = 0
    media_bytes: int = 0
    missing_media: list[str] = field(default_factory=list)


@dataclass
class RestoreSummary:
    rows: int = 0
    models: int = 0
    media_files: int = 0
    audit_checked: int = 0


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def backed_up_models() -> list[type[models.Model]]:
    return [
        model for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy and model._meta.label_lower not in EXCLUDED
    ]


def _applied_migrations() -> list[str]:
    return sorted(f"{app}.{name}" for app, name in MigrationRecorder(connection).applied_migrations())


def _file_fields(model) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, models.FileField)]


def _start_snapshot(nested: bool) -> None:
    """Make the current transaction one consistent snapshot of the database (a caller's own
    transaction, when `nested`, already is one as far as it can be)."""
    if nested:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations")  # takes the shared lock now


def backup(out: Path | str) -> BackupSummary:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"备份目录“{out}”不是空的，请指定新的目录。")
    data_dir = out / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    summary = BackupSummary(directory=out)
    files: dict[str, dict] = {}
    named_media: set[str] = set()
    started = timezone.now()
    nested = connection.in_atomic_block
    try:
        with transaction.atomic():
            _start_snapshot(nested)
            migrations = _applied_migrations()
            for model in backed_up_models():
                label = model._meta.label_lower
                path = data_dir / f"{label}.json"
                queryset = model._default_manager.order_by("pk")
                count = queryset.count()
                with open(path, "w", encoding="utf-8") as handle:
                    serializers.serialize("json", queryset.iterator(chunk_size=2000), stream=handle,
                                          cls=ExactJSONEncoder)
                for name in _file_fields(model):
                    named_media.update(v for v in queryset.exclude(**{name: ""}).values_list(name, flat=True) if v)
                files[f"data/{label}.json"] = {"model": label, "rows": count, "sha256": _sha256(path)}
                summary.rows += count
                summary.models += 1
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    media_root = Path(settings.MEDIA_ROOT)
    media_files: dict[str, dict] = {}
    if media_root.is_dir():
        for source in sorted(p for p in media_root.rglob("*") if p.is_file()):
            relative = source.relative_to(media_root).as_posix()
            target = out / "media" / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            media_files[relative] = {"bytes": target.stat().st_size, "sha256": _sha256(target)}
            summary.media_bytes += target.stat().st_size
    summary.media_files = len(media_files)
    summary.missing_media = sorted(named_media - set(media_files))
    manifest = {
        "format": FORMAT,
        "created_at": started.isoformat(),
        "finished_at": timezone.now().isoformat(),
        "database_vendor": connection.vendor,
        "migrations": migrations,
        "rows": summary.rows,
        "data": files,
        "media": media_files,
        "missing_media": summary.missing_media,
    }
    with open(out / "manifest.json", "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, ensure_ascii=False, indent=1, sort_keys=True)
    return summary


def read_manifest(directory: Path | str) -> dict:
    directory = Path(directory)
    path = directory / "manifest.json"
    if not path.is_file():
        raise BackupError(f"“{directory}”不是备份目录：没有 manifest.json。")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise BackupError(f"备份清单 manifest.json 已损坏：{exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"不认识的备份格式“{manifest.get('format')}”（应为 {FORMAT}）。")
    return manifest


def verify_files(directory: Path | str, manifest: dict) -> None:
    """Every data and media file is there with the checksum the manifest recorded."""
    directory = Path(directory)
    problems = []
    for relative, entry in manifest["data"].items():
        path = directory / relative
        if not path.is_file():
            problems.append(f"缺少数据文件 {relative}")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"数据文件 {relative} 校验和不符")
    for relative, entry in manifest["media"].items():
        path = directory / "media" / relative
        if not path.is_file():
            problems.append(f"缺少上传文件 media/{relative}")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"上传文件 media/{relative} 校验和不符")
    if problems:
        shown = "；".join(problems[:10]) + (f"；等共 {len(problems)} 处" if len(problems) > 10 else "")
        raise BackupError(f"备份已损坏，未恢复任何数据：{shown}。")


def business_rows() -> dict[str, int]:
    """What makes a database 'not empty': accounts, audit entries, regions."""
    regions = apps.get_model("grid", "Region")  # by name, as the backup reads every app's models
    return {"用户": get_user_model().objects.count(), "审计记录": AuditEntry.objects.count(),
            "区域": regions.objects.count()}


def _empty_tables() -> None:
    tables = [m._meta.db_table for m in backed_up_models()]
    tables += [f.remote_field.through._meta.db_table for m in backed_up_models() for f in m._meta.local_many_to_many
               if f.remote_field.through._meta.auto_created]
    existing = set(connection.introspection.table_names())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # TRUNCATE refuses tables with deferred checks still pending
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    statements = connection.ops.sql_flush(no_style(), [t for t in tables if t in existing], reset_sequences=True,
                                          allow_cascade=True)
    connection.ops.execute_sql_flush(statements)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # loading checks foreign keys at commit, in any order
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def restore(directory: Path | str, *, force: bool = False) -> RestoreSummary:
    directory = Path(directory)
    manifest = read_manifest(directory)
    verify_files(directory, manifest)
    applied = _applied_migrations()
    if not applied:
        call_command("migrate", interactive=False, verbosity=0)
        applied = _applied_migrations()
    if set(manifest["migrations"]) != set(applied):
        missing = sorted(set(manifest["migrations"]) - set(applied))
        extra = sorted(set(applied) - set(manifest["migrations"]))
        raise BackupError(
            "备份与当前数据库结构（迁移）不一致，请先用生成备份时的程序版本恢复："
            + (f"备份有而本库没有 {', '.join(missing[:5])}" if missing else "")
            + (f"；本库有而备份没有 {', '.join(extra[:5])}" if extra else "")
        )
    present = {name: count for name, count in business_rows().items() if count}
    if present and not force:
        what = "、".join(f"{name} {count} 条" for name, count in present.items())
        raise BackupError(f"目标数据库不是空的（已有{what}），恢复会覆盖这些数据。确认覆盖请加 --force。")
    media_root = Path(settings.MEDIA_ROOT)
    if media_root.is_dir() and any(media_root.rglob("*")) and not force and manifest["media"]:
        raise BackupError(f"上传文件目录“{media_root}”不是空的，恢复会覆盖其中的文件。确认覆盖请加 --force。")

    fixtures = [str(directory / relative) for relative, entry in sorted(manifest["data"].items()) if entry["rows"]]
    with transaction.atomic():
        _empty_tables()
        if fixtures:
            call_command("loaddata", *fixtures, verbosity=0)
    summary = RestoreSummary(rows=sum(e["rows"] for e in manifest["data"].values()), models=len(manifest["data"]))
    for relative in manifest["media"]:
        target = media_root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(directory / "media" / relative, target)
        summary.media_files += 1
    checked, broken = verify_chain()
    if broken is not None:
        where = f"第 {broken.entry_id} 号记录" if broken.entry_id is not None else "链尾"
        raise BackupError(f"数据已恢复，但审计链校验不通过：{where}，{broken.reason}。")
    summary.audit_checked = checked
    return summary


def describe(directory: Path | str) -> str:
    manifest = read_manifest(directory)
    created = datetime.datetime.fromisoformat(manifest["created_at"])
    media_bytes = sum(entry["bytes"] for entry in manifest["media"].values())
    return (f"备份时间 {timezone.localtime(created):%Y-%m-%d %H:%M:%S}，数据库 {manifest['database_vendor']}，"
            f"{len(manifest['data'])} 张表共 {manifest['rows']} 行，上传文件 {len(manifest['media'])} 个"
            f"（{media_bytes / 1024 / 1024:.1f} MB）。")
