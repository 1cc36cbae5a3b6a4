"""Shared fixtures: a small county with one persona per role, and one user with no access.

某县
├── 太平镇 (township) ── 农业农村办 (department)
│   ├── 楼星村 (village)
│   │   ├── 第1网格 (grid) ── 第1微网格 (microgrid)
│   │   └── 第2网格 (grid)
│   └── 大楼村 (village)
└── 赵村镇 (township)
    └── 河南村 (village)
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from grid import services
from grid.models import EventCategory, Region, Role, Tier


@dataclass
class County:
    county: Region
    taiping: Region
    louxing: Region
    grid1: Region
    micro1: Region
    grid2: Region
    dalou: Region
    zhaocun: Region
    henan: Region
    agriculture: object  # Department 太平镇农业农村办

    def tier(self, key: str) -> Tier:
        return Tier.objects.get(key=key)


def build_county() -> County:
    tier = {t.key: t for t in Tier.objects.all()}
    county = services.create_region(parent=None, name="某县", tier=tier["county"], code="C")
    taiping = services.create_region(parent=county, name="太平镇", tier=tier["township"], code="C-TP")
    louxing = services.create_region(parent=taiping, name="楼星村", tier=tier["village"], code="C-TP-LX")
    grid1 = services.create_region(parent=louxing, name="第1网格", tier=tier["grid"], households=420)
    micro1 = services.create_region(parent=grid1, name="第1微网格", tier=tier["microgrid"], households=140)
    grid2 = services.create_region(parent=louxing, name="第2网格", tier=tier["grid"], households=380)
    dalou = services.create_region(parent=taiping, name="大楼村", tier=tier["village"])
    zhaocun = services.create_region(parent=county, name="赵村镇", tier=tier["township"])
    henan = services.create_region(parent=zhaocun, name="河南村", tier=tier["village"])
    agriculture = services.create_department(name="农业农村办", region=taiping)
    return County(county, taiping, louxing, grid1, micro1, grid2, dalou, zhaocun, henan, agriculture)


@pytest.fixture
def county(db) -> County:
    return build_county()


# Where each persona holds its post in the small county (attribute of County).
PERSONA_REGIONS = {
    "grid_member": "grid1",
    "grid_leader": "grid1",
    "grid_instructor": "louxing",
    "village_cadre": "louxing",
    "township_office": "taiping",
    "department": "taiping",
    "supervision_group": "taiping",
    "township_committee": "taiping",
    "county_office": "county",
    "inspection_group": "zhaocun",
    "leading_group": "county",
    "discipline": "taiping",
}


@pytest.fixture
def personas(county) -> dict:
    """One user per role key (username = role key), posted as PERSONA_REGIONS says, plus 'outsider'."""
    users = {}
    for role_key, attr in PERSONA_REGIONS.items():
        user, _ = services.ensure_user(role_key, password="Test@2026pw")
        department = county.agriculture if role_key == "department" else None
        services.create_post(user=user, role=Role.objects.get(key=role_key), region=getattr(county, attr), department=department)
        users[role_key] = user
    users["outsider"], _ = services.ensure_user("outsider", password="Test@2026pw")
    return users


@pytest.fixture
def category(db):
    """An event category (测试大类 › 乱搭乱建) for reports."""
    parent = EventCategory.objects.create(code="T", name="测试大类")
    return EventCategory.objects.create(code="T01", name="乱搭乱建", parent=parent)


@pytest.fixture(autouse=True)
def _fresh_sla_rules():
    """The SLA rules, flow policies, event categories and group robots are cached per process; a test's rolled-back
    rows must not reach the next test."""
    from grid.category_catalogue import catalogue_cache
    from grid.flow_policy import policy_cache
    from grid.message_channels import robot_cache
    from workflows.sla import rule_cache

    for cache in (rule_cache, policy_cache, catalogue_cache, robot_cache):
        cache.clear()
    yield
    for cache in (rule_cache, policy_cache, catalogue_cache, robot_cache):
        cache.clear()


@pytest.fixture(autouse=True)
def _fresh_access_cache():
    """Each user's access is cached (grid.access_cache); a test's rolled-back posts must not reach the next."""
    from governance import notifications
    from grid import access_cache

    access_cache._move_version()
    notifications._unread_generation[0] += 1
    yield


@pytest.fixture(autouse=True)
def _tasks_run_in_process_unless_the_test_needs_the_worker(request, monkeypatch):
    """Outside the tests marked celery_worker, tasks queued by the code under test run in-process
    (as in the embedded run), also when REDIS_URL is set: a worker cannot see what a test has not
    committed, and its results would land after the test looked. (Through monkeypatch, so that a
    test's own monkeypatching of the Celery config is undone in the right order.)"""
    if request.node.get_closest_marker("celery_worker"):
        return
    from governance.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.fixture(autouse=True)
def _outbox_publishes_inline_unless_the_test_needs_the_worker(request, settings):
    """Outside the tests marked celery_worker, a committed outbox row is published in the committing
    thread: the relay thread has its own connection, which does not see what a test has not committed."""
    if not request.node.get_closest_marker("celery_worker"):
        settings.TASK_OUTBOX_RELAY = "inline"
        yield
        return
    yield
    from governance import outbox

    outbox.wait_for_relay(release_connection=True)  # its connection must not outlive the test database


def photo_bytes(*, size=(64, 48), colour="green", image_format="JPEG") -> bytes:
    """A small, valid picture (no EXIF): the same bytes every call."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, image_format)
    return buffer.getvalue()


def photo(name: str = "p.jpg", *, size=(64, 48), colour="green", image_format="JPEG") -> SimpleUploadedFile:
    """A small picture as a browser uploads it (a JPEG unless `image_format` says otherwise)."""
    return SimpleUploadedFile(name, photo_bytes(size=size, colour=colour, image_format=image_format),
                              content_type=f"image/{image_format.lower()}")


@pytest.fixture
def media_in_tmp(settings, tmp_path):
    """Uploaded and generated files of the test go to its own folder, not var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


def pytest_collection_modifyitems(config, items):
    """Two collection rules.

    Tests marked celery_worker need Redis and a worker (.ci/run provides both); skip them otherwise.

    A transaction=True test flushes the database afterwards, which also deletes what data
    migrations loaded (tiers, roles, SLA rules, categories) for every later test in that worker.
    serialized_rollback=True restores it; require it so that no test can break the ones after it.
    """
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker and marker.kwargs.get("transaction") and not marker.kwargs.get("serialized_rollback"):
            raise pytest.UsageError(f"{item.nodeid}: django_db(transaction=True) needs serialized_rollback=True")
    if os.environ.get("REDIS_URL"):
        return
    skip = pytest.mark.skip(reason="需要 REDIS_URL 与运行中的 Celery worker（由 .ci/run 提供）")
    for item in items:
        if "celery_worker" in item.keywords:
            item.add_marker(skip)
