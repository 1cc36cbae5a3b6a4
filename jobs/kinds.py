"""The kinds of job: each app registers its own (key, Chinese label, handler) from its `job_kinds`
module at start-up; jobs/ itself names none."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

UNKNOWN_LABEL = "后台任务"  # a job of a kind no app registers any more (never a raw key on a page)


@dataclass(frozen=True)
class JobKind:
    key: str
    label: str
    handler: Callable
    # What a running job of this kind is doing, as users say it ("生成中" for a document); "进行中" otherwise.
    running_label: str = ""
    # The result's own visibility rule, asked again whenever the owner opens the job or its file:
    # may_see(user, job) → bool. A document job passes the document's rule (404 once it fails).
    may_see: Callable | None = None


_kinds: dict[str, JobKind] = {}


def register(key: str, handler: Callable, *, label: str, running_label: str = "",
             may_see: Callable | None = None) -> None:
    """Which function does the work of a kind of job, and what users call it (Chinese)."""
    if not key or len(key) > 32:
        raise ValueError(f"job kind {key!r}: 1 to 32 characters")
    if not label:
        raise ValueError(f"job kind {key!r} needs a Chinese label")
    _kinds[key] = JobKind(key, label, handler, running_label, may_see)


def handler_for(key: str) -> Callable:
    return _kinds[key].handler


def label_of(key: str) -> str:
    kind = _kinds.get(key)
    return kind.label if kind else UNKNOWN_LABEL


def running_label_of(key: str) -> str:
    kind = _kinds.get(key)
    return kind.running_label if kind else ""


def may_see(key: str, user, job) -> bool:
    kind = _kinds.get(key)
    return kind is None or kind.may_see is None or bool(kind.may_see(user, job))


def registered() -> list[JobKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.key)
