"""Read one model row by a unique key with SQL the ORM compiled once per database connection.

Why (issue 16): every authenticated request reads the log-in session and the user by key.
Through the ORM each `.get()` builds a QuerySet, compiles it to SQL and maps the row, about
0.3 ms of CPU for a lookup whose round trip costs 0.07 ms (measured on PostgreSQL, see
bench/events.py). `RowReader` asks the ORM for the same SQL and the same value converters
once, then runs that statement with the new key: the row comes back as the model instance the
ORM would have made (`Model.from_db`), with every field converted the same way, for about a
third of the cost. Nothing is cached but the statement: every call reads the database.

    USERS = RowReader(User, "pk")
    user = USERS.get(user_id)           # None when there is no such row

`related` follows one foreign key in the same statement, as `select_related` does: the row's
`session.user` is then set (or None) without another query. `prepared_as` names the statement
for PostgreSQL to parse and plan once per connection (config/prepared.py).
"""

from __future__ import annotations

import threading
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db import connections, models
from django.db.models import Model

from config.prepared import PreparedStatement

M = TypeVar("M", bound=Model)
_statements_lock = threading.Lock()


@dataclass(frozen=True)
class _Compiled:
    sql: str
    attnames: list[str]
    positions: list[int]  # where the model's columns are in the row
    converters: dict[int, tuple[list[Any], Any]]
    related: tuple[str, type[Model], list[str], list[int]] | None  # name, model, attnames, positions
    key_range: tuple[int | None, int | None] | None  # the column's integer range, if an integer


class RowReader(Generic[M]):
    """`get(key)`: the row whose `field` equals key, as an instance of `model`, or None."""

    def __init__(
        self,
        model: type[M],
        field: str = "pk",
        using: str = "default",
        related: str | None = None,
        prepared_as: str | None = None,
    ):
        self.model, self.field, self.using, self.related = model, field, using, related
        self.prepared_as = prepared_as
        self._statements: dict[str, PreparedStatement] = {}  # by SQL text (one per database vendor)
        self.key_field = model._meta.pk if field == "pk" else model._meta.get_field(field)
        # One compiled statement per connection object (each thread has its own connection;
        # converters are bound to it). The statement never holds a key or any row's data.
        self._compiled: weakref.WeakKeyDictionary[Any, _Compiled] = weakref.WeakKeyDictionary()

    def _compile(self, connection: Any) -> _Compiled:
        queryset = self.model._default_manager.db_manager(self.using).filter(**{self.field: _probe(self.key_field)})
        if self.related:
            queryset = queryset.select_related(self.related)
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        if len(params) != 1:
            raise ValueError(f"{self.model.__name__}.{self.field}: expected one parameter, got {params!r}")
        columns = [column for column, _, _ in compiler.select]
        info = compiler.klass_info  # which select positions belong to which model
        positions = list(info["select_fields"])
        related = None
        if self.related:
            (inner,) = info["related_klass_infos"]
            related_positions = list(inner["select_fields"])
            related = (
                self.related,
                inner["model"],
                [columns[i].target.attname for i in related_positions],
                related_positions,
            )
        return _Compiled(
            sql=sql,
            attnames=[columns[i].target.attname for i in positions],
            positions=positions,
            converters=compiler.get_converters(columns),
            related=related,
            key_range=connection.ops.integer_field_ranges.get(self.key_field.get_internal_type()),
        )

    def get(self, key: Any) -> M | None:
        if key is None:
            return None
        connection = connections[self.using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compiled[connection] = self._compile(connection)
        try:
            value = self.key_field.get_db_prep_value(self.key_field.to_python(key), connection, prepared=False)
        except (ValidationError, TypeError, ValueError):  # a malformed key finds no row, as .get() would not
            return None
        if compiled.key_range is not None and not _within(value, compiled.key_range):
            return None  # beyond the column's range: no row has it (and the driver would raise)
        with connection.cursor() as cursor:
            if self.prepared_as is None:
                cursor.execute(compiled.sql, [value])
            else:
                self._statement(compiled.sql).execute(cursor, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for position, (converters, expression) in compiled.converters.items():
            for convert in converters:
                values[position] = convert(values[position], expression, connection)
        instance: M = self.model.from_db(self.using, compiled.attnames, [values[i] for i in compiled.positions])
        if compiled.related is not None:
            name, model, attnames, positions = compiled.related
            row_values = [values[i] for i in positions]
            pk_at = attnames.index(model._meta.pk.attname)
            other = None if row_values[pk_at] is None else model.from_db(self.using, attnames, row_values)
            instance._state.fields_cache[name] = other  # as select_related leaves it
        return instance

    def _statement(self, sql: str) -> PreparedStatement:
        statement = self._statements.get(sql)
        if statement is None:
            with _statements_lock:
                statement = self._statements.get(sql)
                if statement is None:
                    name = f"{self.prepared_as}_{len(self._statements)}" if self._statements else str(self.prepared_as)
                    statement = self._statements[sql] = PreparedStatement(name, sql)
        return statement


def _within(value: Any, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    return (low is None or value >= low) and (high is None or value <= high)


def _probe(field: models.Field) -> Any:
    """A key of the field's type to compile with; only its placeholder reaches the SQL."""
    if isinstance(field, models.UUIDField):
        return uuid.UUID(int=0)
    if isinstance(field, models.CharField | models.TextField):
        return "probe"
    return 0
