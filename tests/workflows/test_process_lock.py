"""The flows' process lock skips only the lock of a process the open transaction itself created."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from grid.event_flow import EventFlow
from workflows.locking import created_in_this_transaction
from workflows.models import EventProcess

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def new_process() -> EventProcess:
    return EventProcess.objects.create(flow_class=EventFlow)


def test_a_process_is_unlocked_only_inside_the_transaction_that_created_it():
    with transaction.atomic():
        process = new_process()
        assert created_in_this_transaction(process.pk)
        with transaction.atomic():  # a savepoint is still the same transaction
            assert created_in_this_transaction(process.pk)
    assert not created_in_this_transaction(process.pk)  # committed: everyone sees it now
    with transaction.atomic():
        assert not created_in_this_transaction(process.pk)


def test_a_function_decorated_with_atomic_does_not_carry_the_mark_into_its_next_call():
    """Such a function reuses its atomic block object for every call; the commit still clears the mark."""

    @transaction.atomic
    def create():
        return new_process().pk, None

    @transaction.atomic
    def check(pk):
        return created_in_this_transaction(pk)

    pk, _ = create()
    assert not check(pk)


def test_the_lock_of_a_committed_process_is_taken():
    process = new_process()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        with EventFlow.lock(process.pk):
            pass
    sql = " ".join(query["sql"] for query in captured.captured_queries)
    assert "SAVEPOINT" in sql
    if connection.vendor == "postgresql":
        assert "FOR UPDATE NOWAIT" in sql


def test_the_lock_of_a_process_created_in_this_transaction_costs_no_query():
    with transaction.atomic():
        process = new_process()
        with CaptureQueriesContext(connection) as captured:
            with EventFlow.lock(process.pk):
                pass
    assert captured.captured_queries == []
