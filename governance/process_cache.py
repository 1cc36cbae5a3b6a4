"""Small, rarely changed tables read once per process and kept for a while (SLA rules, flow policy
versions, event categories): their readers sit on the intake path and every page.

The value is read again after `settings.<seconds_setting>` seconds (default 60). A save or delete of
one of `models` in this process drops it at once (this transaction sees the change) and again after the
commit (a thread that read it meanwhile, without the uncommitted row, read it too early); other processes
see the change within the interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")


class ProcessCache(Generic[T]):
    def __init__(self, load: Callable[[], T], *, seconds_setting: str, models: Iterable[type] = ()):
        self._load = load
        self._seconds_setting = seconds_setting
        self._lock = threading.Lock()
        self._value: T | None = None
        self._read_at = float("-inf")
        for model in models:
            uid = f"gv_process_cache_{seconds_setting}_{model._meta.label_lower}"
            post_save.connect(self.clear_now_and_after_commit, sender=model, weak=False, dispatch_uid=uid + "_save")
            post_delete.connect(self.clear_now_and_after_commit, sender=model, weak=False, dispatch_uid=uid + "_delete")

    def get(self) -> T:
        now = time.monotonic()
        value = self._value
        if value is None or now - self._read_at > getattr(settings, self._seconds_setting, 60):
            value = self._load()
            with self._lock:
                self._value, self._read_at = value, now
        return value

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._value = None

    def clear_now_and_after_commit(self, **kwargs) -> None:
        self.clear()
        transaction.on_commit(self.clear)
