"""The flow policy's switch for rectification items: by default the county office verifies (验收)
before 销号; with the switch off the committee's claim of 已整改 closes the item. An item keeps the
version in force when its flow started."""

from __future__ import annotations

import pytest
from django.urls import reverse

from governance.models import AuditEntry
from grid import services as grid_services
from rectification import services, states
from rectification.models import RectificationItem
from rectification.rectification_flow import current_step
from tests.conftest import photo
from tests.rectification import test_rectification
from tests.rectification.test_rectification import assign, committee_at

fed_back = test_rectification.fed_back  # the fixture of the rectification tests

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_in_tmp")]

Status = RectificationItem.Status


@pytest.fixture(autouse=True)
def _urls():
    import config.urls  # noqa: F401 — Node.reverse() needs the URLconf


def claim_suffices(county):
    return grid_services.create_flow_policy(by=None, region=county.county, rectification_office_verifies=False)


def post(client, item, action, data):
    return client.post(reverse("rectification:item_action", args=[item.pk, action]), data)


def test_switch_on_by_default_the_office_verifies_before_closing(fed_back, personas, county, client):
    grid_services.create_flow_policy(by=None, region=county.county)  # rectification_office_verifies defaults on
    item = fed_back.items.get(number=1)
    client.force_login(personas["township_committee"])
    assert "申请销号" in client.get(reverse("rectification:item_detail", args=[item.pk])).content.decode()
    assert post(client, item, "claim", {"text": "已完成", "files": [photo()]}).status_code == 302
    item.refresh_from_db()
    assert item.closed_at is None and current_step(item) == "verify" and states.is_awaiting(item)
    assert post(client, item, "verify", {"decision": "accept"}).status_code == 403  # the committee does not verify

    client.force_login(personas["county_office"])
    assert post(client, item, "verify", {"decision": "accept"}).status_code == 302
    item.refresh_from_db()
    assert item.closed_at is not None and item.status == Status.FULLY_DONE


def test_switch_off_the_committees_claim_closes_the_item(fed_back, personas, county, client):
    policy = claim_suffices(county)
    item = fed_back.items.get(number=1)
    client.force_login(committee_at(county.zhaocun, "zhaocun_committee"))  # another township's committee
    assert post(client, item, "claim", {"text": "已完成", "files": [photo()]}).status_code == 404

    client.force_login(personas["township_committee"])
    page = client.get(reverse("rectification:item_detail", args=[item.pk])).content.decode()
    assert "申报并销号" in page
    assert post(client, item, "claim", {"text": "已完成"}).status_code == 422  # evidence is still required
    item.refresh_from_db()
    assert item.closed_at is None
    assert post(client, item, "claim", {"text": "已完成", "files": [photo()]}).status_code == 302
    item.refresh_from_db()
    assert item.flow_policy == policy
    assert item.closed_at is not None and item.status == Status.DONE and current_step(item) is None
    assert states.keys_of(item) == ["done", "closed"]
    assert AuditEntry.objects.filter(action="rectification_item.claim_closed", object_id=str(item.pk)).exists()

    client.force_login(personas["county_office"])
    response = post(client, item, "verify", {"decision": "accept"})
    assert response.status_code == 422 and "销号" in response.content.decode()


def test_items_whose_flow_started_before_a_change_keep_their_version(fed_back, personas, county):
    committee = personas["township_committee"]
    started, fresh = fed_back.items.get(number=1), fed_back.items.get(number=2)
    assign(started, committee)  # its flow starts under the default: the office verifies
    claim_suffices(county)
    services.claim_done(started, by=committee, text="已整改。", files=[photo()])
    services.claim_done(fresh, by=committee, text="已整改。", files=[photo()])
    started.refresh_from_db()
    fresh.refresh_from_db()
    assert started.closed_at is None and current_step(started) == "verify"
    assert fresh.closed_at is not None and current_step(fresh) is None

    services.verify_item(started, by=personas["county_office"], accept=True)
    started.refresh_from_db()
    assert started.closed_at is not None
