"""The audit trail: every state change writes one chained row here, inside the change's transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.db.models import F
from django.db.models.sql import InsertQuery
from django.forms.models import model_to_dict
from django.utils import timezone

from . import one_statement, prepared_sql
from .models import HASHED_FIELDS, AuditChainHead, AuditEntry, chain_hash, hashed_content
from .request_context import request_id_var

GENESIS_HASH = "0" * 64


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """A JSON-ready dict of a model instance's concrete fields (M2M as lists of ids)."""
    data = model_to_dict(instance, fields=fields)
    for key, value in list(data.items()):
        if isinstance(value, list):
            data[key] = sorted(getattr(item, "pk", item) for item in value)
    return _to_json_ready(data)


def _to_json_ready(value):
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))


def record(
    action: str,
    *,
    actor=None,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    object_repr: str = "",
    region_path: str | None = None,
    about: type[models.Model] | None = None,
) -> AuditEntry:
    """Append one row to the audit chain. Call it inside the transaction of the change it records.

    The entry's region (who may read it) is the object's; `region_path` gives it for entries without
    an object (an export: `actor_region_path(user)`). `about` names the kind of records an entry without
    an object is about (an export of a list): the entry is then filed under that kind, whose own
    visibility rule decides who reads it (governance.visibility)."""
    # No savepoint of its own inside the caller's transaction (the change and its record stand or fall
    # together anyway): three statements per record instead of five on the hot paths (event intake).
    with transaction.atomic(savepoint=False):
        entry = entry_for(action, actor=actor, obj=obj, before=before, after=after, object_repr=object_repr,
                          region_path=region_path, about=about, previous_hash=_take_head(1))
        if connection.vendor == "postgresql":
            _insert_and_move_head(entry)
        else:
            entry.save()
            AuditChainHead.objects.filter(pk=1).update(last_hash=entry.entry_hash)
    return entry


def entry_for(action: str, *, actor=None, obj=None, before=None, after=None, object_repr: str = "",
              region_path: str | None = None, previous_hash: str, created_at=None,
              about: type[models.Model] | None = None) -> AuditEntry:
    """The chained entry `record` (and each of `record_many`'s) writes, hashed onto `previous_hash`, not saved."""
    entry = AuditEntry(
        created_at=created_at or timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=obj._meta.label if obj is not None else (about._meta.label if about is not None else ""),
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        region_path=region_path if region_path is not None else _region_path(obj),
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:300],
        before=_to_json_ready(before) if before is not None else None,
        after=_to_json_ready(after) if after is not None else None,
        request_id=request_id_var.get(),
        previous_hash=previous_hash,
    )
    entry.entry_hash = entry.compute_hash()
    return entry


def take_head_drawing_ids(models_in_order) -> tuple[str, list[int]]:
    """PostgreSQL: lock the chain's head (as `record` does) and draw ids for rows about to be written
    with `one_statement.insert_rows`, in one statement. Returns the hash to chain onto and the ids."""
    calls, names = one_statement.sequence_calls(models_in_order)
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    row = prepared_sql.execute(f"UPDATE {table} SET writes = writes + 1 WHERE id = 1 RETURNING last_hash, {calls}", names)
    if row is not None:
        return row[0] or GENESIS_HASH, list(row[1:])
    previous = _take_head(1)  # the chain's first entry: the head row is created (once: not worth preparing)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", names)
        return previous, list(cursor.fetchone())


def head_move(entry: AuditEntry) -> tuple[str, list]:
    """The statement that points the chain's head at `entry` (to end a one_statement.insert_rows)."""
    table = connection.ops.quote_name(AuditChainHead._meta.db_table)
    return f"UPDATE {table} SET last_hash = %s WHERE id = 1", [entry.entry_hash]


def _insert_and_move_head(entry: AuditEntry) -> None:
    """INSERT the entry and point the head at it in one statement (a CTE): one round trip fewer."""
    fields = [field for field in AuditEntry._meta.local_concrete_fields if field.column != "id"]
    query = InsertQuery(AuditEntry)
    query.insert_values(fields, [entry])
    [(insert_sql, params)] = query.get_compiler(connection=connection).as_sql()
    head = connection.ops.quote_name(AuditChainHead._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH e AS ({insert_sql} RETURNING id) "
                       f"UPDATE {head} SET last_hash = %s WHERE id = 1 RETURNING (SELECT id FROM e)",
                       [*params, entry.entry_hash])
        entry.pk = cursor.fetchone()[0]
    entry._state.adding = False


def record_many(action: str, objects: list[models.Model], *, actor=None, before: dict | None = None,
                after: dict | None = None) -> int:
    """Append one row per object for the same action, chained in order, with one lock of the head.

    For set-based jobs (the overdue scan) that would otherwise take the head lock once per row.
    """
    if not objects:
        return 0
    with transaction.atomic():
        previous = _take_head(len(objects))
        now = timezone.now()
        entries = []
        for obj in objects:
            entry = entry_for(action, actor=actor, obj=obj, before=before, after=after, previous_hash=previous,
                              created_at=now)
            previous = entry.entry_hash
            entries.append(entry)
        AuditEntry.objects.bulk_create(entries, batch_size=1000)
        AuditChainHead.objects.filter(pk=1).update(last_hash=previous)
    return len(entries)


def hold_head() -> None:
    """Lock the chain's head for the rest of the transaction without writing an entry yet.

    For a change that also updates rows many writers share (grid.event_counts): every such writer then
    takes the head first and the shared rows after it, one order for all (no deadlock between a
    writer holding the head and one holding a shared row)."""
    _take_head(0)


def _take_head(writes: int) -> str:
    """Lock the chain's head row (serialising writers on SQLite and PostgreSQL alike) and return the
    hash the next entry chains onto; one statement on PostgreSQL (UPDATE … RETURNING)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(AuditChainHead._meta.db_table)
        with connection.cursor() as cursor:
            for _ in range(2):
                cursor.execute(f"UPDATE {table} SET writes = writes + %s WHERE id = 1 RETURNING last_hash", [writes])
                row = cursor.fetchone()
                if row is not None:
                    return row[0] or GENESIS_HASH
                # The chain's first entry. Writers that start together on an empty chain all get here:
                # the first inserts the row, the others wait for its commit and then lock it above.
                cursor.execute(f"INSERT INTO {table} (id, writes, last_hash) VALUES (1, 0, '') "
                               "ON CONFLICT (id) DO NOTHING")
        raise RuntimeError("audit chain head missing")
    elif AuditChainHead.objects.filter(pk=1).update(writes=F("writes") + writes):
        return AuditChainHead.objects.values_list("last_hash", flat=True).get(pk=1) or GENESIS_HASH
    AuditChainHead.objects.create(pk=1, writes=writes)
    return GENESIS_HASH


# Where an entry belongs in the region tree, answered by the app that holds the regions (grid registers
# its answers at start-up, grid.apps): the auditors of a region read the entries of its subtree.
_region_of_object = None
_region_of_actor = None


def use_regions(*, of_object, of_actor) -> None:
    """`of_object(obj)`: the path of the region a record belongs to (or None); `of_actor(user)`: the
    broadest region where the user holds a post now ("" for none)."""
    global _region_of_object, _region_of_actor
    _region_of_object, _region_of_actor = of_object, of_actor


def actor_region_path(user) -> str:
    """The broadest region where `user` holds a post now ("" for none): an entry about what the user
    did rather than about a record (an export) is read by the auditors of that region."""
    if not getattr(user, "pk", None) or _region_of_actor is None:
        return ""
    return _region_of_actor(user)


def _region_path(obj) -> str:
    if obj is None or _region_of_object is None:
        return ""
    try:
        return _region_of_object(obj) or ""
    except Exception:  # an object whose region cannot be resolved is audited without one
        return ""


@dataclass
class ChainBreak:
    entry_id: int | None
    reason: str


def verify_chain(*, batch_size: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in id order; return how many rows were checked and the first break, if any.

    Rows are read as plain tuples in batches (a server-side cursor on PostgreSQL), not as model
    instances: at a million rows building the instances cost more than hashing them."""
    expected_previous = GENESIS_HASH
    checked = 0
    rows = (AuditEntry.objects.order_by("id").values_list("id", "previous_hash", "entry_hash", *HASHED_FIELDS)
            .iterator(chunk_size=batch_size))
    for pk, previous_hash, entry_hash, *values in rows:
        if previous_hash != expected_previous:
            return checked, ChainBreak(pk, "前一条哈希不符：其前面的记录被删除或修改")
        if chain_hash(previous_hash, hashed_content(values)) != entry_hash:
            return checked, ChainBreak(pk, "内容哈希不符：本条记录被修改")
        expected_previous = entry_hash
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    last_hash = head.last_hash if head else ""
    if (last_hash or GENESIS_HASH) != expected_previous and not (checked == 0 and not last_hash):
        return checked, ChainBreak(None, "链尾哈希不符：最后的记录被删除")
    return checked, None


def entries_for(obj: models.Model):
    """The audit rows of one record, oldest first (its history on detail pages)."""
    return (
        AuditEntry.objects.filter(object_type=obj._meta.label, object_id=str(obj.pk))
        .select_related("actor").order_by("id")
    )
