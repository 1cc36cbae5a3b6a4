"""The flows' process lock: viewflow's SELECT … FOR UPDATE NOWAIT, minus the one lock that guards nothing.
Design notes: docs/architecture/workflows.md."""

from __future__ import annotations

import threading
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models.signals import post_save
from viewflow.workflow.lock import SelectForUpdateLock
from viewflow.workflow.models import Process

_created = threading.local()


def _transaction():
    """The outermost atomic block of the open transaction (None outside one): it lives as long as it."""
    blocks = connections[DEFAULT_DB_ALIAS].atomic_blocks
    return blocks[0] if blocks else None


def _remember_new_process(sender, instance, created, using=DEFAULT_DB_ALIAS, **kwargs):
    if not created or using != DEFAULT_DB_ALIAS or not isinstance(instance, Process):
        return
    current = _transaction()
    if current is None:
        return
    if getattr(_created, "transaction", None) is not current:
        _created.transaction, _created.pks = current, set()
    pks, pk = _created.pks, instance.pk
    pks.add(pk)
    # Once committed, the row is everyone's: forget it (a function decorated with atomic reuses its
    # block object for every call, so the block alone does not tell one transaction from the next).
    transaction.on_commit(lambda: pks.discard(pk), using=using)


def created_in_this_transaction(process_pk) -> bool:
    current = _transaction()
    return current is not None and getattr(_created, "transaction", None) is current and process_pk in _created.pks


post_save.connect(_remember_new_process, dispatch_uid="workflows.locking.remember_new_process")


class ProcessLock(SelectForUpdateLock):
    @contextmanager
    def __call__(self, flow_class, process_pk):
        if created_in_this_transaction(process_pk):
            yield
            return
        with super().__call__(flow_class, process_pk):
            yield


process_lock = ProcessLock(nowait=True)
