from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0002_default_sla_rules"),
    ]

    operations = [
        migrations.CreateModel(
            name="PatrolReportProcess",
            fields=[],
            options={
                "verbose_name": "大巡查上报流程",
                "verbose_name_plural": "大巡查上报流程",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("viewflow.process",),
        ),
    ]
