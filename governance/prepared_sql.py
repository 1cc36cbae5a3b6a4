"""Statements sent to PostgreSQL prepared: parsed and planned once per connection, then only run.

For statements whose plan cannot depend on their values (INSERTs of given values, reads and updates by
key), run many times with one text: event intake's two statements (governance.one_statement) and the
event detail page's reads (governance.kept_sql). Django's own queries are never prepared: its cursor
binds values client-side, and psycopg's count threshold is set out of reach (settings, with
DB_PREPARED_STATEMENTS; without it psycopg prepares nothing and these statements are just sent).

The cursor is psycopg's RawCursor: the text goes as written, with numbered placeholders, and the values
apart, so a long statement is not split again at every call (psycopg keeps its own translation only of
statements up to 50 values). It is wrapped as Django wraps its own cursors, so query logging and
execute wrappers (query counts, the request cost log) still see each statement."""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

import psycopg
from django.db import connection as default_connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _PreparedRawCursor(psycopg.RawCursor):
    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)


class _DebugWrapper(CursorDebugWrapper):
    """Logs the statement as written: psycopg keeps no text of a prepared statement's run for Django's
    "last executed query"."""

    def execute(self, sql, params=None):
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def cursor(connection=default_connection) -> CursorWrapper:
    """A Django-wrapped cursor of `connection` (PostgreSQL) whose statements are prepared; their text
    must use numbered placeholders (`numbered`)."""
    connection.ensure_connection()
    wrapper = _DebugWrapper if connection.queries_logged else CursorWrapper
    return wrapper(_PreparedRawCursor(connection.connection), connection)


def execute(sql: str, params: Sequence) -> tuple | None:
    """Run `sql` (with %s placeholders) prepared on the default connection; its first row, if any."""
    with cursor() as prepared:
        prepared.execute(numbered(sql), params)
        return prepared.fetchone() if prepared.description else None


_PLACEHOLDER = re.compile(r"%([%s])")


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """`sql` with its %s placeholders numbered ($1, $2, …) and %% unescaped."""
    if "%" in _PLACEHOLDER.sub("", sql):
        raise ValueError("prepared_sql: a % that is neither %s nor %%")
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda match: "%" if match.group(1) == "%" else f"${next(numbers)}", sql)
