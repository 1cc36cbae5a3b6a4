"""A database made by the previous release migrates forward with every row kept, and the work in flight
in it goes on with this release's code.

The database is tests/fixtures/previous_release.sqlite3.gz: made with the previous release's code
(commit b385899, settings `governance.settings`, the flows in workflows/) by `migrate`, `load_demo` and
tests/fixtures/make_previous_release.py (which tells how). It holds the demo county, processes in flight
of all four flows (three events, one with a photo; a village's patrol report; a rectification item; a
mobile inspection proposal), evidence attachments on three kinds of records, and guardian rows (a
rectification item shared with one user, a region granted to a group). The attachments' files are not
kept with it: the checks are about the rows.

A copy is migrated by `manage.py migrate` in a subprocess with this release's settings, then
tests/workflows/upgraded_database_checks.py reads and works it in another. Both use that SQLite file
whatever the run's own database is, so the test runs (and means the same) in the PostgreSQL pass too;
it uses no test database of its own.
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
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "previous_release.sqlite3.gz"
CHECKS = Path(__file__).with_name("upgraded_database_checks.py")

# The one change the migrations make to earlier rows: the flow references (workflows 0006).
MOVED = {
    "workflows/event_flow.EventFlow": "grid/event_flow.EventFlow",
    "workflows/patrol_report_flow.PatrolReportFlow": "inspection/patrol_report_flow.PatrolReportFlow",
    "workflows/mobile_inspection_flow.MobileInspectionFlow": "inspection/mobile_inspection_flow.MobileInspectionFlow",
    "workflows/rectification_flow.RectificationFlow": "rectification/rectification_flow.RectificationFlow",
}
REFERENCE_COLUMNS = {("viewflow_process", "flow_class"), ("viewflow_task", "flow_task")}
# Tables this release's migrations add rows to: the migrations themselves, the new models' content types
# and permissions, and the new permissions given to the roles. Every other table keeps its row count.
GROWING = {"django_migrations", "django_content_type", "auth_permission", "grid_role_permissions"}


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


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("upgrade")
    database, media = folder / "previous_release.sqlite3", folder / "media"
    with gzip.open(FIXTURE) as source, open(database, "wb") as target:
        shutil.copyfileobj(source, target)
    before = read_tables(database)
    migrate = run(database, media, "migrate", "--noinput")
    after = read_tables(database)
    checks = run(database, media, "shell", "-c", f"import runpy; runpy.run_path({str(CHECKS)!r})")
    assert checks.returncode == 0, checks.stderr[-3000:]
    found = json.loads(checks.stdout.strip().splitlines()[-1])
    return SimpleNamespace(before=before, migrate=migrate, after=after, found=found)


def passed(found: dict, name: str):
    """One check's result, or the check's error as the failure message."""
    result = found[name]
    assert not (isinstance(result, dict) and "error" in result), f"{name}: {result.get('error')}\n{result.get('trace')}"
    return result


def test_the_previous_release_database_migrates_forward(upgraded):
    assert upgraded.migrate.returncode == 0, upgraded.migrate.stderr[-3000:]
    assert "workflows.0006_flows_beside_their_domains" in upgraded.migrate.stdout


def test_every_row_of_the_previous_release_is_kept(upgraded):
    lost, counts = {}, {}
    for name, (columns, rows) in upgraded.before.items():
        assert name in upgraded.after, f"table {name} is gone"
        after_columns, after_rows = upgraded.after[name]
        kept = [after_columns.index(column) for column in columns]
        now = {tuple(row[i] for i in kept) for row in after_rows}
        renamed = [i for i, column in enumerate(columns) if (name, column) in REFERENCE_COLUMNS]
        expected = [tuple(moved(value) if i in renamed else value for i, value in enumerate(row)) for row in rows]
        missing = [row for row in expected if row not in now]
        if missing:
            lost[name] = missing[:3]
        if name not in GROWING and len(after_rows) != len(rows):
            counts[name] = (len(rows), len(after_rows))
    assert not lost, f"rows of the previous release lost or changed: {lost}"
    assert not counts, f"row counts changed (before, after): {counts}"
    assert sum(len(rows) for _, rows in upgraded.before.values()) > 1000  # the fixture is not empty


def test_no_flow_reference_names_the_old_workflows_modules(upgraded):
    references = [row[upgraded.after[table][0].index(column)]
                  for table, column in REFERENCE_COLUMNS for row in upgraded.after[table][1]]
    assert references and not [ref for ref in references if ref.startswith("workflows/")]
    assert passed(upgraded.found, "flows") == [
        "grid.event_flow.EventFlow", "inspection.mobile_inspection_flow.MobileInspectionFlow",
        "inspection.patrol_report_flow.PatrolReportFlow", "rectification.rectification_flow.RectificationFlow",
    ]
    assert len(passed(upgraded.found, "open_tasks")) == 7  # every waiting step still names a node of its flow


def test_guardian_rows_still_grant_what_they_granted(upgraded):
    assert passed(upgraded.found, "stale_content_types") == []
    assert passed(upgraded.found, "guardian") == {
        "rows_resolve": True, "shared_item_visible_to_user": True, "region_granted_to_group": True,
    }


def test_attachments_stay_with_their_records(upgraded):
    assert passed(upgraded.found, "attachments") == [
        "grid.Event:1", "inspection.PatrolReport:1", "rectification.ProgressEntry:1",
    ]


def test_an_event_waiting_for_the_grid_leader_is_handled_and_closed(upgraded):
    assert passed(upgraded.found, "event") == {
        "before": "handle", "after_handle": "verify", "after_verify": None, "status": "closed", "attachments": 2,
    }


def test_a_patrol_report_waiting_for_verification_is_verified(upgraded):
    assert passed(upgraded.found, "patrol_report") == {
        "before": ["PatrolReportFlow.verify"], "after": ["PatrolReportFlow.follow_up"], "verdict": "true",
        "registered": True,
    }


def test_a_rectification_item_in_progress_is_claimed_and_closed(upgraded):
    assert passed(upgraded.found, "rectification_item") == {
        "before": ["RectificationFlow.progress"], "after_claim": ["RectificationFlow.verify"], "after_verify": [],
        "closed": True,
    }


def test_a_mobile_inspection_proposal_waiting_for_the_leading_group_is_decided(upgraded):
    assert passed(upgraded.found, "mobile_proposal") == {
        "before": ["MobileInspectionFlow.decide"], "after": [], "decision": "approved",
    }
