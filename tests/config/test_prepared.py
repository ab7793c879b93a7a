"""config/prepared.py: statements PostgreSQL prepares once per connection (issue 16).

On PostgreSQL (CI's second pass) the statement runs as EXECUTE after one PREPARE per
connection, survives a rolled-back transaction, is prepared again on a new connection, and
gives the rows the plain SQL gives; elsewhere, or switched off, the plain SQL runs."""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from config.prepared import PreparedStatement, _numbered

pytestmark = pytest.mark.django_db


def _unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_placeholders_are_numbered_and_percent_signs_kept():
    assert _numbered("SELECT %s, %s WHERE a LIKE 'x%%'") == ("SELECT $1, $2 WHERE a LIKE 'x%'", 2)


@pytest.mark.parametrize("name", ["Upper", "has space", "1abc", "x" * 64, "drop;table"])
def test_a_name_must_be_a_plain_identifier(name):
    with pytest.raises(ValueError, match="identifier"):
        PreparedStatement(name, "SELECT 1")


def test_a_name_is_used_once():
    name = _unique("t_once")
    PreparedStatement(name, "SELECT 1")
    with pytest.raises(ValueError, match="exists already"):
        PreparedStatement(name, "SELECT 2")


def _run(statement, params):
    with CaptureQueriesContext(connection) as queries, connection.cursor() as cursor:
        statement.execute(cursor, params)
        rows = cursor.fetchall()
    return rows, [q["sql"] for q in queries]


def test_it_gives_what_the_plain_statement_gives(participant):
    statement = PreparedStatement(_unique("t_user"), "SELECT username, is_active FROM accounts_user WHERE id = %s")
    rows, _ = _run(statement, [participant.pk])
    assert rows == [(participant.username, True)]
    assert _run(statement, [participant.pk + 1000])[0] == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (CI's second pass)")
def test_on_postgresql_it_is_prepared_once_per_connection(participant):
    statement = PreparedStatement(_unique("t_pg"), "SELECT id FROM accounts_user WHERE id = %s")
    _, first = _run(statement, [participant.pk])
    _, second = _run(statement, [participant.pk])
    assert first[0].startswith("PREPARE") and first[1].startswith("EXECUTE") and len(first) == 2
    assert len(second) == 1 and second[0].startswith("EXECUTE")
    with pytest.raises(RuntimeError), transaction.atomic():  # a rolled-back transaction keeps it
        _run(statement, [participant.pk])
        raise RuntimeError
    assert _run(statement, [participant.pk])[0] == [(participant.pk,)]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (CI's second pass)")
def test_switched_off_it_runs_the_plain_sql(participant, settings):
    settings.ATTUNE_DB_PREPARED_STATEMENTS = False
    statement = PreparedStatement(_unique("t_off"), "SELECT id FROM accounts_user WHERE id = %s")
    rows, sql = _run(statement, [participant.pk])
    assert rows == [(participant.pk,)] and len(sql) == 1 and sql[0].startswith("SELECT")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL only (CI's second pass)")
def test_the_wrong_number_of_parameters_is_an_error(participant):
    statement = PreparedStatement(_unique("t_params"), "SELECT id FROM accounts_user WHERE id = %s")
    with pytest.raises(ValueError, match="1 parameters expected, 2 given"), connection.cursor() as cursor:
        statement.execute(cursor, [1, 2])


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the other databases")
def test_elsewhere_the_plain_sql_runs(participant):
    statement = PreparedStatement(_unique("t_sqlite"), "SELECT id FROM accounts_user WHERE id = %s")
    rows, sql = _run(statement, [participant.pk])
    assert rows == [(participant.pk,)] and sql[0].startswith("SELECT")
