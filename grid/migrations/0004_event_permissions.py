from django.db import migrations

from grid.roles import EVENTS, grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, EVENTS)


class Migration(migrations.Migration):
    dependencies = [("grid", "0003_events_patrols_diaries")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
