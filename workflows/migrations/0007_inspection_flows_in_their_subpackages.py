"""The inspection app's flows moved into its two subpackages (inspection/patrol/, inspection/rounds/):
viewflow keeps each process's flow and each task's node as 'app/module.Class[.node]' strings, rewritten
here (both ways) so that processes in flight go on."""

from django.db import migrations

MOVES = [
    ("inspection/patrol_report_flow.PatrolReportFlow", "inspection/patrol.report_flow.PatrolReportFlow"),
    (
        "inspection/mobile_inspection_flow.MobileInspectionFlow",
        "inspection/rounds.mobile_inspection_flow.MobileInspectionFlow",
    ),
]


def _rewrite(connection, moves) -> None:
    # Plain SQL: the historical models' flow fields would try to import the flows named by the old strings.
    with connection.cursor() as cursor:
        for old, new in moves:
            cursor.execute("UPDATE viewflow_process SET flow_class = %s WHERE flow_class = %s", [new, old])
            cursor.execute(
                "UPDATE viewflow_task SET flow_task = %s || substr(flow_task, %s) WHERE substr(flow_task, 1, %s) = %s",
                [new, len(old) + 1, len(old) + 1, old + "."],
            )


def forwards(apps, schema_editor):
    _rewrite(schema_editor.connection, MOVES)


def backwards(apps, schema_editor):
    _rewrite(schema_editor.connection, [(new, old) for old, new in MOVES])


class Migration(migrations.Migration):
    dependencies = [
        ("workflows", "0006_flows_beside_their_domains"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
