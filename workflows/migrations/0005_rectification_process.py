from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("workflows", "0004_mobile_inspection_process"),
    ]

    operations = [
        migrations.CreateModel(
            name="RectificationProcess",
            fields=[],
            options={
                "verbose_name": "巡察整改流程",
                "verbose_name_plural": "巡察整改流程",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("viewflow.process",),
        ),
    ]
