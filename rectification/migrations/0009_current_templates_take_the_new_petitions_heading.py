"""Part 三（二） of the notice is headed "转办信访件办理及追回资金" (0008 changed the field's default). A county
whose current template version still has the old default heading "转办信访件办理情况" gets a next version
that differs from it only in that heading, so that its next notice is drafted with the new one.

As `rectification.notices.save_template` does, the new version is the current one's number + 1 and the
saved versions stay as they were: a notice keeps the version it was drafted with. A heading a county
wrote itself is left alone. The version has no 修改人 (no person made it) and, like the repository's
other data migrations, writes no audit entry (the audit chain is written with the live models inside a
request's transaction, not from migrations). Reversing leaves the new versions: a notice may already
use one, and the old heading is no longer the published one."""

from django.db import migrations
from django.db.models import OuterRef, Subquery

OLD_HEADING = "转办信访件办理情况"
NEW_HEADING = "转办信访件办理及追回资金"
# Given anew to the next version; every other field is the current version's.
NOT_COPIED = ("id", "version", "created_by", "created_at")


def rename_petitions_heading(apps, schema_editor):
    """For each county whose latest version has the old heading, its next version with the new one."""
    NoticeTemplate = apps.get_model("rectification", "NoticeTemplate")
    latest = (NoticeTemplate.objects.filter(county_id=OuterRef("county_id")).order_by("-version")
              .values("version")[:1])
    current = (NoticeTemplate.objects.filter(version=Subquery(latest), heading_petitions=OLD_HEADING)
               .order_by("county_id"))
    fields = [f for f in NoticeTemplate._meta.concrete_fields if f.name not in NOT_COPIED]
    for template in current:
        values = {f.attname: getattr(template, f.attname) for f in fields}
        NoticeTemplate.objects.create(**values | {"heading_petitions": NEW_HEADING}, version=template.version + 1,
                                      created_by=None)


class Migration(migrations.Migration):

    dependencies = [
        ("rectification", "0008_petitions_heading_names_money_recovered"),
    ]

    operations = [
        migrations.RunPython(rename_petitions_heading, migrations.RunPython.noop),
    ]
