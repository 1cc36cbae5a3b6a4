from django.db import migrations

from grid.roles import NOTICE_TEMPLATES, grant_role_permissions


def grant(apps, schema_editor):
    grant_role_permissions(apps, NOTICE_TEMPLATES)


class Migration(migrations.Migration):
    dependencies = [("rectification", "0004_notice_templates_edits_and_deadline_wording")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
