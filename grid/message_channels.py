"""待办 and 督办 where officials read them: the group robot of the township or department that handles
the event, and SMS to the people who hold (or supervise) the task. Both optional; sent by
governance/channels.py after the commit, through the outbox.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from governance import channels
from governance.models import ChannelMessage
from governance.process_cache import ProcessCache

from .models import Event, GroupRobot


def _read_enabled_robots() -> list[GroupRobot]:
    return list(GroupRobot.objects.filter(enabled=True).select_related("region"))


# The enabled group robots with their regions (a handful of rows, not to be changed by callers), kept
# by each process like the other small tables (governance.process_cache).
robot_cache = ProcessCache(_read_enabled_robots, seconds_setting="GROUP_ROBOT_CACHE_SECONDS", models=[GroupRobot])


class RobotDirectory:
    """Which of the enabled group robots (robot_cache) an event goes to."""

    def robot_for(self, event: Event) -> GroupRobot | None:
        """The robot of the event's department when it is a department's case; otherwise the robot of the
        nearest region at or above the handling region (a grid's case goes to its township's group)."""
        robots = robot_cache.get()
        if not robots:
            return None
        if event.department_id:
            for robot in robots:
                if robot.department_id == event.department_id:
                    return robot
        path = event.handling_region.path
        candidates = [robot for robot in robots if robot.department_id is None and path.startswith(robot.region.path)]
        return max(candidates, key=lambda robot: len(robot.region.path), default=None)


@dataclass
class Relay:
    """The messages of one batch of notices, queued together in the batch's transaction."""

    robots: RobotDirectory = field(default_factory=RobotDirectory)
    messages: list[channels.Outgoing] = field(default_factory=list)
    sms: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, event: Event, *, occasion: str, title: str, body: str, url: str,
            recipients: list[tuple[int, str]]) -> None:
        """One 待办/督办 `occasion` (e.g. "supervision:<task id>") of `event`: one post to its group
        robot and one SMS per (user id, title) recipient."""
        robot = self.robots.robot_for(event)
        if robot is not None:
            link = f"\n{settings.SITE_URL.rstrip('/')}{url}" if settings.SITE_URL else ""
            self.messages.append(channels.Outgoing(ChannelMessage.Channel.ROBOT, robot.webhook_url,
                                                   f"{title}\n{body}{link}", f"{occasion}:robot:{robot.pk}"))
        self.sms.extend((user_id, user_title, f"{occasion}:{user_id}") for user_id, user_title in recipients)

    def queue(self) -> int:
        """Store the messages (in the caller's transaction) and send them after its commit."""
        return channels.queue(self.messages + channels.sms_for(self.sms))
