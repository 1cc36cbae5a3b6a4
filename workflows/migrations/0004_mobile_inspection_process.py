from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0003_patrol_report_process"),
    ]

    operations = [
        migrations.CreateModel(
            name="MobileInspectionProcess",
            fields=[],
            options={
                "verbose_name": "机动巡察审批流程",
                "verbose_name_plural": "机动巡察审批流程",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("viewflow.process",),
        ),
    ]
