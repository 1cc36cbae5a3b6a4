"""A kept query gives the rows the ORM gives for every value, compiles once per shape, and refuses
what it cannot keep exactly (loudly, at the first call)."""

import datetime
from unittest import mock

import pytest
from django.db.models import Exists, OuterRef
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from governance import kept_sql
from governance.kept_sql import KeptQuery
from grid import events
from grid.models import Event, EventCategory, Region


@pytest.fixture
def reported(county, personas):
    parent = EventCategory.objects.create(code="T", name="测试大类")
    category = EventCategory.objects.create(code="T01", name="乱堆乱放", parent=parent)

    def report(key):
        event, _ = events.report_event(
            by=personas["grid_member"], region=county.grid1, category=category, title=f"上报{key}",
            description="村口棚舍", occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=key)
        return event
    reported = [report("a"), report("b"), report("c")]
    Event.objects.filter(pk=reported[2].pk).update(region=county.grid2)
    reported[2].refresh_from_db()
    return reported


def with_duplicates(pk):
    return Event.objects.filter(pk=pk).annotate(has_duplicates=Exists(Event.objects.filter(duplicate_of=OuterRef("pk"))))


def compiles_during(call) -> tuple[int, object]:
    real = SQLCompiler.as_sql
    with mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=real) as as_sql:
        result = call()
    return as_sql.call_count, result


def test_rows_and_annotations_match_the_orm_for_each_value(reported):
    first, second, third = reported
    Event.objects.filter(pk=third.pk).update(duplicate_of=second)
    kept = KeptQuery(with_duplicates)
    for event in reported:
        row, = kept(event.pk)
        orm = with_duplicates(event.pk).get()
        assert (row.pk, row.title, row.region_id, row.status, row.created_at) == (
            orm.pk, orm.title, orm.region_id, orm.status, orm.created_at)
        assert bool(row.has_duplicates) is orm.has_duplicates
    assert bool(kept(second.pk)[0].has_duplicates) and not kept(first.pk)[0].has_duplicates
    assert list(kept(10**12)) == []


def test_sql_is_compiled_once_per_shape_then_only_bound(reported):
    kept = KeptQuery(lambda ids, region: Event.objects.filter(pk__in=ids, region_id=region).order_by("pk"))
    first, second, third = reported
    compiled, rows = compiles_during(lambda: list(kept([first.pk, second.pk], first.region_id)))
    assert compiled == 2 and [row.pk for row in rows] == [first.pk, second.pk]  # two markers, once each
    compiled, rows = compiles_during(lambda: list(kept([third.pk, first.pk], third.region_id)))
    assert compiled == 0 and [row.pk for row in rows] == [third.pk]
    compiled, rows = compiles_during(lambda: list(kept([third.pk], third.region_id)))
    assert compiled == 2 and [row.pk for row in rows] == [third.pk]  # a list of another length: a new shape


def test_only_the_most_recent_shapes_are_kept(reported, monkeypatch):
    monkeypatch.setattr(kept_sql, "MAX_SHAPES", 2)
    kept = KeptQuery(lambda ids: Event.objects.filter(pk__in=ids))
    ids = [event.pk for event in reported]
    for length in (1, 2, 3):
        assert len(list(kept(ids[:length]))) == length
    assert len(kept._kept) == 2
    compiled, rows = compiles_during(lambda: list(kept(ids[:3])))
    assert compiled == 0 and len(rows) == 3


def test_text_values_are_bound_where_the_orm_put_them(county):
    kept = KeptQuery(lambda name, other: Region.objects.filter(name=name).exclude(name=other))
    assert [region.pk for region in kept(county.grid1.name, county.grid2.name)] == [county.grid1.pk]
    assert list(kept(county.grid1.name, county.grid1.name)) == []
    assert list(kept("第1网格'); DELETE FROM grid_region; --", "x")) == []
    assert Region.objects.filter(pk=county.grid1.pk).exists()


@pytest.mark.parametrize("build, values", [
    (lambda pk: Event.objects.filter(pk=pk).select_related("region"), (1,)),
    (lambda pk: Event.objects.filter(pk=pk).values("pk"), (1,)),
    (lambda title: Event.objects.filter(title__contains=title), ("棚舍",)),  # the lookup rewrites the value
    (lambda pk: Event.objects.filter(pk=pk), (True,)),
    (lambda pk: Event.objects.filter(pk=pk), (None,)),
    (lambda ids: Event.objects.filter(pk__in=ids), ([],)),
    (lambda ids: Event.objects.filter(pk__in=ids), ([1, "2"],)),
    (lambda day: Event.objects.filter(created_at__date=day), (datetime.date(2026, 1, 1),)),
    (lambda pk: Event.objects.filter(pk=pk if pk < 2_050_000_000 else 0), (1,)),  # compiled by value
    (lambda pk: Event.objects.filter(pk=1), (1,)),  # the value never reaches the SQL
])
def test_what_cannot_be_kept_exactly_is_refused(db, build, values):
    with pytest.raises(TypeError):
        list(KeptQuery(build)(*values))


def test_integers_beyond_64_bits_are_the_callers_to_answer(db):
    with pytest.raises(ValueError):
        KeptQuery(lambda pk: Event.objects.filter(pk=pk))(2**63)


def test_on_postgresql_the_kept_sql_is_prepared_once_per_connection(reported):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("预备语句只在 PostgreSQL 上使用")
    kept = KeptQuery(lambda title: Event.objects.filter(title=title).order_by("pk"))
    awkward = "上报a' OR '1'='1 $1 %s"
    for event in reported:
        assert [row.pk for row in kept(event.title)] == [event.pk]
    assert list(kept(awkward)) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        prepared = [row[0] for row in cursor.fetchall() if '"grid_event"."title" = $1' in row[0]]
    assert len(prepared) == 1, prepared
