"""Bounding boxes of boundaries: stored when a boundary is saved, filled by the migration for boundaries
saved before, and used by the lookup (a region whose stored box misses the point is not a candidate)."""

import importlib

import pytest
from django.apps import apps

from grid import boundaries
from grid.models import EventCategory, Region

pytestmark = pytest.mark.django_db

migration = importlib.import_module("grid.migrations.0010_boundary_boxes_public_categories_attributes")
SQUARE = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.02, 30.0], [120.02, 30.01], [120.0, 30.01],
                                              [120.0, 30.0]]]}


def test_saving_a_boundary_stores_its_box_and_clearing_removes_it(county):
    boundaries.set_boundary(county.grid1, SQUARE, by=None)
    grid = Region.objects.get(pk=county.grid1.pk)
    assert (grid.boundary_west, grid.boundary_east, grid.boundary_south, grid.boundary_north) == (120.0, 120.02, 30.0, 30.01)
    assert boundaries.region_at(county.county, 120.01, 30.005) == grid
    boundaries.set_boundary(county.grid1, None, by=None)
    grid.refresh_from_db()
    assert grid.boundary is None and grid.boundary_west is None
    assert boundaries.region_at(county.county, 120.01, 30.005) is None


def test_an_invalid_boundary_is_refused_when_saved_and_nothing_is_written(county):
    with pytest.raises(boundaries.BoundaryError, match="首尾坐标须相同"):
        boundaries.set_boundary(county.grid1, {"type": "Polygon", "coordinates": [[[120, 30], [121, 30], [121, 31], [120, 31]]]},
                                by=None)
    assert Region.objects.get(pk=county.grid1.pk).boundary is None


def test_migration_fills_the_boxes_of_boundaries_saved_before_it(county):
    # A boundary written before the boxes existed: the JSON only.
    Region.objects.filter(pk=county.grid1.pk).update(boundary=SQUARE)
    assert boundaries.region_at(county.county, 120.01, 30.005) is None  # no box yet: not a candidate
    migration.fill(apps, None)
    grid = Region.objects.get(pk=county.grid1.pk)
    assert (grid.boundary_west, grid.boundary_north) == (120.0, 30.01)
    assert boundaries.region_at(county.county, 120.01, 30.005) == grid


def test_migration_marks_the_default_public_categories_and_keeps_sensitive_ones_private(db):
    public = set(EventCategory.objects.filter(is_public=True).values_list("code", flat=True))
    assert {"WS01", "HB03", "WJ01", "AQ03"} <= public
    assert not public & {"AW", "AW01", "AW02", "AW03", "AW04", "RK01", "RK02", "MS01", "WS03"}
    assert not EventCategory.objects.get(code="AW01").is_public_service
