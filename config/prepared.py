"""Statements PostgreSQL parses and plans once per connection (SQL `PREPARE` / `EXECUTE`).

Why (issue 16): on the playback-events path the database spent more CPU parsing and planning
the two statements of a request than running them (measured on PostgreSQL 15: the session
read with its account 130 µs of backend CPU as a plain statement, 57 µs prepared). With the
pooled HTTP handler each thread keeps its connection (CONN_MAX_AGE), so a statement prepared
on it once serves every later request of that thread.

    READ = PreparedStatement("attune_loginsession_read", "SELECT ... WHERE session_key = %s")
    with connection.cursor() as cursor:
        READ.execute(cursor, [key])

On other databases, or with ATTUNE_DB_PREPARED_STATEMENTS off, `execute` runs the SQL as
given. Turn it off behind a pooler in transaction mode (pgbouncer `pool_mode = transaction`):
SQL-level prepared statements live on one server connection, which such a pooler does not
keep for a client. A prepared statement outlives a rolled-back transaction, and a new
connection prepares again.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections.abc import Sequence
from typing import Any

from config import conf

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_names: set[str] = set()
_names_lock = threading.Lock()


def _numbered(sql: str) -> tuple[str, int]:
    """Django's %s placeholders as PostgreSQL's $1, $2, ... (and %% as %)."""
    count = 0

    def number(match: re.Match[str]) -> str:
        nonlocal count
        if match.group(0) == "%%":
            return "%"
        count += 1
        return f"${count}"

    return re.sub(r"%%|%s", number, sql), count


class PreparedStatement:
    def __init__(self, name: str, sql: str):
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not a lower-case SQL identifier")
        with _names_lock:
            if name in _names:
                raise ValueError(f"a prepared statement named {name!r} exists already")
            _names.add(name)
        self.name, self.sql = name, sql
        self.numbered_sql, self.parameters = _numbered(sql)
        self._prepared_on: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def execute(self, cursor: Any, params: Sequence[Any]) -> None:
        """Run on a Django cursor: EXECUTE (preparing first on a connection that has not), or the SQL."""
        wrapper = cursor.db
        if wrapper.vendor != "postgresql" or not conf.DB_PREPARED_STATEMENTS:
            cursor.execute(self.sql, params)
            return
        if len(params) != self.parameters:
            raise ValueError(f"{self.name}: {self.parameters} parameters expected, {len(params)} given")
        raw = wrapper.connection
        with self._lock:
            prepared = raw in self._prepared_on
        if not prepared:
            cursor.execute(f"PREPARE {self.name} AS {self.numbered_sql}")
            with self._lock:
                self._prepared_on[raw] = True
        cursor.execute(f"EXECUTE {self.name} ({', '.join(['%s'] * len(params))})" if params else f"EXECUTE {self.name}", params)
