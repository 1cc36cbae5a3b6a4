"""Schemathesis against /api/schema/: every operation, generated requests, no server error, and responses
that match the schema (so that a field app written against the schema alone can read them).

Bounded: 12 derandomised examples per operation (half of them aimed at records that exist), no shrinking,
one device token of a 太平镇 user who reaches every endpoint, run in-process through the WSGI application
(no server). About 35 s on two cores, after the test database is set up.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from api import credentials

MAX_EXAMPLES = 12


@pytest.fixture(autouse=True)
def _keep_the_test_connection_open():
    """Schemathesis calls the WSGI application directly, which sends request_started/finished; their
    close_old_connections would close the test's database connection mid-transaction on PostgreSQL
    (Django's own test client disconnects it in the same way)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db, settings, county, people, event, category, patrol_report, published_notice):
    settings.ALLOWED_HOSTS = ["*"]  # schemathesis' WSGI client sends Host: localhost
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture
def token(county, people):
    """A demo-like user of 太平镇 with the posts that reach every endpoint: grid leader of 第1网格, township
    office and township committee (patrol reports, scores, rectification)."""
    from grid import services
    from grid.models import Role

    user, _ = services.ensure_user("fuzzer", password="Test@2026pw")
    for role, region in (("grid_leader", county.grid1), ("township_office", county.taiping),
                         ("township_committee", county.taiping)):
        services.create_post(user=user, role=Role.objects.get(key=role), region=region)
    _, key = credentials.create_device_token(by=user, name="fuzz")
    return key


@pytest.fixture
def real_ids(county, event, patrol_report, published_notice):
    """Path ids of records the token's user may see, so that generated requests also reach detail views."""
    from governance.evidence import attachments_of

    item = published_notice.plan.items.first()
    return {
        "/api/v1/events/": (event.pk, attachments_of(event).first().pk),
        "/api/v1/patrol/reports/": (patrol_report.pk, attachments_of(patrol_report).first().pk),
        "/api/v1/rectification/plans/": (published_notice.plan_id, None),
        "/api/v1/rectification/items/": (item.pk, None),
        "/api/v1/regions/": (county.grid1.pk, None),
        "/api/v1/notices/": (published_notice.pk, None),
    }


def test_api_answers_every_generated_request_without_server_error(api_schema, token, real_ids):
    """One Hypothesis run per operation (schemathesis' lazy pytest integration does not run under pytest 9)."""
    headers = {"Authorization": f"Token {token}"}
    checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == 26
    answered: dict[str, set[int]] = {}

    def with_real_ids(case):
        for prefix, (pk, attachment_pk) in real_ids.items():
            if case.operation.path.startswith(prefix + "{id}"):
                case.path_parameters["id"] = pk
                if "attachment_pk" in case.path_parameters and attachment_pk:
                    case.path_parameters["attachment_pk"] = attachment_pk
        return case

    for operation in operations:
        strategy = operation.as_strategy()

        @given(case=st.one_of(strategy, strategy.map(with_real_ids)))
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES, derandomize=True, deadline=None, phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck), database=None,
        )
        def run(case):
            # Throttling stays on, but the counters start afresh per operation: a 429 is an answer, not an
            # error, yet a run of 429s would test nothing behind them.
            cache.clear()
            response = case.call_and_validate(headers=headers, checks=checks)
            answered.setdefault(case.operation.label, set()).add(response.status_code)

        run()
    assert len(answered) == 26
    # The generated requests reached the views, not only the authentication in front of them.
    assert sum(1 for codes in answered.values() if codes & {200, 201}) >= 10, answered
