"""Default SLA rules per tier × urgency, editable in the admin afterwards.

The grid plans set the rhythm rather than hours (the grid governance plans): grid members patrol
and report daily (日巡查, "每天…上报镇网格化中心"), "能够处理的事项及时处理，不能处理的逐级上报",
and the township meets weekly on what villages could not solve (会商机制, "每周由镇网格化办公室
牵头…"). Hence: a grid has a day, a village two, the township (and its departments) a week;
urgent and critical events much less. Grid and village escalate by themselves when overdue
(村呼镇应); the township does not, it is supervised instead.
"""

from django.db import migrations

DEFAULT_RULES = {
    # tier key: ({urgency: hours}, auto_escalate)
    "grid": ({"normal": 24, "urgent": 8, "critical": 2}, True),
    "village": ({"normal": 48, "urgent": 24, "critical": 4}, True),
    "township": ({"normal": 168, "urgent": 48, "critical": 8}, False),
}


def create_rules(apps, schema_editor):
    Tier = apps.get_model("grid", "Tier")
    SLARule = apps.get_model("workflows", "SLARule")
    for tier_key, (hours_by_urgency, auto_escalate) in DEFAULT_RULES.items():
        tier = Tier.objects.filter(key=tier_key).first()
        if tier is None:
            continue
        for urgency, hours in hours_by_urgency.items():
            SLARule.objects.get_or_create(
                tier=tier, urgency=urgency, category=None,
                defaults={"hours": hours, "clock": "natural", "auto_escalate": auto_escalate},
            )


def remove_rules(apps, schema_editor):
    SLARule = apps.get_model("workflows", "SLARule")
    for tier_key, (hours_by_urgency, _) in DEFAULT_RULES.items():
        for urgency, hours in hours_by_urgency.items():
            SLARule.objects.filter(tier__key=tier_key, urgency=urgency, category=None, hours=hours).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0001_initial"),
        ("grid", "0002_default_tiers_and_roles"),
    ]

    operations = [migrations.RunPython(create_rules, remove_rules)]
