"""omni.sql: prepared statements and the ORM-free INSERT of the checkout's rows. Those
are PostgreSQL features (elsewhere the statements run as they are, and placement tests cover
that path), so most tests here are marked `postgres`."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from omni import sql
from omni.models import Channel
from orders.models import Order, TimelineEvent

pytestmark = pytest.mark.django_db


def _rows(statement, params):
    with connection.cursor() as cursor:
        sql.execute_prepared(cursor, statement, params)
        return cursor.fetchall()


def _draw_order_id() -> int:
    """An order id drawn from its sequence, as placement does before inserting."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('orders_order', 'id'))")
        return cursor.fetchone()[0]


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, sequences, writable CTEs
def test_a_statement_is_prepared_once_per_session_and_answers_as_run_directly():
    statement = "SELECT %s::integer + %s, %s::text || 'x', '100%%'"
    with CaptureQueriesContext(connection) as queries:
        first = _rows(statement, [1, 2, "a"])
        second = _rows(statement, [40, 2, "b"])
    assert first == [(3, "ax", "100%")]
    assert second == [(42, "bx", "100%")]
    # Both runs execute the one statement prepared on the session (the PREPARE is set-up on
    # the raw connection, not one of the queries).
    assert [q["sql"].split(" (")[0] for q in queries.captured_queries] == [
        sql._prepared[connection.connection][statement].split(" (")[0]
    ] * 2


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, sequences, writable CTEs
def test_a_session_keeps_its_most_recently_used_prepared_statements(monkeypatch):
    monkeypatch.setattr(sql, "_MAX_PREPARED", 3)
    hot = "SELECT 100 + %s"
    for n in range(7):
        assert _rows(hot, [n]) == [(100 + n,)]
        assert _rows(f"SELECT {n} + %s", [1]) == [(n + 1,)]

    def prepared_on_server() -> set[str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements")
            return {name for (name,) in cursor.fetchall()}

    kept = sql._prepared[connection.connection]
    assert list(kept) == ["SELECT 5 + %s", hot, "SELECT 6 + %s"]
    assert {text.split()[1] for text in kept.values()} == prepared_on_server()
    assert _rows("SELECT 0 + %s", [5]) == [(5,)]  # deallocated, prepared again
    assert hot in sql._prepared[connection.connection]  # the hot one stays


@pytest.mark.postgres  # PostgreSQL-only: PREPARE
def test_fetch_prepared_is_counted_when_watched_and_raises_djangos_errors_either_way():
    statement = "SELECT %s::integer * 2"
    db = connections["default"]
    db.ensure_connection()
    assert not db.queries_logged
    assert sql.fetch_prepared(db, statement, [4]) == [(8,)]  # unwatched: the plain cursor
    with CaptureQueriesContext(connection) as queries:
        assert sql.fetch_prepared(db, statement, [5]) == [(10,)]
    assert len(queries.captured_queries) == 1
    failing = "INSERT INTO omni_channel (code) VALUES (%s)"  # NOT NULL columns left out
    for watch in (False, True):
        with transaction.atomic():
            if watch:
                with CaptureQueriesContext(connection), pytest.raises(IntegrityError):
                    sql.fetch_prepared(db, failing, ["x"])
            else:
                with pytest.raises(IntegrityError):
                    sql.fetch_prepared(db, failing, ["x"])
            transaction.set_rollback(True)


@pytest.mark.postgres  # PostgreSQL-only: PREPARE
def test_fetch_prepared_lets_a_due_health_check_run_first(monkeypatch):
    db = connections["default"]
    db.ensure_connection()
    monkeypatch.setattr(db, "health_check_enabled", True)
    monkeypatch.setattr(db, "health_check_done", False)
    assert sql.fetch_prepared(db, "SELECT %s::integer", [7]) == [(7,)]
    assert db.health_check_done  # went through Django's cursor, which checks first


def test_insert_models_writes_what_the_orm_reads_back(make_channel):
    channel = make_channel("sql-web")
    order = Order(
        channel=channel,
        number="SQL-1",
        customer_email="ada@example.com",
        shipping_address={"city": "Paris", "lines": ["1 rue"]},
        subtotal=Decimal("10.500"),
        total=Decimal("10.500"),
    )
    sql.insert_models([order])
    assert order.pk is not None and not order._state.adding
    assert order.created_at is not None  # auto_now_add stamped on the instance
    stored = Order.objects.get(pk=order.pk)
    assert (stored.number, stored.channel_id, stored.shipping_address, stored.total) == (
        "SQL-1",
        channel.pk,
        {"city": "Paris", "lines": ["1 rue"]},
        Decimal("10.500"),
    )
    assert (stored.created_at, stored.status, stored.quote) == (order.created_at, "pending", {})

    events = [TimelineEvent(order=order, kind=k, data={"k": k}) for k in ("a", "b", "c")]
    sql.insert_models(events)
    by_pk = {e.pk: e.kind for e in TimelineEvent.objects.filter(order=order)}
    assert by_pk == {e.pk: e.kind for e in events}  # each instance got its own row's id


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, sequences, writable CTEs
def test_insert_models_keeps_a_given_primary_key(make_channel):
    channel = make_channel("sql-pk")
    pk = _draw_order_id()
    order = Order(pk=pk, channel=channel, number=f"SQL-{pk}")
    sql.insert_models([order])
    assert Order.objects.get(number=f"SQL-{pk}").pk == pk


def test_insert_models_refuses_a_mix_of_given_and_drawn_keys(make_channel):
    channel = make_channel("sql-mix")
    with pytest.raises(ValueError):
        sql.insert_models([Order(pk=10**9, channel=channel), Order(channel=channel)])
    assert not Channel.objects.get(pk=channel.pk).orders.exists()


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, sequences, writable CTEs
def test_insert_models_together_writes_several_models_in_one_statement(make_channel):
    channel = make_channel("sql-together")
    pk = _draw_order_id()
    order = Order(pk=pk, channel=channel, number=f"SQL-{pk}", total=Decimal("3.000"))
    events = [TimelineEvent(order=order, kind=k, data={"k": k}) for k in ("a", "b", "c")]
    more = [TimelineEvent(order=order, kind="d")]
    with CaptureQueriesContext(connection) as queries:
        sql.insert_models_together([[order], [], events, more])
    assert len(queries.captured_queries) == 1
    assert Order.objects.get(pk=pk).total == Decimal("3.000")
    assert not order._state.adding and all(not e._state.adding for e in events + more)
    by_pk = {e.pk: e.kind for e in TimelineEvent.objects.filter(order=order)}
    assert by_pk == {e.pk: e.kind for e in events + more}  # each instance got its own row's id
    assert sorted(by_pk) == [e.pk for e in events + more]


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, sequences, writable CTEs
def test_insert_models_together_refuses_the_whole_statement_on_a_violation(make_channel):
    channel = make_channel("sql-together-dup")
    Order.objects.create(channel=channel, number="SQL-DUP", external_id="x")
    pk = _draw_order_id()
    twin = Order(pk=pk, channel=channel, number="SQL-DUP-2", external_id="x")
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert_models_together([[twin], [TimelineEvent(order=twin, kind="placed")]])
    assert not TimelineEvent.objects.filter(order_id=pk).exists()


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, sequences, writable CTEs
def test_insert_models_together_runs_a_further_statement_in_the_same_round_trip(make_channel):
    channel = make_channel("sql-then")
    order = Order.objects.create(channel=channel, number="SQL-THEN")
    events = [TimelineEvent(order=order, kind="placed")]
    with CaptureQueriesContext(connection) as queries:
        sql.insert_models_together(
            [events],
            then=("UPDATE orders_order SET note = %s WHERE id = %s", ["noted", order.pk]),
        )
    assert len(queries.captured_queries) == 1
    assert Order.objects.get(pk=order.pk).note == "noted"
    assert list(TimelineEvent.objects.filter(order=order).values_list("pk", flat=True)) == [
        events[0].pk
    ]
    # Nothing to insert: the statement alone.
    sql.insert_models_together(
        [[]], then=("UPDATE orders_order SET note = '' WHERE id = %s", [order.pk])
    )
    assert Order.objects.get(pk=order.pk).note == ""


@pytest.mark.postgres  # PostgreSQL-only: PREPARE, pg_terminate_backend
@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_before_the_prepare_raises_djangos_error():
    """A server restart between two statements: the PREPARE of the next one fails, and the
    caller gets Django's OperationalError (the API answers it with 503), not psycopg2's."""
    import psycopg2
    from django.db import OperationalError

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    params = connection.get_connection_params()
    killer = psycopg2.connect(**params)
    try:
        with killer.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        killer.close()
    try:
        with pytest.raises(OperationalError):
            _rows("SELECT 41 + %s", [1])
    finally:
        connection.close()
    assert _rows("SELECT 41 + %s", [1]) == [(42,)]  # a new session prepares it again
