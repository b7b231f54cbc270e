"""Prepared statements for the plain SQL that every checkout runs (PostgreSQL sessions)."""

import functools
import hashlib
import re
import weakref
from collections.abc import Sequence

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

# Statements prepared on each PostgreSQL session: {raw connection: {sql: EXECUTE text}}.
_prepared: "weakref.WeakKeyDictionary[object, dict[str, str]]" = weakref.WeakKeyDictionary()
_MAX_PREPARED = 100
_PLACEHOLDER = re.compile(r"%s|%%")


def execute_prepared(cursor, statement: str, params: Sequence) -> None:
    """Run `statement` (a Django cursor's "%s" SQL) with `params`, on PostgreSQL as a prepared
    statement of the session.

    Planning a join costs several times running it (the sku listing read of every checkout
    plans in about a millisecond of CPU and runs in a tenth of that); a prepared statement is
    planned a few times, then its generic plan is reused. Statements are keyed by their text,
    which must depend only on the shape of the call (how many keys or rows), never on values:
    those are always parameters. The PREPARE goes through the raw connection (it is set-up, not
    one of the caller's queries) and, not being transactional, survives a rollback. A session
    keeps the `_MAX_PREPARED` most recently used. Elsewhere the statement runs as is.
    A PostgreSQL-only statement may number its parameters itself ($1, $2, ...), so that a value
    used several times is passed once.
    The connection is the cursor's own (`cursor.db`), not the `connection` proxy, and the
    EXECUTE text is kept with the name: checkouts run this while stock rows are locked, where
    every microsecond of Python counts."""
    db = cursor.db
    if db.vendor != "postgresql":
        cursor.execute(statement, params)
        return
    cursor.execute(_execute_text(db, statement, params), params)


def fetch_prepared(db, statement: str, params: Sequence) -> list[tuple]:
    """`execute_prepared` on a cursor of connection `db` (a `connections[alias]` object, not
    the proxy), returning every row.

    For the statements that run while stock rows are locked. When nothing watches the queries
    (no debug cursor, as under `CaptureQueriesContext` or with DEBUG on, and no
    `execute_wrapper`) and the connection is open (and, with CONN_HEALTH_CHECKS, checked since
    the request began), the statement runs on the backend's own cursor (`create_cursor`) with
    what Django's cursor wrapper does around it (the broken-transaction check and the
    translation of database errors), not through the wrapper's layers of calls; otherwise
    through a Django cursor, so that it is logged, counted and checked like any other query."""
    raw = db.connection
    if (
        raw is None
        or (db.health_check_enabled and not db.health_check_done)
        or db.queries_logged
        or db.execute_wrappers
        or db.vendor != "postgresql"
    ):
        with db.cursor() as cursor:
            execute_prepared(cursor, statement, params)
            return cursor.fetchall()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors, db.create_cursor() as cursor:
        cursor.execute(_execute_text(db, statement, params), params)
        return cursor.fetchall()


def _execute_text(db, statement: str, params: Sequence) -> str:
    """The EXECUTE text for `statement` on connection `db`, preparing it first if this session
    has not yet. The PREPARE and DEALLOCATE go through the raw connection, their errors
    translated into Django's as any query's are (a server restart between two statements
    must reach the caller as `django.db.OperationalError`, which the API answers with 503)."""
    raw = db.connection
    names = _prepared.get(raw)
    if names is None:
        names = _prepared[raw] = {}
    execute = names.pop(statement, None)
    if execute is not None:
        names[statement] = execute  # the most recently used last
        return execute
    while len(names) >= _MAX_PREPARED:
        # The least recently used goes: a burst of new shapes (storefront filter
        # combinations, say) costs the checkout's own statements nothing.
        least = next(iter(names))
        with db.wrap_database_errors, raw.cursor() as setup:
            setup.execute(f"DEALLOCATE {names.pop(least).split()[1]}")
    counter = iter(range(1, len(params) + 1))
    text = _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(counter)}", statement)
    name = "omni_" + hashlib.sha1(statement.encode()).hexdigest()[:24]
    with db.wrap_database_errors, raw.cursor() as setup:
        setup.execute(f"PREPARE {name} AS {text}")
    marks = ", ".join(["%s"] * len(params))
    execute = names[statement] = f"EXECUTE {name} ({marks})" if params else f"EXECUTE {name}"
    return execute


def insert_models(objs: Sequence[Model]) -> None:
    """INSERT unsaved instances of one model in one prepared statement, as `bulk_create` would
    (defaults already on the instances, `auto_now(_add)` stamped by the fields' `pre_save`,
    values converted by `get_db_prep_save`), setting the primary keys the database returns.

    For the few inserts every checkout makes: the ORM's SQL compilation of an INSERT cost more
    CPU than the database spent running it. Every instance must have a primary key or none
    does (then the database draws them). No signals are sent (as with `bulk_create`)."""
    insert_models_together([objs])


def insert_models_together(
    groups: Sequence[Sequence[Model]], *, then: tuple[str, Sequence] | None = None
) -> None:
    """`insert_models` for several groups (each: instances of one model) in one statement on
    PostgreSQL: one data-modifying CTE per group, so a checkout's order, key, lines and events
    cost one round trip. A group may reference an earlier group's rows only through primary
    keys already on the instances (foreign keys are checked at commit, being deferred).
    `then` (an UPDATE or DELETE and its parameters, returning nothing) runs in the same
    statement, as one more CTE: it sees the table as it was before the statement, not the rows
    the groups insert.
    Elsewhere the groups are inserted one after the other, in order, each instance's foreign
    keys taken from the related instances saved just before, and `then` runs last."""
    groups = [group for group in groups if group]
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and (len(groups) > 1 or (groups and then is not None)):
        _insert_in_one_statement(db, groups, then)
        return
    for position, group in enumerate(groups):
        if position:
            for obj in group:
                obj._prepare_related_fields_for_save(operation_name="insert_models")
        meta, fields, with_pk = _shape(group)
        statement = _insert_statement(
            meta.db_table, tuple(f.column for f in fields), meta.pk.column, len(group)
        )
        with db.cursor() as cursor:
            execute_prepared(cursor, statement, _values(group, fields, db))
            _set_keys(group, with_pk, meta, [value for (value,) in cursor.fetchall()], db)
    if then is not None:
        with db.cursor() as cursor:
            execute_prepared(cursor, *then)


def _insert_in_one_statement(db, groups, then) -> None:
    shapes = [_shape(group) for group in groups]
    statement = _together_statement(
        tuple(
            (meta.db_table, tuple(f.column for f in fields), meta.pk.column, len(group))
            for group, (meta, fields, _) in zip(groups, shapes, strict=True)
        ),
        then[0] if then is not None else None,
    )
    params = [
        value
        for group, (_, fields, _) in zip(groups, shapes, strict=True)
        for value in _values(group, fields, db)
    ]
    if then is not None:
        params += then[1]
    with db.cursor() as cursor:
        execute_prepared(cursor, statement, params)
        returned = cursor.fetchall()
    keys: list[list] = [[] for _ in groups]
    for index, value in returned:
        keys[index].append(value)
    for group, (meta, _, with_pk), group_keys in zip(groups, shapes, keys, strict=True):
        _set_keys(group, with_pk, meta, group_keys, db)


def _shape(objs: Sequence[Model]) -> tuple:
    meta = objs[0]._meta
    pk = meta.pk
    with_pk = objs[0].pk is not None
    if any((obj.pk is not None) != with_pk or obj._meta is not meta for obj in objs):
        raise ValueError("insert_models: instances of one model, all with a pk or none.")
    return meta, [f for f in meta.concrete_fields if with_pk or f is not pk], with_pk


def _values(objs: Sequence[Model], fields: list, db) -> list:
    # The connection itself, not the proxy: each field reads it several times while converting.
    return [f.get_db_prep_save(f.pre_save(obj, True), db) for obj in objs for f in fields]


def _set_keys(objs: Sequence[Model], with_pk: bool, meta, keys: list, db) -> None:
    for obj, value in zip(objs, keys, strict=True):
        if not with_pk:
            setattr(obj, meta.pk.attname, value)
        obj._state.adding = False
        obj._state.db = db.alias


@functools.lru_cache(maxsize=64)
def _together_statement(
    inserts: tuple[tuple[str, tuple[str, ...], str, int], ...], then: str | None
) -> str:
    """WITH i0 AS (INSERT ... RETURNING pk), i1 AS (...) SELECT 0, pk FROM i0 UNION ALL ...:
    each group's keys come back tagged with its index, in the order of its VALUES rows."""
    quote = connection.ops.quote_name
    ctes = ", ".join(
        f"i{index} AS ({_insert_statement(*insert)})" for index, insert in enumerate(inserts)
    )
    if then is not None:
        ctes += f", also AS ({then})"
    selects = " UNION ALL ".join(
        f"SELECT {index}, {quote(returning)} FROM i{index}"
        for index, (_, _, returning, _) in enumerate(inserts)
    )
    return f"WITH {ctes} {selects}"


@functools.lru_cache(maxsize=64)
def _insert_statement(table: str, columns: tuple[str, ...], returning: str, count: int) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES {', '.join([row] * count)} RETURNING {quote(returning)}"
    )
