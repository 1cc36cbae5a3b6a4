"""A database made by the previous release migrates forward with every row kept, and the work in flight
in it goes on with this release's code.

The database is tests/fixtures/previous_release.sqlite3.gz: made with the previous release's code
(commit b385899, settings `governance.settings`, the flows in workflows/) by `migrate`, `load_demo` and
tests/fixtures/make_previous_release.py (which tells how). It holds the demo county, processes in flight
of all four flows (four events, one with a photo; a village's patrol report; a rectification item; a
mobile inspection proposal), evidence attachments on three kinds of records, and guardian rows (a
rectification item shared with one user, a region granted to a group). The attachments' files are not
kept with it: the checks are about the rows.

A copy is migrated by `manage.py migrate` in a subprocess with this release's settings, then
tests/workflows/upgraded_database_checks.py reads and works it in another. Both use that SQLite file
whatever the run's own database is, so the test runs (and means the same) in the PostgreSQL pass too;
it uses no test database of its own. One test, so that the migration runs once (not once per xdist
worker); its failure lists every problem found.
"""

import gzip
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "previous_release.sqlite3.gz"
CHECKS = Path(__file__).with_name("upgraded_database_checks.py")

# The one change the migrations make to earlier rows: the flow references (workflows 0006, then 0007 for the
# inspection flows moved into inspection/patrol/ and inspection/rounds/).
MOVED = {
    "workflows/event_flow.EventFlow": "grid/event_flow.EventFlow",
    "workflows/patrol_report_flow.PatrolReportFlow": "inspection/patrol.report_flow.PatrolReportFlow",
    "workflows/mobile_inspection_flow.MobileInspectionFlow":
        "inspection/rounds.mobile_inspection_flow.MobileInspectionFlow",
    "workflows/rectification_flow.RectificationFlow": "rectification/rectification_flow.RectificationFlow",
}
REFERENCE_COLUMNS = {("viewflow_process", "flow_class"), ("viewflow_task", "flow_task")}
# Columns this release drops, their meaning now computed from rows that are kept: an event's overdue flag
# (grid 0016: from the open step's deadline, copied onto the event as step_due_at).
DROPPED = {("grid_event", "is_overdue")}
# Tables this release's migrations add rows to: the migrations themselves, the new models' content types
# and permissions, the new roles (the county grid service centre) and the permissions given to the roles.
# Every other table keeps its row count.
GROWING = {"django_migrations", "django_content_type", "auth_permission", "grid_role", "grid_role_permissions"}
# Grants this release takes from a role on purpose (role key, app label, codename): a department no longer
# sees every event of its region, only those dispatched to it (grid 0018).
WITHDRAWN_GRANTS = {("department", "grid", "view_event")}


def withdrawn_rows(tables) -> set[tuple]:
    """The grid_role_permissions rows of WITHDRAWN_GRANTS, as they were in `tables`."""
    def rows(name):
        columns, values = tables[name]
        return [dict(zip(columns, row, strict=True)) for row in values]

    roles = {row["id"]: row["key"] for row in rows("grid_role")}
    apps = {row["id"]: row["app_label"] for row in rows("django_content_type")}
    perms = {row["id"]: (apps[row["content_type_id"]], row["codename"]) for row in rows("auth_permission")}
    columns, values = tables["grid_role_permissions"]
    return {row for row in values
            if (roles[row[columns.index("role_id")]], *perms[row[columns.index("permission_id")]]) in WITHDRAWN_GRANTS}


def moved(reference):
    for old, new in MOVED.items():
        if reference == old or reference.startswith(old + "."):
            return new + reference[len(old):]
    return reference


def read_tables(path: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every table's columns and rows, read with sqlite3 itself (no Django, no models)."""
    with closing(sqlite3.connect(path)) as connection:
        names = [row[0] for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        tables = {}
        for name in names:
            columns = [row[1] for row in connection.execute(f'PRAGMA table_info("{name}")')]
            tables[name] = (columns, connection.execute(f'SELECT * FROM "{name}"').fetchall())
    return tables


def run(database: Path, media: Path, *args: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "TESTING", "MEDIA_ROOT", "VAR_DIR"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=f"sqlite:///{database}", TESTING="1",
               MEDIA_ROOT=str(media), VAR_DIR=str(media.parent / "var"))
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


# What upgraded_database_checks.py finds, and what the waiting steps become when this release's services take them.
EXPECTED = {
    "flows": [
        "grid.event_flow.EventFlow", "inspection.patrol.report_flow.PatrolReportFlow",
        "inspection.rounds.mobile_inspection_flow.MobileInspectionFlow", "rectification.rectification_flow.RectificationFlow",
    ],
    "open_tasks": [
        "grid.event_flow.EventFlow.department_handle", *["grid.event_flow.EventFlow.handle"] * 3,
        "inspection.patrol.report_flow.PatrolReportFlow.verify",
        "inspection.rounds.mobile_inspection_flow.MobileInspectionFlow.decide",
        "rectification.rectification_flow.RectificationFlow.progress",
    ],
    "stale_content_types": [],
    "guardian": {"rows_resolve": True, "shared_item_visible_to_user": True, "region_granted_to_group": True},
    "attachments": ["grid.Event:1", "inspection.PatrolReport:1", "rectification.ProgressEntry:1"],
    # the event with a photo, waiting for the grid leader: handled (resolved), then verified and closed
    "event": {"before": "handle", "after_handle": "verify", "after_verify": None, "status": "closed", "attachments": 2},
    # the village's report, waiting for the lead department: verified true, registered, on to the follow-up
    "patrol_report": {"before": ["PatrolReportFlow.verify"], "after": ["PatrolReportFlow.follow_up"], "verdict": "true",
                      "registered": True},
    # the item in progress: claimed done, then accepted by the county office and closed
    "rectification_item": {"before": ["RectificationFlow.progress"], "after_claim": ["RectificationFlow.verify"],
                           "after_verify": [], "closed": True},
    # the mobile inspection proposal, waiting for the leading group: approved
    "mobile_proposal": {"before": ["MobileInspectionFlow.decide"], "after": [], "decision": "approved"},
}


def lost_rows(before, after) -> dict[str, list[tuple]]:
    """Rows of the previous release (on its columns) that are no longer there, the flow references moved."""
    lost = {}
    for name, (columns, rows) in before.items():
        if name not in after:
            lost[name] = ["the whole table"]
            continue
        after_columns, after_rows = after[name]
        still = [i for i, column in enumerate(columns) if (name, column) not in DROPPED]
        kept = [after_columns.index(columns[i]) for i in still]
        now = {tuple(row[i] for i in kept) for row in after_rows}
        renamed = {i for i, column in enumerate(columns) if (name, column) in REFERENCE_COLUMNS}
        withdrawn = withdrawn_rows(before) if name == "grid_role_permissions" else set()
        expected = [tuple(moved(row[i]) if i in renamed else row[i] for i in still) for row in rows
                    if row not in withdrawn]
        missing = [row for row in expected if row not in now]
        if missing:
            lost[name] = missing[:3]
    return lost


def open_steps_due(tables) -> dict[int, tuple]:
    """Each open event's (step_due_at, due_at of its EventFlow task's open deadline), read from the rows."""

    def rows(name):
        columns, values = tables[name]
        return [dict(zip(columns, row, strict=True)) for row in values]

    process_of = {row["id"]: row["artifact_object_id"] for row in rows("viewflow_process")
                  if row["flow_class"].endswith("EventFlow")}
    event_of_task = {row["id"]: process_of[row["process_id"]] for row in rows("viewflow_task")
                     if row["process_id"] in process_of}
    task_due = {event_of_task[row["task_id"]]: row["due_at"] for row in rows("workflows_taskdeadline")
                if row["is_open"] and row["task_id"] in event_of_task}
    return {row["id"]: (row["step_due_at"], task_due.get(row["id"])) for row in rows("grid_event")
            if row["status"] in ("reported", "handling", "dispatched", "verifying")}


def test_a_database_of_the_previous_release_upgrades_with_every_row_kept_and_its_work_in_flight_going_on(tmp_path):
    database, media = tmp_path / "previous_release.sqlite3", tmp_path / "media"
    with gzip.open(FIXTURE) as source, open(database, "wb") as target:
        shutil.copyfileobj(source, target)
    before = read_tables(database)
    assert sum(len(rows) for _, rows in before.values()) > 1000  # the fixture is the demo county and more

    migrate = run(database, media, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert "workflows.0006_flows_beside_their_domains" in migrate.stdout
    assert "workflows.0007_inspection_flows_in_their_subpackages" in migrate.stdout

    after = read_tables(database)
    problems = []
    lost = lost_rows(before, after)
    if lost:
        problems.append(f"rows of the previous release lost or changed: {lost}")
    counts = {name: (len(rows), len(after[name][1])) for name, (_, rows) in before.items()
              if name in after and name not in GROWING and len(after[name][1]) != len(rows)}
    if counts:
        problems.append(f"row counts changed (before, after): {counts}")
    steps_due = open_steps_due(after)
    if not steps_due or any(event_due != task_due for event_due, task_due in steps_due.values()):
        problems.append(f"open events whose step_due_at is not their open step's deadline: {steps_due}")
    references = [row[after[table][0].index(column)] for table, column in REFERENCE_COLUMNS for row in after[table][1]]
    old = sorted({ref for ref in references if ref.startswith("workflows/")})
    if old or not references:
        problems.append(f"flow references still naming the workflows/ modules: {old[:5]}")

    checks = run(database, media, "shell", "-c", f"import runpy; runpy.run_path({str(CHECKS)!r})")
    assert checks.returncode == 0, checks.stderr[-3000:]
    found = json.loads(checks.stdout.strip().splitlines()[-1])
    for name, expected in EXPECTED.items():
        result = found.get(name)
        if isinstance(result, dict) and "error" in result:
            problems.append(f"{name}: {result['error']}\n{result['trace']}")
        elif result != expected:
            problems.append(f"{name}: expected {expected}, found {result}")
    assert not problems, "\n\n".join(problems)
