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
    keeps at most `_MAX_PREPARED` of them. Elsewhere the statement runs as is.
    A PostgreSQL-only statement may number its parameters itself ($1, $2, ...), so that a value
    used several times is passed once.
    The connection is the cursor's own (`cursor.db`), not the `connection` proxy, and the
    EXECUTE text is kept with the name: checkouts run this while stock rows are locked, where
    every microsecond of Python counts."""
    db = cursor.db
    if db.vendor != "postgresql":
        cursor.execute(statement, params)
        return
    raw = db.connection
    names = _prepared.get(raw)
    if names is None:
        names = _prepared[raw] = {}
    execute = names.get(statement)
    if execute is None:
        if len(names) >= _MAX_PREPARED:
            with raw.cursor() as setup:
                setup.execute("DEALLOCATE ALL")
            names.clear()
        counter = iter(range(1, len(params) + 1))
        text = _PLACEHOLDER.sub(
            lambda m: "%" if m.group() == "%%" else f"${next(counter)}", statement
        )
        name = "omni_" + hashlib.sha1(statement.encode()).hexdigest()[:24]
        with raw.cursor() as setup:
            setup.execute(f"PREPARE {name} AS {text}")
        marks = ", ".join(["%s"] * len(params))
        execute = names[statement] = f"EXECUTE {name} ({marks})" if params else f"EXECUTE {name}"
    cursor.execute(execute, params)


def insert_models(objs: Sequence[Model]) -> None:
    """INSERT unsaved instances of one model in one prepared statement, as `bulk_create` would
    (defaults already on the instances, `auto_now(_add)` stamped by the fields' `pre_save`,
    values converted by `get_db_prep_save`), setting the primary keys the database returns.

    For the few inserts every checkout makes: the ORM's SQL compilation of an INSERT cost more
    CPU than the database spent running it. Every instance must have a primary key or none
    does (then the database draws them). No signals are sent (as with `bulk_create`)."""
    if not objs:
        return
    meta = objs[0]._meta
    pk = meta.pk
    with_pk = objs[0].pk is not None
    if any((obj.pk is not None) != with_pk or obj._meta is not meta for obj in objs):
        raise ValueError("insert_models: instances of one model, all with a pk or none.")
    fields = [f for f in meta.concrete_fields if with_pk or f is not pk]
    statement = _insert_statement(
        meta.db_table, tuple(f.column for f in fields), pk.column, len(objs)
    )
    # The connection itself, not the proxy: each field reads it several times while converting.
    db = connections[DEFAULT_DB_ALIAS]
    params = [f.get_db_prep_save(f.pre_save(obj, True), db) for obj in objs for f in fields]
    with db.cursor() as cursor:
        execute_prepared(cursor, statement, params)
        returned = cursor.fetchall()
    for obj, (value,) in zip(objs, returned, strict=True):
        if not with_pk:
            setattr(obj, pk.attname, value)
        obj._state.adding = False
        obj._state.db = db.alias


@functools.lru_cache(maxsize=64)
def _insert_statement(table: str, columns: tuple[str, ...], returning: str, count: int) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES {', '.join([row] * count)} RETURNING {quote(returning)}"
    )
