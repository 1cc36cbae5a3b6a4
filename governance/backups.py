"""Backup and restore of the whole system: database and uploaded files, consistent, verifiable.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import shutil
import subprocess
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
# How the database is kept: Django's JSON fixtures (any database), or pg_dump's custom format, whose
# restore streams rows with COPY and builds indexes once (time and memory do not grow as loaddata's).
METHOD_JSON = "json"
METHOD_PG_DUMP = "pg_dump"
PG_DUMP_FILE = "data/database.pgdump"


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


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"找不到 PostgreSQL 客户端程序 {name}，请安装与服务器同版本的 postgresql-client。")
    return path


def _pg_environment() -> dict[str, str]:
    """libpq's variables for the database Django uses (the password never on a command line)."""
    config = connection.settings_dict
    env = dict(os.environ)
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD"),
                          ("PGDATABASE", "NAME")):
        value = config.get(key)
        if value:
            env[variable] = str(value)
        else:
            env.pop(variable, None)
    for option, value in (config.get("OPTIONS") or {}).items():
        if option == "sslmode":
            env["PGSSLMODE"] = str(value)
    return env


def _run_pg_tool(arguments: list[str], what: str) -> None:
    completed = subprocess.run(arguments, env=_pg_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, check=False)
    if completed.returncode:
        message = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        raise BackupError(f"{what}失败（退出码 {completed.returncode}）：{' '.join(message[-3:])}")


def _pg_dump(path: Path, named_media: set[str]) -> tuple[dict, int, int]:
    """Dump the database with pg_dump (custom format) from this transaction's snapshot, so that the row
    counts and file names read here describe exactly the rows in the dump."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot_id = cursor.fetchone()[0]
    excluded = [model._meta.db_table for model in apps.get_models() if model._meta.label_lower in EXCLUDED]
    _run_pg_tool([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--snapshot={snapshot_id}", f"--file={path}",
                  *(f"--exclude-table-data={table}" for table in excluded)], "pg_dump 导出")
    tables: dict[str, int] = {}
    for model in backed_up_models():
        queryset = model._default_manager.all()
        tables[model._meta.label_lower] = queryset.count()
        for name in _file_fields(model):
            named_media.update(v for v in queryset.exclude(**{name: ""}).values_list(name, flat=True) if v)
    rows = sum(tables.values())
    entry = {"format": "pg_dump-custom", "rows": rows, "tables": tables, "sha256": _sha256(path)}
    return entry, rows, len(tables)


def default_method() -> str:
    """pg_dump on PostgreSQL, JSON elsewhere."""
    return METHOD_PG_DUMP if connection.vendor == "postgresql" else METHOD_JSON


def backup(out: Path | str, *, method: str | None = None) -> BackupSummary:
    out = Path(out)
    method = method or default_method()
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"备份目录“{out}”不是空的，请指定新的目录。")
    if method == METHOD_PG_DUMP:
        if connection.vendor != "postgresql":
            raise BackupError("pg_dump 备份只适用于 PostgreSQL 数据库。")
        if connection.in_atomic_block:  # the snapshot must be a transaction of its own, exported to pg_dump
            raise BackupError("pg_dump 备份不能在未提交的事务中进行。")
        _pg_tool("pg_dump")
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
            if method == METHOD_PG_DUMP:
                files[PG_DUMP_FILE], summary.rows, summary.models = _pg_dump(out / PG_DUMP_FILE, named_media)
            for model in backed_up_models() if method == METHOD_JSON else []:
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
        "method": method,
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


def _pg_restore(path: Path) -> None:
    """Replace every table of the dump (schema and rows) in one transaction: on any error nothing changes."""
    connection.close()  # no session of ours may hold a lock on a table pg_restore drops
    _run_pg_tool([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                  "--single-transaction", "--exit-on-error", f"--dbname={connection.settings_dict['NAME']}",
                  str(path)], "pg_restore 恢复")


def restore(directory: Path | str, *, force: bool = False) -> RestoreSummary:
    directory = Path(directory)
    manifest = read_manifest(directory)
    method = manifest.get("method", METHOD_JSON)
    if method == METHOD_PG_DUMP:
        if connection.vendor != "postgresql":
            raise BackupError("该备份由 pg_dump 生成，只能恢复到 PostgreSQL 数据库；"
                              "迁移到其他数据库请在原库上用 backup --json 重新备份。")
        if connection.in_atomic_block:  # pg_restore runs in its own connection: it would wait for ours
            raise BackupError("pg_dump 备份不能在未提交的事务中恢复。")
        _pg_tool("pg_restore")
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

    if method == METHOD_PG_DUMP:
        _pg_restore(directory / PG_DUMP_FILE)
        tables = manifest["data"][PG_DUMP_FILE]["tables"]
        summary = RestoreSummary(rows=sum(tables.values()), models=len(tables))
    else:
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
    tables = manifest["data"][PG_DUMP_FILE]["tables"] if manifest.get("method") == METHOD_PG_DUMP else manifest["data"]
    how = "（pg_dump）" if manifest.get("method") == METHOD_PG_DUMP else ""
    return (f"备份时间 {timezone.localtime(created):%Y-%m-%d %H:%M:%S}，数据库 {manifest['database_vendor']}{how}，"
            f"{len(tables)} 张表共 {manifest['rows']} 行，上传文件 {len(manifest['media'])} 个"
            f"（{media_bytes / 1024 / 1024:.1f} MB）。")
