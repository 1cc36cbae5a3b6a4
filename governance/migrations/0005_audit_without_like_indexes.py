"""Drop the LIKE-only copies PostgreSQL's schema editor made of the audit log's indexed text fields.

`db_index` (or `unique`) on a CharField gives, on PostgreSQL, a second index with varchar_pattern_ops
for LIKE 'prefix%'. No query filters these fields by prefix (the log's action search is a contains, which
no btree serves), and every audited write paid for four more index entries. Dropping an index is instant
and old code runs unchanged on the new schema; the plain indexes and the unique one stay.
"""

from django.db import migrations

LIKE_INDEXES = {  # index → column, as Django named them when it created the table
    "governance_auditentry_action_3fb362f6_like": "action",
    "governance_auditentry_object_type_80310fb6_like": "object_type",
    "governance_auditentry_object_id_1ff4fac8_like": "object_id",
    "governance_auditentry_entry_hash_98654f30_like": "entry_hash",
}


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in LIKE_INDEXES:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, column in LIKE_INDEXES.items():
            schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "governance_auditentry" '
                                  f'("{column}" varchar_pattern_ops)')


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0004_mobile_numbers_and_channel_messages"),
    ]

    operations = [migrations.RunPython(drop, create)]
