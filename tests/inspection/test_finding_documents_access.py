"""The group's documents built from its working papers (巡察情况报告, 发现问题清单, 各村（社区）问题清单,
共性问题清单, 书记专题会清单) follow the working papers' own rule (onsite.findings_in_full): a post of
the group role at the inspected township is not enough — not for someone in no group of the round, a member
removed from the group, nor a member of another round's group of the same township — in Word, Excel and the
PDF job, also when the job's file is opened after the rule changed. The inspected township gets none of them."""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from docx import Document
from openpyxl import load_workbook

from grid import services
from grid.models import Role
from inspection.models import InspectionFinding
from inspection.rounds import group_reports as round_reports
from inspection.rounds import onsite
from jobs.models import Job
from tests.inspection.test_round_reports import build_zhaocun_round, make_group, make_round

pytestmark = pytest.mark.usefixtures("media_in_tmp")

# Internal fields of the working papers that the secretary's list and the situation report carry.
PEOPLE, SUGGESTION = "河南村党支部书记张某", "移交县纪委监委调查处理"


def post(name, role_key, region):
    user, _ = services.ensure_user(name, password="Test@2026pw")
    services.create_post(user=user, role=Role.objects.get(key=role_key), region=region)
    return user


@pytest.fixture
def zhaocun_round(county, personas):
    return build_zhaocun_round(county, personas)


@pytest.fixture
def excluded(county, personas, zhaocun_round):
    """Users with an inspection-group post at 赵村镇 whom the working papers' rule leaves out of 第一巡察组."""
    stranger = post("group_post_only", "inspection_group", county.zhaocun)  # in no group at all
    removed = post("removed_member", "inspection_group", county.zhaocun)
    zhaocun_round.group.members.add(removed)
    zhaocun_round.group.members.remove(removed)
    later = make_round(county, personas["county_office"], today=timezone.localdate())
    other_round_member = post("other_round_member", "inspection_group", county.zhaocun)
    make_group(later, county.zhaocun, [], number=1, members=[other_round_member])
    return {"stranger": stranger, "removed": removed, "other_round_member": other_round_member}


def urls(group):
    return [(kind, fmt, reverse("inspection:round_report_download", args=[group.pk, kind, fmt]))
            for kind in round_reports.FINDING_KINDS for fmt in round_reports.formats_of(kind)]


def text_of(content: bytes, fmt: str) -> str:
    if fmt == "docx":
        document = Document(io.BytesIO(content))
        cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
        return "\n".join([p.text for p in document.paragraphs] + cells)
    workbook = load_workbook(io.BytesIO(content))
    return "\n".join(str(cell.value) for sheet in workbook.worksheets for row in sheet.iter_rows()
                     for cell in row if cell.value is not None)


def test_a_group_post_at_the_township_outside_the_group_opens_none_of_its_finding_documents(
        client, zhaocun_round, excluded):
    group = zhaocun_round.group
    for name, user in excluded.items():
        # The region gate lets them reach the group; the working papers' rule leaves them out.
        assert round_reports.may_view_reports(user, group), name
        assert not onsite.visible_findings(user).exists(), name
        assert not round_reports.may_view_findings(user, group), name
        for kind in round_reports.FINDING_KINDS:
            assert not round_reports.may_view_document(user, group, kind), (name, kind)
            with pytest.raises(PermissionDenied):
                round_reports.build(group, kind, user=user)
            with pytest.raises(PermissionDenied):
                round_reports.export(group, kind, "docx", by=user)
        client.force_login(user)
        for kind, fmt, url in urls(group):
            assert client.get(url).status_code == 403, (name, kind, fmt)
        assert not Job.objects.filter(owner=user).exists(), name  # no PDF job was started for them
        page = client.get(reverse("inspection:round_reports", args=[group.pk]))
        assert page.status_code == 200, name
        body = page.content.decode()
        assert 'id="doc-' not in body and "没有您可以查看的文书" in body, name
        assert "防返贫监测不及时" not in body and "低保评定优亲厚友" not in body, name


def test_the_groups_members_and_overseers_still_open_every_finding_document(client, county, personas, zhaocun_round):
    group = zhaocun_round.group
    readers = {"member": personas["inspection_group"], "leader": zhaocun_round.leader,
               "county_office": personas["county_office"], "leading_group": personas["leading_group"],
               "discipline": post("zhaocun_discipline", "discipline", county.zhaocun)}
    for name, user in readers.items():
        client.force_login(user)
        for kind, fmt, url in urls(group):
            response = client.get(url)
            if fmt == "pdf":
                assert response.status_code == 302 and response["Location"].startswith("/jobs/"), (name, kind)
                continue
            assert response.status_code == 200, (name, kind, fmt)
            if kind == "secretary":
                text = text_of(response.content, fmt)
                assert PEOPLE in text and SUGGESTION in text, (name, fmt)
        body = client.get(reverse("inspection:round_reports", args=[group.pk])).content.decode()
        for kind in round_reports.FINDING_KINDS:
            assert f'id="doc-{kind}"' in body, (name, kind)


def test_a_report_pdf_job_is_closed_once_its_owner_leaves_the_group(client, personas, zhaocun_round,
                                                                     django_capture_on_commit_callbacks):
    group, member = zhaocun_round.group, personas["inspection_group"]
    client.force_login(member)
    url = reverse("inspection:round_report_download", args=[group.pk, "secretary", "pdf"])
    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(url)["Location"]
    assert client.get(done + "result/").status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as queued:
        pending = client.get(reverse("inspection:round_report_download", args=[group.pk, "situation", "pdf"]))
    group.members.remove(member)
    for callback in queued:  # the job runs after the member has left: it writes nothing
        callback()
    job = Job.objects.get(pk=pending["Location"].strip("/").split("/")[-1])
    assert job.status == Job.Status.FAILED and not job.result_file
    for location in (done, pending["Location"]):
        assert client.get(location).status_code == 404
        assert client.get(location + "result/").status_code == 404


def test_the_inspected_township_reads_its_fed_back_findings_but_none_of_the_documents(client, county, zhaocun_round):
    group = zhaocun_round.group
    InspectionFinding.objects.filter(group=group).update(fed_back_at=timezone.now())
    committee = post("zhaocun_committee", "township_committee", county.zhaocun)
    assert onsite.visible_findings(committee).filter(group=group).count() == 7
    assert not onsite.findings_in_full(committee).exists()
    assert not round_reports.may_view_findings(committee, group)
    client.force_login(committee)
    assert client.get(reverse("inspection:round_reports", args=[group.pk])).status_code == 404
    for kind, fmt, url in urls(group):
        assert client.get(url).status_code == 404, (kind, fmt)


def test_the_documents_ask_the_working_papers_rule(county, personas, zhaocun_round, excluded):
    """may_view_findings is findings_in_full read on the group: yes exactly where every finding is in full."""
    group = zhaocun_round.group
    total = InspectionFinding.objects.filter(group=group).count()
    users = {**personas, **excluded, "leader": zhaocun_round.leader,
             "discipline_here": post("zhaocun_discipline", "discipline", county.zhaocun),
             "committee_here": post("zhaocun_committee", "township_committee", county.zhaocun)}
    for name, user in users.items():
        in_full = onsite.findings_in_full(user).filter(group=group).count()
        assert in_full in (0, total), name
        assert round_reports.may_view_findings(user, group) is (in_full == total), name
