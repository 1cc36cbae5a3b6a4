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


_kinds: dict[str, JobKind] = {}


def register(key: str, handler: Callable, *, label: str) -> None:
    """Which function does the work of a kind of job, and what users call it (Chinese)."""
    if not key or len(key) > 32:
        raise ValueError(f"job kind {key!r}: 1 to 32 characters")
    if not label:
        raise ValueError(f"job kind {key!r} needs a Chinese label")
    _kinds[key] = JobKind(key, label, handler)


def handler_for(key: str) -> Callable:
    return _kinds[key].handler


def label_of(key: str) -> str:
    kind = _kinds.get(key)
    return kind.label if kind else UNKNOWN_LABEL


def registered() -> list[JobKind]:
    return sorted(_kinds.values(), key=lambda kind: kind.key)
