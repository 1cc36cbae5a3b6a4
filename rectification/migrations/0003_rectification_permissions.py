from django.db import migrations

from grid.roles import RECTIFICATION, grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, RECTIFICATION)


class Migration(migrations.Migration):
    dependencies = [("rectification", "0002_plan_header_progress_accountability_notices")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
