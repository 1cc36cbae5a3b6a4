from django.db import migrations

from grid.roles import BIG_PATROL, grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, BIG_PATROL)


class Migration(migrations.Migration):
    dependencies = [
        ("inspection", "0002_big_patrol_ledgers_reports_findings"),
        ("grid", "0005_default_categories_and_cadence"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
