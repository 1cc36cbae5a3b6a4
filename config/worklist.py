"""What waits for a user on the home page: the queues of their role, their deadlines this week and,
for an inspection group, the card of their group. Every query is scoped by the apps' own visibility
functions; design notes: docs/architecture/governance.md (工作台)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone

from governance.chinese_dates import start_of_day
from governance.templatetags.zh_format import zh_until
from grid import access_cache
from grid.access import explicit_grants, region_grants, scope
from grid.event_lists import my_tasks, open_step_label
from grid.models import Event
from grid.patrols import reviewable_diaries
from inspection.models import InspectionGroup, MobileProposal
from inspection.patrol.report_registration import review_queue, verify_queue
from inspection.rounds.letters import visible_letters
from inspection.rounds.onsite import IN_A_GROUP, groups_of, visible_clues, visible_findings, visible_talks
from inspection.rounds.round_services import (
    proposals_visible,
    reads_rounds_as_township_only,
    township_rounds_visible,
)
from rectification import states
from rectification.models import ProgressNotice, RectificationItem

WEEK_DAYS = 7
DEADLINE_ROWS = 12


@dataclass
class Queue:
    """A count of records waiting for the user, with the list that shows them."""

    label: str
    count: int
    url: str
    urgent: bool = False


@dataclass
class Deadline:
    """One of the user's own deadlines: what, where to open it, when it is due."""

    kind: str
    title: str
    url: str
    due: datetime.date
    overdue: bool = False
    due_at: datetime.datetime | None = None  # an event step's deadline is a moment, not a day

    @property
    def left(self) -> str:
        """今天到期, 剩 3 天 or 已超期 2 天 (whole days from today); for a moment, the time left as my
        tasks print it (剩 5 小时, 已超期 3 小时)."""
        if self.due_at is not None:
            return zh_until(self.due_at)
        days = (self.due - _today()).days
        if days < 0 or self.overdue:
            return f"已超期 {max(1, -days)} 天" if days < 0 else "已超期"
        return "今天到期" if days == 0 else f"剩 {days} 天"


@dataclass
class Milestone:
    label: str
    date: datetime.date | None
    passed: bool


@dataclass
class GroupCard:
    """An inspection group as its member sees it: round, township, targets, timeline and counts."""

    group: InspectionGroup
    role: str
    targets: list[str] = field(default_factory=list)
    timeline: list[Milestone] = field(default_factory=list)
    findings: int = 0
    talks: int = 0
    clues: int | None = None  # None: the user may not see the group's clues (only its leader may)
    pending_proposals: int = 0


def _today() -> datetime.date:
    return timezone.localdate()


# ---------------------------------------------------------------- queues


def waiting_for(user) -> list[Queue]:
    """The queues of the user's roles, each scoped to what they may see and act on (a query per queue;
    the rectification queues count from the one aggregate of item_figures_by_organisation)."""
    queues: list[Queue] = []
    if user.has_perm("grid.review_workdiary"):
        count = reviewable_diaries(user).filter(reviewed_at__isnull=True).exclude(author=user).count()
        queues.append(Queue("待审核的工作日志", count, reverse("grid:diaries") + "?show=review", urgent=bool(count)))
    if user.has_perm("inspection.review_patrolreport"):
        count = review_queue(user).count()
        if count:  # only where the flow policy has the township review reports
            queues.append(Queue("待审核的村级上报", count, reverse("patrol:review_queue"), urgent=True))
    if user.has_perm("inspection.verify_patrolreport"):
        count = verify_queue(user).count()
        queues.append(Queue("待核实的村级上报", count, reverse("patrol:verify_queue"), urgent=bool(count)))
    if user.has_perm(VERIFY_ITEM):
        if _same_item_scope(user, VERIFY_ITEM, VIEW_ITEM):  # the figures below count the same items
            count = item_figures(user).awaiting
        else:
            count = scope(user, RectificationItem.objects.filter(states.q_awaiting()), VERIFY_ITEM).count()
        queues.append(Queue("待验收销号的整改事项", count, reverse("rectification:items") + "?status=awaiting",
                            urgent=bool(count)))
    if user.has_perm(VIEW_ITEM):
        figures = item_figures(user)
        if user.has_perm("rectification.add_progressentry"):
            # A label counts what the list of the same name lists (rectification.states): 未销号 includes
            # the items awaiting the office's verification, shown beside it as 待验收.
            queues.append(Queue("未销号的整改事项", figures.open, reverse("rectification:items") + "?status=open"))
            if not user.has_perm(VERIFY_ITEM):  # the office has its own 待验收销号 queue above
                queues.append(Queue("待验收的整改事项", figures.awaiting,
                                    reverse("rectification:items") + "?status=awaiting"))
        overdue = figures.overdue
        queues.append(Queue("逾期未销号的整改事项", overdue, reverse("rectification:items") + "?overdue=1",
                            urgent=bool(overdue)))
    if user.has_perm("rectification.approve_notice"):
        count = scope(user, ProgressNotice.objects.filter(state=ProgressNotice.State.DRAFT),
                      "rectification.approve_notice").count()
        queues.append(Queue("待审定的整改通报", count, reverse("rectification:plans"), urgent=bool(count)))
    if user.has_perm("rectification.add_progressnotice"):
        count = scope(user, ProgressNotice.objects.filter(state=ProgressNotice.State.APPROVED),
                      "rectification.add_progressnotice").count()
        queues.append(Queue("已审定待公开的通报", count, reverse("rectification:plans")))
    if user.has_perm("inspection.view_inspectionletter"):
        count = visible_letters(user).filter(reply_due__isnull=False, replied_on__isnull=True).count()
        queues.append(Queue("待回复的巡察文书", count, reverse("inspection:letters") + "?reply=waiting",
                            urgent=bool(count)))
    if user.has_perm("inspection.decide_mobileproposal"):
        count = proposals_visible(user).filter(decision=MobileProposal.Decision.PENDING).count()
        queues.append(Queue("待审批的机动巡察", count, reverse("inspection:rounds"), urgent=bool(count)))
    if reads_rounds_as_township_only(user):
        count = township_rounds_visible(user).count()
        queues.append(Queue("本镇被巡察轮次", count, reverse("inspection:township_rounds")))
    return queues


# ---------------------------------------------------------------- rectification figures

VIEW_ITEM = "rectification.view_rectificationitem"
VERIFY_ITEM = "rectification.verify_rectificationitem"
_ITEM_ROWS_ATTR = "_gv_item_figures_by_organisation"
_ITEM_TOTALS_ATTR = "_gv_item_figures"


def item_figures_by_organisation(user) -> list[dict]:
    """The figures (rectification.states) of the items the user may see, per responsible organisation
    in tree order: rows of plan__organisation__path, plan__organisation__name, total and every figure.
    One aggregate over the items, read once per request (kept on the user object): the queues and the
    home page's progress chart both count from it."""
    rows = user.__dict__.get(_ITEM_ROWS_ATTR)
    if rows is None:
        rows = list(
            scope(user, RectificationItem.objects.all(), VIEW_ITEM).order_by()
            .values("plan__organisation__path", "plan__organisation__name")
            .annotate(**states.aggregates(_today())).order_by("plan__organisation__path"))
        user.__dict__[_ITEM_ROWS_ATTR] = rows
    return rows


def item_figures(user) -> states.Figures:
    """The figures of all the items the user may see (the sum of item_figures_by_organisation), summed
    once per request (kept on the user object beside the rows)."""
    figures = user.__dict__.get(_ITEM_TOTALS_ATTR)
    if figures is None:
        rows = item_figures_by_organisation(user)
        totals = dict.fromkeys(("total", *states.FIGURES), 0)
        for row in rows:
            for key in totals:
                totals[key] += row[key]
        figures = user.__dict__[_ITEM_TOTALS_ATTR] = states.Figures(**totals)
    return figures


def _same_item_scope(user, perm: str, other: str) -> bool:
    """Whether `scope` gives the same items for both permissions (the same regions, the same single grants)."""
    if user.is_superuser:
        return True
    grants = region_grants(user)
    return (grants.paths(perm) == grants.paths(other)
            and explicit_grants(user, RectificationItem, perm) == explicit_grants(user, RectificationItem, other))


# ---------------------------------------------------------------- deadlines


def deadlines_this_week(user, *, today: datetime.date | None = None,
                        earliest_tasks: list[Event] | None = None) -> list[Deadline]:
    """The user's own deadlines from overdue up to a week ahead, earliest first: the steps of events
    they are to take, the rectification items they report on, the letters they are to answer.
    `earliest_tasks`: the user's first DEADLINE_ROWS tasks (or all of them) earliest deadline first,
    when the caller has read those (the home page's task summary)."""
    today = today or _today()
    end = today + datetime.timedelta(days=WEEK_DAYS)
    rows: list[Deadline] = []
    if earliest_tasks is not None:
        rows += _deadlines_of(_before(earliest_tasks, end), timezone.now())
    else:
        rows += _event_deadlines(user, end)
    if user.has_perm("rectification.add_progressentry"):
        items = scope(user, RectificationItem.objects.filter(states.q_open()).exclude(states.q_awaiting()),
                      "rectification.add_progressentry")
        # Due before `end` by the deadline in force, earliest first by it (an extended item by its new deadline).
        items = items.annotate(due=states.effective_deadline_expression()).filter(due__lt=end)
        for item in items.select_related("plan__organisation").order_by("due", "id")[:DEADLINE_ROWS]:
            due = states.effective_deadline(item)
            rows.append(Deadline("整改事项", f"{item.plan.organisation.name}：{item.number}. {item.title}",
                                 reverse("rectification:item_detail", args=[item.pk]), due, due < today))
    if user.has_perm("inspection.view_inspectionletter"):
        letters = visible_letters(user).filter(replied_on__isnull=True, reply_due__lt=end)
        for letter in letters.order_by("reply_due", "id")[:DEADLINE_ROWS]:
            rows.append(Deadline(f"{letter.get_kind_display()}回复", f"{letter.number} {letter.subject}",
                                 reverse("inspection:letter_detail", args=[letter.pk]), letter.reply_due,
                                 letter.reply_overdue_on(today)))
    for card in group_cards(user):
        for milestone in card.timeline:
            if milestone.date and today <= milestone.date < end:
                rows.append(Deadline("巡察时间节点", f"{card.group.name}：{milestone.label}",
                                     reverse("inspection:round_detail", args=[card.group.round_id]), milestone.date))
    rows.sort(key=lambda row: (row.due, row.kind))
    return rows[:DEADLINE_ROWS]


def _event_deadlines(user, end: datetime.date) -> list[Deadline]:
    """The open steps of my tasks due before `end` (Event.step_due_at), overdue as every page says."""
    if not user.is_authenticated:
        return []
    tasks = my_tasks(user)
    if tasks.query.is_empty():
        return []
    events = (tasks.filter(step_due_at__lt=start_of_day(end)).select_related("handling_region__tier")
              .only("pk", "title", "status", "step_due_at", "flow_policy", "handling_region__tier__key")
              .order_by("step_due_at", "id")[:DEADLINE_ROWS])
    return _deadlines_of(events, timezone.now())


def _before(earliest_tasks: list[Event], end: datetime.date) -> list[Event]:
    """_event_deadlines' rows taken from tasks already read earliest deadline first (grid.event_lists.
    task_summary): the first DEADLINE_ROWS of them due before `end`, with no query."""
    end_at = start_of_day(end)
    return [event for event in earliest_tasks
            if event.step_due_at is not None and event.step_due_at < end_at][:DEADLINE_ROWS]


def _deadlines_of(events, now: datetime.datetime) -> list[Deadline]:
    return [Deadline(f"事件·{open_step_label(event)}", f"#{event.pk} {event.title}",
                     reverse("grid:event_detail", args=[event.pk]), timezone.localtime(event.step_due_at).date(),
                     event.overdue_at(now), due_at=event.step_due_at)
            for event in events]


# ---------------------------------------------------------------- inspection groups


def group_cards(user) -> list[GroupCard]:
    """The groups the user belongs to, with what they may see of each (clues only for the leader)."""
    memo = user.__dict__.get("_gv_group_cards")
    if memo is not None:
        return memo
    if not access_cache.user_fact(user, IN_A_GROUP):
        return []
    today = _today()
    cards = []
    groups = (groups_of(user).select_related("round", "township", "leader")
              .prefetch_related("targets__organisation").order_by("-round__arrival_date", "number"))
    findings, talks, clues = visible_findings(user), visible_talks(user), visible_clues(user)
    for group in groups[:5]:
        round_ = group.round
        role = "组长" if group.leader_id == user.pk else "组员"
        mobile_due = round_.arrival_date + datetime.timedelta(days=group.mobile_days)
        timeline = [
            ("进驻", round_.arrival_date), ("确定机动巡察村", mobile_due), ("撤回", round_.withdrawal_date),
            ("向领导小组汇报", group.reported_on), ("书记专题会", group.secretary_meeting_on), ("反馈", group.feedback_on),
        ]
        cards.append(GroupCard(
            group=group, role=role,
            targets=[f"{t.organisation.name}{'（机动）' if t.is_mobile else ''}" for t in group.targets.all()],
            timeline=[Milestone(label, day, bool(day and day <= today)) for label, day in timeline],
            findings=findings.filter(group=group).count(), talks=talks.filter(group=group).count(),
            clues=clues.filter(group=group).count() if group.leader_id == user.pk else None,
            pending_proposals=group.proposals.filter(decision=MobileProposal.Decision.PENDING).count(),
        ))
    user.__dict__["_gv_group_cards"] = cards
    return cards
