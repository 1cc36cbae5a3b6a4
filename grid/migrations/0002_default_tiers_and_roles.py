from django.db import migrations

from grid.roles import sync_role_defaults

DEFAULT_TIERS = [
    # key, name, depth, households norm (the grid governance plans: 300-500 户大网格, 100-150 户小网格)
    ("county", "县", 1, None, None),
    ("township", "乡镇", 2, None, None),
    ("village", "村(社区)", 3, None, None),
    ("grid", "网格", 4, 300, 500),
    ("microgrid", "微网格", 5, 100, 150),
]


def create_tiers(apps, schema_editor):
    Tier = apps.get_model("grid", "Tier")
    for key, name, depth, low, high in DEFAULT_TIERS:
        Tier.objects.get_or_create(
            key=key, defaults={"name": name, "depth": depth, "households_min": low, "households_max": high}
        )


class Migration(migrations.Migration):
    dependencies = [
        ("grid", "0001_initial"),
        ("governance", "0001_initial"),
        ("inspection", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_tiers, migrations.RunPython.noop),
        migrations.RunPython(sync_role_defaults, migrations.RunPython.noop),
    ]
