"""Run by test_upgrade_from_previous_release in a subprocess, with this release's code on the migrated
copy of the previous release's database (`manage.py shell -c "import runpy; runpy.run_path(...)"`).

Prints one JSON object of what it found; each check is caught on its own, so that the test shows every
failing one ("error": the exception) rather than the first."""

import io
import json
import traceback

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from guardian.models import GroupObjectPermission, UserObjectPermission
from PIL import Image
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from governance.evidence import attachments_of
from governance.models import Attachment
from grid import access, events
from grid.models import Event, Region
from inspection.models import MobileProposal, PatrolReport
from inspection.patrol import reports
from inspection.rounds.round_services import decide_proposal
from rectification import services as rectification
from rectification.models import RectificationItem

users = {user.username: user for user in get_user_model().objects.all()}
found: dict = {}


def check(name):
    def run(function):
        try:
            found[name] = function()
        except Exception as exc:  # reported to the test, which fails on it
            found[name] = {"error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-1500:]}
    return run


def photo(name):
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (90, 120, 160)).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def open_steps(artifact) -> list[str]:
    """The waiting steps of the artifact's processes, as their flow nodes (which imports each stored flow)."""
    tasks = Task.objects.filter(
        process__artifact_content_type=ContentType.objects.get_for_model(artifact), process__artifact_object_id=artifact.pk,
        status__in=[STATUS.NEW, STATUS.ASSIGNED],
    ).order_by("id")
    return [f"{task.flow_task.flow_class.__name__}.{task.flow_task.name}" for task in tasks]


@check("flows")
def _():
    return sorted({f"{p.flow_class.__module__}.{p.flow_class.__name__}" for p in Process.objects.all()})


@check("open_tasks")
def _():
    return sorted(f"{t.flow_task.flow_class.__module__}.{t.flow_task.flow_class.__name__}.{t.flow_task.name}"
                  for t in Task.objects.filter(status__in=[STATUS.NEW, STATUS.ASSIGNED]))


@check("stale_content_types")
def _():
    return sorted(f"{ct.app_label}.{ct.model}" for ct in ContentType.objects.all() if ct.model_class() is None)


@check("guardian")
def _():
    item = RectificationItem.objects.get(pk=UserObjectPermission.objects.get().object_pk)
    region = Region.objects.get(pk=GroupObjectPermission.objects.get().object_pk)
    rows = [(row.content_object is not None, row.permission.content_type_id == row.content_type_id)
            for row in [*UserObjectPermission.objects.all(), *GroupObjectPermission.objects.all()]]
    return {
        "rows_resolve": all(resolves and same_type for resolves, same_type in rows),
        "shared_item_visible_to_user": access.scope(
            users["xunchazu"], RectificationItem.objects.all(), "rectification.view_rectificationitem"
        ).filter(pk=item.pk).exists(),
        "region_granted_to_group": access.region_grants(users["xunchazu2"]).covers("grid.view_region", region.path),
    }


@check("attachments")
def _():
    owners = [a.owner_type.get_object_for_this_type(pk=a.owner_id) for a in Attachment.objects.order_by("id")]
    return sorted(f"{owner._meta.label}:{attachments_of(owner).count()}" for owner in owners)


@check("event")
def _():
    event = Event.objects.get(idempotency_key="upgrade-fixture-event")
    before = events.current_step(event)
    events.handle_event(event, by=users["wanggezhang"], decision="resolve", result="已更换灯泡，恢复照明。",
                        files=[photo("处置.jpg")])
    after_handle = events.current_step(event)
    events.verify_event(event, by=users["wanggeyuan"], satisfied=True)
    event.refresh_from_db()
    return {"before": before, "after_handle": after_handle, "after_verify": events.current_step(event),
            "status": event.status, "attachments": attachments_of(event).count()}


@check("patrol_report")
def _():
    report = PatrolReport.objects.get(idempotency_key="upgrade-fixture-report")
    before = open_steps(report)
    report = reports.verify_report(report, by=users["nongyeban"], verdict=PatrolReport.Verdict.TRUE, note="经现场核实。")
    return {"before": before, "after": open_steps(report), "verdict": report.verdict,
            "registered": bool(report.registration_number)}


@check("rectification_item")
def _():
    item = RectificationItem.objects.get(pk=UserObjectPermission.objects.get().object_pk)
    before = open_steps(item)
    rectification.claim_done(item, by=users["zhendangwei"], text="整改完成，制度已建立。", files=[photo("佐证.jpg")])
    after_claim = open_steps(item)
    rectification.verify_item(item, by=users["xunchaban"], accept=True)
    item.refresh_from_db()
    return {"before": before, "after_claim": after_claim, "after_verify": open_steps(item),
            "closed": item.closed_at is not None}


@check("mobile_proposal")
def _():
    proposal = MobileProposal.objects.get()
    before = open_steps(proposal)
    proposal = decide_proposal(proposal, by=users["lingdao"], approve=True)
    return {"before": before, "after": open_steps(proposal), "decision": proposal.decision}


print(json.dumps(found, ensure_ascii=False))
