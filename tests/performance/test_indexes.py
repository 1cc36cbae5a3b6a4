"""The tables every report and every audited change write carry no index another one already serves:
each extra index is one more write per row (and, for a status change, per update)."""

import pytest
from django.db import connection

from governance.models import AuditEntry
from grid.models import Event

pytestmark = pytest.mark.django_db


def _indexes(model) -> dict[str, dict]:
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {name: info for name, info in found.items() if info["index"] or info["unique"] or info["primary_key"]}


def _served_elsewhere(indexes: dict[str, dict]) -> list[str]:
    """Non-unique indexes whose columns lead another index (or are all of one, as PostgreSQL's second,
    LIKE-only index on a CharField with db_index is)."""
    served = []
    for name, info in indexes.items():
        if info["unique"] or info["primary_key"]:
            continue
        columns = info["columns"]
        for other, other_info in indexes.items():
            if other != name and other_info["columns"][:len(columns)] == columns:
                served.append(f"{name} {columns} → {other} {other_info['columns']}")
                break
    return served


@pytest.mark.parametrize("model", [Event, AuditEntry], ids=lambda model: model.__name__)
def test_no_index_is_served_by_another(model):
    assert _served_elsewhere(_indexes(model)) == []


def test_the_event_lists_and_the_audit_log_keep_their_indexes():
    event = {tuple(info["columns"]) for info in _indexes(Event).values()}
    assert {("region_id", "id"), ("status", "id"), ("handling_region_id", "status")} <= event
    audit = {tuple(info["columns"]): info for info in _indexes(AuditEntry).values()}
    assert audit[("entry_hash",)]["unique"]
    assert {("action",), ("object_type",), ("object_id",), ("region_path",), ("created_at",)} <= set(audit)
