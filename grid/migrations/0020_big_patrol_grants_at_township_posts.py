"""No row changes: from this release a department's, township office's or supervision group's big-patrol
permissions count only through a post at a township or below (grid.roles.township_posts_only). Users'
kept access snapshots were computed by the old reading: the next request of each computes them anew."""

from django.db import migrations

from grid import access_cache


def forget_kept_access(apps, schema_editor):
    access_cache.bump()


class Migration(migrations.Migration):

    dependencies = [
        ('grid', '0019_event_disposed_by'),
    ]

    operations = [
        migrations.RunPython(forget_kept_access, forget_kept_access),
    ]
