"""Reads whose SQL the ORM compiles once per process: each later call only binds its own values.

Compiling a queryset costs Django more CPU than PostgreSQL spends on a read by key: each of the event
detail page's three reads cost 0.65-0.9 ms of CPU through the ORM and 0.2-0.4 ms with its SQL kept.
A `KeptQuery` builds its queryset with marker values, twice with different markers, and keeps the
SQL when both compile to the same text with the markers at the same places among the parameters;
later calls put the caller's values at those places and run the SQL through `Model.objects.raw()`.
An int outside the 64-bit range raises `ValueError` (the database would refuse it; the ORM would
have answered "no rows" for `=`, the caller says what it means).

Only what can be kept exactly is accepted, and anything else raises `TypeError` at the first call
(a programming error, which the tests of each caller meet): the queryset reads model rows (no
`select_related`, no `values()`), and each value is an int or a str, or a non-empty list of one of
them, that reaches the parameters unchanged (a lookup that rewrites its value, such as `contains`, or
that compiles differently by value, such as `=None` or an empty `in`, cannot be kept). One SQL text
is kept per database alias and per shape of the values (the length of each list), the `MAX_SHAPES`
compiled last.

Rows come from `raw()` (on PostgreSQL run prepared, governance.prepared_sql): model fields are
converted as usual, annotated columns come as the database gives them (an `Exists` is a bool on
PostgreSQL, 0 or 1 on SQLite).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable, RawQuerySet
from django.db.models.sql.query import RawQuery

from governance import prepared_sql

MAX_SHAPES = 64
BIGINT_LIMIT = 2**63
# Markers: within the range of every integer field that takes positive values, far above any id
# this system hands out; text markers use the Unicode private use area.
_INT_MARKER_BASES = (2_000_000_000, 2_100_000_000)
_TEXT_MARKER_FORMATS = ("\ue000kept-a-{}\ue001", "\ue000kept-b-{}\ue001")


class KeptQuery:
    def __init__(self, build: Callable[..., QuerySet]):
        self._build = build
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, tuple[str, tuple, tuple[tuple[int, int], ...], type]] = OrderedDict()

    def __call__(self, *values: int | str | Sequence[int] | Sequence[str], using: str = DEFAULT_DB_ALIAS) -> RawQuerySet:
        flat, shape = _flatten(values)
        key = (using, shape)
        kept = self._kept.get(key)
        if kept is None:
            kept = self._compile(shape, using)
            with self._lock:  # the request threads of one process share it
                self._kept[key] = kept
                while len(self._kept) > MAX_SHAPES:
                    self._kept.popitem(last=False)
        sql, params, slots, model = kept
        bound = list(params)
        for position, index in slots:
            # the parameter's own type: on PostgreSQL Django passes integers as psycopg's Int8 and the like
            bound[position] = type(params[position])(flat[index])
        if connections[using].vendor == "postgresql":
            return RawQuerySet(sql, model=model, query=_PreparedRawQuery(sql, using, params=bound), using=using)
        return model._default_manager.db_manager(using).raw(sql, bound)

    def _compile(self, shape: tuple, using: str):
        compiled = [self._compile_with(shape, using, variant) for variant in (0, 1)]
        (sql, params, slots, model), (other_sql, _other_params, other_slots, _) = compiled
        if sql != other_sql or slots != other_slots:
            raise TypeError("KeptQuery: the SQL depends on the values, it cannot be kept")
        expected = sum(1 for _kind in _kinds(shape))
        if {index for _position, index in slots} != set(range(expected)):
            raise TypeError("KeptQuery: a value does not reach the SQL parameters unchanged")
        return sql, tuple(params), slots, model

    def _compile_with(self, shape: tuple, using: str, variant: int):
        markers = [_marker(kind, index, variant) for index, kind in enumerate(_kinds(shape))]
        queryset = self._build(*_unflatten(markers, shape))
        if queryset._iterable_class is not ModelIterable or queryset.query.select_related:
            raise TypeError("KeptQuery: only plain model rows can be kept (no values(), no select_related)")
        sql, params = queryset.query.get_compiler(using=using).as_sql()
        by_marker = {marker: index for index, marker in enumerate(markers)}
        slots = []
        for position, param in enumerate(params):
            # an int marker never equals a str one; a constant equal to a marker moves between the variants
            if isinstance(param, (int, str)) and not isinstance(param, bool) and param in by_marker:
                slots.append((position, by_marker[param]))
        return sql, params, tuple(slots), queryset.model


class _PreparedRawQuery(RawQuery):
    """The kept SQL run prepared (governance.prepared_sql): it reads by key, so its plan does not depend
    on the values, and each call skips PostgreSQL's parsing and planning as well as Django's compiling."""

    def clone(self, using):
        return _PreparedRawQuery(self.sql, using, params=self.params)

    def _execute_query(self):
        connection = connections[self.using]
        self.cursor = prepared_sql.cursor(connection)
        self.cursor.execute(prepared_sql.numbered(self.sql), [connection.ops.adapt_unknown_value(v) for v in self.params])


def _flatten(values) -> tuple[list, tuple]:
    flat, shape = [], []
    for value in values:
        if isinstance(value, (list, tuple)):
            if not value:
                raise TypeError("KeptQuery: an empty list compiles differently, it cannot be kept")
            kind = _kind(value[0])
            if any(_kind(item) != kind for item in value):
                raise TypeError("KeptQuery: a list's values must be of one kind")
            flat.extend(value)
            shape.append((kind, len(value)))
        else:
            flat.append(value)
            shape.append(_kind(value))
    return flat, tuple(shape)


def _kind(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"KeptQuery: only int and str values can be kept, not {type(value).__name__}")
    if isinstance(value, int) and not -BIGINT_LIMIT <= value < BIGINT_LIMIT:
        # the ORM answers such a lookup without the database; here the caller decides what it means
        raise ValueError("KeptQuery: an integer outside the 64-bit range")
    return "int" if isinstance(value, int) else "str"


def _kinds(shape: tuple):
    for part in shape:
        if isinstance(part, tuple):
            yield from [part[0]] * part[1]
        else:
            yield part


def _unflatten(flat: list, shape: tuple) -> list:
    values, at = [], 0
    for part in shape:
        if isinstance(part, tuple):
            values.append(flat[at:at + part[1]])
            at += part[1]
        else:
            values.append(flat[at])
            at += 1
    return values


def _marker(kind: str, index: int, variant: int) -> int | str:
    if kind == "int":
        return _INT_MARKER_BASES[variant] + index
    return _TEXT_MARKER_FORMATS[variant].format(index)
