"""Property tests (hypothesis): an import file either imports completely or changes nothing, whatever
its rows or bytes; patrol scores stay within 0–100 whatever the reports and findings.

Each example runs in a savepoint that is rolled back, so examples start from the same database.
"""

from __future__ import annotations

import csv
import datetime
import uuid
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.models import AuditEntry
from governance.tabular import ImportFailed
from grid import services
from grid.models import Department, Region

pytestmark = pytest.mark.django_db

# Derandomised (the same examples in every run, no example database written into the tree) and bounded.
BOUNDED = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PURE = settings(max_examples=300, deadline=None, derandomize=True, database=None)


class Rollback(Exception):
    pass


def in_rolled_back_savepoint(check):
    """Run `check` in a savepoint and undo whatever it wrote."""
    try:
        with transaction.atomic():
            check()
            raise Rollback
    except Rollback:
        pass


def write_csv(directory, rows) -> str:
    path = directory / f"{uuid.uuid4().hex}.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def write_xlsx(directory, rows) -> str:
    import openpyxl

    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    path = directory / f"{uuid.uuid4().hex}.xlsx"
    workbook.save(path)
    return path


def region_snapshot():
    return (sorted(Region.objects.values_list("path", "full_path", "name", "tier_id", "code", "households")),
            sorted(Department.objects.values_list("name", "region_id")), AuditEntry.objects.count())


# ---------------------------------------------------------------- import_regions

_names = st.sampled_from(["新村", "东村", "西社区", "楼星村", "第9网格", "名" * 70, "", " ", "甲/乙"])
_parents = st.sampled_from(["某县/太平镇", "某县/赵村镇", "太平镇", "某县/太平镇/楼星村", "某县/无此镇", "", "某县"])
_tiers = st.sampled_from(["村(社区)", "village", "网格", "grid", "乡镇", "街道", "", "microgrid"])
_codes = st.sampled_from(["", "C-NEW", "C-TP", "X" * 80, "编码"])
_households = st.sampled_from(["", "0", "120", "450", "-5", "abc", "1.5", "99999999999", "1e3"])
region_rows = st.lists(st.tuples(_parents, _names, _tiers, _codes, _households), min_size=1, max_size=8)


def test_a_region_file_imports_completely_or_changes_nothing(county, tmp_path):
    outcomes = set()
    _region_examples(county, tmp_path, outcomes)
    assert outcomes == {"imported", "refused"}  # the examples met both ends


@BOUNDED
@given(rows=region_rows, as_xlsx=st.booleans())
def _region_examples(county, tmp_path, outcomes, rows, as_xlsx):
    from grid.imports import import_regions

    table = [["路径", "层级", "编码", "户数"]] + [
        [f"{parent}/{name}" if parent else name, tier, code, households] for parent, name, tier, code, households in rows]

    def check():
        before = region_snapshot()
        path = (write_xlsx if as_xlsx else write_csv)(tmp_path, table)
        try:
            import_regions(path)
        except ImportFailed as exc:
            assert region_snapshot() == before
            assert str(exc)
            outcomes.add("refused")
            return
        outcomes.add("imported")
        for full_path, _tier, _code, households in table[1:]:
            found = Region.objects.filter(full_path=full_path.strip()).first() or Region.objects.filter(
                full_path=f"某县/{full_path.strip()}").first()
            assert found is not None, full_path
            if households.strip():
                assert found.households == int(households)

    in_rolled_back_savepoint(check)


@BOUNDED
@given(data=st.binary(max_size=600), suffix=st.sampled_from([".csv", ".xlsx"]))
def test_any_bytes_are_refused_cleanly_or_imported_whole(county, tmp_path, data, suffix):
    from grid.imports import import_departments, import_regions

    path = tmp_path / f"{uuid.uuid4().hex}{suffix}"
    path.write_bytes(data)

    def check():
        before = region_snapshot()
        for importer in (import_regions, import_departments):
            try:
                importer(path)
            except ImportFailed:
                assert region_snapshot() == before

    in_rolled_back_savepoint(check)


@BOUNDED
@given(text=st.text(alphabet=st.sampled_from(list("路径层级编码户数,\"\n\r\t某县/太平镇村网格0123 -\x00")), max_size=200))
def test_any_csv_text_is_refused_cleanly_or_imported_whole(county, tmp_path, text):
    from grid.imports import import_regions

    path = tmp_path / f"{uuid.uuid4().hex}.csv"
    path.write_text(text, encoding="utf-8")

    def check():
        before = region_snapshot()
        try:
            import_regions(path)
        except ImportFailed:
            assert region_snapshot() == before

    in_rolled_back_savepoint(check)


# ---------------------------------------------------------------- import_patrol_catalog

def catalog_snapshot():
    from inspection.models import CatalogItem, PatrolCategory

    return (sorted(CatalogItem.objects.values_list("code", "name", "category_id", "lead_department_id", "points")),
            PatrolCategory.objects.count(), AuditEntry.objects.count())


catalog_rows = st.lists(st.tuples(
    st.sampled_from(["TP-01", "TP-02", "TP-03", "", "X" * 40]),
    st.sampled_from(["未经审批新建住宅", "露天焚烧秸秆", "", "事" * 250]),
    st.sampled_from(["农村非法占用宅基地", "违法用地", ""]),
    st.sampled_from(["农业农村办", "自然资源所", "无此部门", ""]),
    st.sampled_from(["3", "2.5", "0", "-1", "abc", "1.234", "9999.99", "100000", ""]),
), min_size=1, max_size=6)


def test_a_catalog_file_imports_completely_or_changes_nothing(county, tmp_path):
    services.create_department(name="自然资源所", region=county.taiping)
    outcomes = set()
    _catalog_examples(county, tmp_path, outcomes)
    assert outcomes == {"imported", "refused"}


@BOUNDED
@given(rows=catalog_rows)
def _catalog_examples(county, tmp_path, outcomes, rows):
    from inspection.models import CatalogItem
    from inspection.patrol.imports import import_patrol_catalog

    table = [["编号", "事项", "类别", "牵头部门", "分值", "佐证要求"]] + [[*row, ""] for row in rows]

    def check():
        before = catalog_snapshot()
        try:
            import_patrol_catalog(write_csv(tmp_path, table), township=county.taiping)
        except ImportFailed as exc:
            assert catalog_snapshot() == before and exc.errors
            outcomes.add("refused")
            return
        outcomes.add("imported")
        for code, _name, _category, department, points in {row[0]: row for row in rows}.values():
            item = CatalogItem.objects.get(township=county.taiping, code=code)
            assert item.lead_department.name == department and item.points == Decimal(points)

    in_rolled_back_savepoint(check)


# ---------------------------------------------------------------- import_rectification

rectification_rows = st.lists(st.tuples(
    st.sampled_from(["1", "2", "3", "x", ""]),
    st.sampled_from(["问题甲", "问题乙", ""]),
    st.sampled_from(["已整改", "正在整改中", "长期坚持", "未整改", "完成了", ""]),
    st.sampled_from(["2030-12-31", "2030年12月底前", "长期坚持", "2001-01-01", "明年", "2030/2/30", ""]),
), min_size=1, max_size=5)


def test_a_rectification_file_imports_completely_or_changes_nothing(county, personas, tmp_path):
    outcomes = set()
    _rectification_examples(county, personas, tmp_path, outcomes)
    assert outcomes == {"imported", "refused"}


@BOUNDED
@given(rows=rectification_rows)
def _rectification_examples(county, personas, tmp_path, outcomes, rows):
    from inspection.models import InspectionRound
    from rectification.imports import import_rectification
    from rectification.models import RectificationItem, RectificationPlan

    header = ["序号", "类别", "子类", "问题", "整改情况", "状态", "责任领导", "责任单位", "整改时限", "未完成原因", "下一步措施"]
    table = [header] + [[number, "聚焦群众身边腐败问题和不正之风", "三资管理", problem, "已开展整改", status, "张某",
                         "党政办", deadline, "", ""] for number, problem, status, deadline in rows]

    def snapshot():
        return (InspectionRound.objects.count(), RectificationPlan.objects.count(),
                sorted(RectificationItem.objects.values_list("number", "title", "status", "deadline")),
                AuditEntry.objects.count())

    def check():
        before = snapshot()
        try:
            import_rectification(write_csv(tmp_path, table), organisation="太平镇", round="十五届县委第二轮巡察",
                                 group="县委第一巡察组", inspected="2024-04-08:2024-05-20", feedback_date="2024-06-25",
                                 by=personas["county_office"])
        except ImportFailed:
            assert snapshot() == before
            outcomes.add("refused")
            return
        outcomes.add("imported")
        plan = RectificationPlan.objects.get(organisation=county.taiping)
        assert plan.items.count() == len({number for number, *_ in rows})

    in_rolled_back_savepoint(check)


# ---------------------------------------------------------------- scoring

points = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999.99"), places=2)


@PURE
@given(additions=st.lists(points, max_size=8), deductions=st.lists(points, max_size=8), veto=st.booleans())
def test_a_month_score_stays_within_0_and_100(additions, deductions, veto):
    from inspection.patrol.scoring import VillageMonth

    month = VillageMonth(village=None, month=datetime.date(2026, 1, 1), additions=sum(additions, Decimal(0)),
                         deductions=sum(deductions, Decimal(0)), veto=veto)
    assert Decimal(0) <= month.score <= Decimal(100)
    if veto:
        assert month.score == 0


@PURE
@given(scores=st.lists(st.decimals(min_value=0, max_value=100, places=2), min_size=1, max_size=3))
def test_a_quarter_average_stays_within_0_and_100_and_agrees_with_its_grade(scores):
    from inspection.patrol.scoring import VillageQuarter, grade_for_total

    quarter = VillageQuarter(village=None, months=scores)
    assert Decimal(0) <= quarter.average <= Decimal(100)
    assert grade_for_total(quarter.average * len(scores), len(scores)) == quarter.grade


SOURCES = ["township_group", "township_department", "district", "city", "province", "hotline_12345",
           "township_petition", "district_petition", "city_petition", "province_petition", "central"]


@BOUNDED
@given(
    reports=st.lists(st.tuples(points, st.sampled_from(["true", "false", "pending"]), st.integers(1, 28),
                               st.booleans()), max_size=6),
    findings=st.lists(st.tuples(points, st.sampled_from(SOURCES), st.integers(1, 28), st.booleans(),
                                st.sampled_from([True, False, None]), st.booleans()), max_size=6),
)
def test_stored_reports_and_findings_give_scores_within_0_and_100(county, personas, reports, findings):
    from inspection.models import CatalogItem, PatrolCategory, PatrolFinding, PatrolReport
    from inspection.patrol.scoring import month_scores

    month = datetime.date(2026, 1, 1)

    def check():
        category = PatrolCategory.objects.create(township=county.taiping, name="违法用地",
                                                  lead_department=county.agriculture)
        item = CatalogItem.objects.create(township=county.taiping, code="TP-01", name="违法用地", category=category,
                                          lead_department=county.agriculture, points=Decimal("3"))
        stored = []
        for index, (value, verdict, day, fraud) in enumerate(reports):
            stored.append(PatrolReport.objects.create(
                township=county.taiping, village=county.louxing, number=f"R{index}", item=item, location="x",
                description="x", occurred_at=datetime.datetime(2026, 1, day, tzinfo=datetime.UTC),
                reported_on=month.replace(day=day), verdict=verdict, is_fraud=fraud,
                verified_on=month.replace(day=day) if verdict != "pending" else None, points=value))
        vetoed = False
        for index, (value, source, day, fraud, is_true, matched) in enumerate(findings):
            finding = PatrolFinding.objects.create(
                township=county.taiping, village=county.louxing, number=f"F{index}", item=item, source=source,
                discovered_on=month.replace(day=day), is_true=is_true, is_fraud=fraud, points=value,
                matched_report=stored[index % len(stored)] if matched and stored else None)
            from inspection.patrol.scoring import excused_by_report

            if source == "central" and is_true and not fraud and not excused_by_report(finding):
                vetoed = True
        [louxing] = [s for s in month_scores(county.taiping, month) if s.village == county.louxing]
        assert Decimal(0) <= louxing.score <= Decimal(100)
        assert louxing.veto == vetoed
        if vetoed:
            assert louxing.score == 0

    in_rolled_back_savepoint(check)
