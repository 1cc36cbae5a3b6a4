from django.db import migrations

from grid.roles import INSPECTION, grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, INSPECTION)


class Migration(migrations.Migration):
    dependencies = [
        ("inspection", "0005_county_inspection_rounds"),
        ("rectification", "0001_plans_and_items"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
