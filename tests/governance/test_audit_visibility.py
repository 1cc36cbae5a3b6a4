"""The audit log asks each record's own visibility rule (governance.visibility), not only the region."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from governance import visibility
from inspection.models import InspectionFinding
from inspection.rounds import onsite
from tests.inspection.test_onsite import build_round, clue, finding


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def r(county, personas):
    return build_round(county, personas)


def page(client: Client, name: str, *args, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_inspected_township_never_reads_a_working_papers_audit_entry(r, county):
    """Before feedback the problem is the group's; after it the township reads the problem on its
    findings page, but not the entry, which holds who is involved, the suggested handling and the
    recorder (internal to the inspection)."""
    paper = finding(r, by=r.users["member2"], group=r.group2, target=r.taiping, title="镇党委议事规则不落实Q1",
                    people_involved="某副镇长", suggestion="建立议事规则")
    committee = logged_in(r.users["township_committee"])
    for name, args in (("system:audit", ()), ("system:region_detail", (county.taiping.pk,))):
        assert "议事规则不落实Q1" not in page(committee, name, *args)
    assert "议事规则不落实Q1" not in page(committee, "system:audit", object_type="inspection.InspectionFinding")
    assert "议事规则不落实Q1" in page(logged_in(r.users["county_office"]), "system:audit")

    InspectionFinding.objects.filter(pk=paper.pk).update(fed_back_at=timezone.now())
    for name, args in (("system:audit", ()), ("system:region_detail", (county.taiping.pk,))):
        shown = page(committee, name, *args)
        assert "议事规则不落实Q1" not in shown and "某副镇长" not in shown
    assert "议事规则不落实Q1" in page(committee, "inspection:onsite_findings")
    assert "议事规则不落实Q1" in page(logged_in(r.users["county_office"]), "system:audit")


def test_a_clue_entry_is_shown_only_to_those_who_may_read_the_clue(r):
    record = clue(r, by=r.users["member2"], group=r.group2, target=r.taiping)
    marker = f"问题线索 #{record.pk}"
    for name in ("county_office", "discipline"):
        assert marker in page(logged_in(r.users[name]), "system:audit"), name
    for name in ("leading_group", "township_committee", "township_office"):
        assert marker not in page(logged_in(r.users[name]), "system:audit", action="inspection_clue"), name


def test_talk_entries_are_hidden_from_the_inspected_township(r):
    onsite.record_talk(by=r.users["member2"], group=r.group2, target=r.taiping, held_on=timezone.localdate(),
                       interviewee="谈话对象W7", position="某站所长", summary="要点")
    assert "谈话对象W7" in page(logged_in(r.users["leading_group"]), "system:audit")
    assert "谈话对象W7" not in page(logged_in(r.users["township_committee"]), "system:audit")


def audit_page_queries(client: Client) -> int:
    client.get(reverse("system:audit"))  # warm-up: content types, the menu's permission cache
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("system:audit")).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("who", ["county_office", "township_committee", "leading_group"])
def test_the_audit_page_takes_the_same_number_of_queries_however_many_entries_it_shows(r, who):
    client = logged_in(r.users[who])

    def add(count: int, start: int) -> None:
        for number in range(start, start + count):
            finding(r, by=r.users["member2"], group=r.group2, target=r.taiping, title=f"问题{number}")
            clue(r, by=r.users["member2"], group=r.group2, target=r.taiping)
            onsite.record_talk(by=r.users["member2"], group=r.group2, target=r.taiping, held_on=timezone.localdate(),
                               interviewee=f"对象{number}", summary="要点")

    add(2, 0)
    few = audit_page_queries(client)
    add(15, 2)
    assert audit_page_queries(client) == few


def test_every_kind_of_evidence_owner_has_its_own_rule():
    """The generic evidence route asks these; an owner kind without a rule would fall back to the region."""
    assert {"grid.Event", "inspection.PatrolReport", "inspection.InspectionFinding",
            "rectification.ProgressEntry"} <= set(visibility.registered_labels())
    assert {"inspection.TalkRecord", "inspection.ProblemClue", "inspection.MobileProposal"} <= set(
        visibility.registered_labels())


def test_the_admin_lists_the_same_audit_entries_as_the_page(r):
    """A superuser as such reads no clue: not in the admin's audit list either."""
    record = clue(r, by=r.users["member2"], group=r.group2, target=r.taiping)
    finding(r, by=r.users["member2"], group=r.group2, target=r.taiping, title="底稿标题A9")
    admin_client = logged_in(r.users["root"])
    listing = admin_client.get(reverse("admin:governance_auditentry_changelist"))
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "底稿标题A9" in body and f"问题线索 #{record.pk}" not in body
