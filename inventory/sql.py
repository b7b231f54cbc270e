"""Hand-written SQL for the statements every checkout runs: locking stock rows, moving their
counters, inserting reservations and ledger rows.

Why not the ORM here: under contention a stock row stays locked from the locking SELECT to the
COMMIT, so every millisecond of Python spent compiling querysets inside that window is a
millisecond every other checkout of the SKU waits. These statements are plain SQL that both
PostgreSQL and SQLite (>= 3.35, for RETURNING) accept; values are always parameters, table and
column names come from model metadata. On PostgreSQL the checkout path (`reserve_in_one_statement`,
`commit_in_one_statement`) is one statement per service call, built from writable CTEs, and
runs as a prepared statement of the session (`omni.sql.fetch_prepared`: planning these CTE
statements costs several times running them); the other statements are the portable path used
elsewhere and for the general cases.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone

from catalog.models import Variant
from inventory.models import ChannelLocation, Reservation, Stock, StockLocation, StockMovement
from omni.sql import execute_prepared, fetch_prepared

STOCK = Stock._meta.db_table
RESERVATION = Reservation._meta.db_table
MOVEMENT = StockMovement._meta.db_table


@dataclass
class LockedStock:
    """A stock row read under its row lock (the figures are current until the commit)."""

    pk: int
    variant_id: int
    location_id: int
    on_hand: int
    reserved: int
    incoming: int
    sku: str

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _marks(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _now(db=None) -> tuple[datetime, object]:
    now = timezone.now()
    return now, (db or connection).ops.adapt_datetimefield_value(now)


def lock_stocks(
    *,
    stock_ids: Iterable[int] | None = None,
    pairs: Iterable[tuple[int, int]] | None = None,
    variant_ids: Iterable[int] | None = None,
    channel_id: int | None = None,
) -> list[LockedStock]:
    """Lock, in primary-key order, the stock rows matching every given filter: ids, exact
    (variant_id, location_id) pairs, variants, and/or the active locations of a channel.
    One statement; PostgreSQL takes the row locks in the order the ORDER BY emits them."""
    where, params = [], []
    if stock_ids is not None:
        ids = sorted(set(stock_ids))
        if not ids:
            return []
        where.append(f"s.id IN ({_marks(ids)})")
        params += ids
    if variant_ids is not None:
        ids = sorted(set(variant_ids))
        if not ids:
            return []
        where.append(f"s.variant_id IN ({_marks(ids)})")
        params += ids
    if pairs is not None:
        pairs = sorted(set(pairs))
        if not pairs:
            return []
        where.append(
            "(" + " OR ".join(["(s.variant_id = %s AND s.location_id = %s)"] * len(pairs)) + ")"
        )
        params += [value for pair in pairs for value in pair]
    joins = f"JOIN {Variant._meta.db_table} v ON v.id = s.variant_id"
    if channel_id is not None:
        joins += f" JOIN {StockLocation._meta.db_table} l ON l.id = s.location_id"
        where.append(
            f"l.active = %s AND s.location_id IN (SELECT cl.location_id FROM "
            f"{ChannelLocation._meta.db_table} cl WHERE cl.channel_id = %s)"
        )
        params += [True, channel_id]
    lock = _lock_clause()
    sql = (
        f"SELECT s.id, s.variant_id, s.location_id, s.on_hand, s.reserved, s.incoming, v.sku "
        f"FROM {STOCK} s {joins} WHERE {' AND '.join(where)} ORDER BY s.id{lock}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [LockedStock(*row) for row in cursor.fetchall()]


def move_counters(
    *,
    on_hand: dict[int, int] | None = None,
    reserved: dict[int, int] | None = None,
    incoming: dict[int, int] | None = None,
) -> None:
    """Move the counters of (locked) stock rows by per-row deltas in one UPDATE."""
    sets, params, ids = [], [], set()
    for column, deltas in (("on_hand", on_hand), ("reserved", reserved), ("incoming", incoming)):
        deltas = {pk: d for pk, d in (deltas or {}).items() if d}
        if not deltas:
            continue
        case, case_params = _case_by_id(deltas)
        sets.append(f"{column} = {column} + {case}")
        params += case_params
        ids |= deltas.keys()
    if not ids:
        return
    ordered = sorted(ids)
    sql = f"UPDATE {STOCK} SET updated_at = %s, {', '.join(sets)} WHERE id IN ({_marks(ordered)})"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_now()[1], *params, *ordered])


def combines_statements() -> bool:
    """Whether data-modifying CTEs let two writes share one round trip (PostgreSQL)."""
    return connection.vendor == "postgresql"


def insert_reservations(
    reservations: Sequence[Reservation], *, with_statement: tuple[str, list] | None = None
) -> list[Reservation]:
    """Insert unsaved reservations in one statement; sets their pk and created_at.
    `with_statement` (PostgreSQL only) is another write run in the same statement as a CTE."""
    if not reservations:
        return []
    now, stamp = _now()
    columns = "stock_id, quantity, reference, expires_at, created_at, kind, channel_id"
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(reservations))
    params = []
    for r in reservations:
        expires = connection.ops.adapt_datetimefield_value(r.expires_at) if r.expires_at else None
        params += [r.stock_id, r.quantity, r.reference, expires, stamp, r.kind, r.channel_id]
    statement = f"INSERT INTO {RESERVATION} ({columns}) VALUES {rows} RETURNING id"
    if with_statement is not None:
        statement = f"WITH other_write AS ({with_statement[0]}) {statement}"
        params = [*with_statement[1], *params]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        ids = [row[0] for row in cursor.fetchall()]
    return _saved(reservations, ids, now)


def insert_movements(
    movements: Sequence[StockMovement],
    *,
    delete_reservation_ids: Iterable[int] = (),
    shrink_reservations_by: dict[int, int] | None = None,
) -> list[StockMovement]:
    """Insert unsaved ledger rows in one statement; sets their pk and created_at. On
    PostgreSQL the given reservations are deleted / shrunk in the same statement."""
    if not movements:
        return []
    deletes = sorted(set(delete_reservation_ids))
    shrinks = shrink_reservations_by or {}
    if not combines_statements():
        delete_reservations(deletes)
        shrink_reservations(shrinks)
        deletes, shrinks = [], {}
    now, stamp = _now()
    columns = "stock_id, reason, quantity, reference, note, user_id, created_at"
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(movements))
    params = []
    for m in movements:
        params += [m.stock_id, m.reason, m.quantity, m.reference, m.note, m.user_id, stamp]
    statement = f"INSERT INTO {MOVEMENT} ({columns}) VALUES {rows} RETURNING id"
    ctes, cte_params = [], []
    if deletes:
        ctes.append(f"gone AS (DELETE FROM {RESERVATION} WHERE id IN ({_marks(deletes)}))")
        cte_params += deletes
    if shrinks:
        sql, shrink_params = _shrink_sql(shrinks)
        ctes.append(f"shrunk AS ({sql})")
        cte_params += shrink_params
    if ctes:
        statement = f"WITH {', '.join(ctes)} {statement}"
        params = [*cte_params, *params]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        ids = [row[0] for row in cursor.fetchall()]
    return _saved(movements, ids, now)


def _saved(rows: Sequence, ids: list[int], now: datetime) -> list:
    """The inserted model instances, given the ids and the creation time the INSERT wrote
    (ids follow the insertion order once sorted), as the ORM would have left them."""
    for row, pk in zip(rows, sorted(ids), strict=True):
        row.pk = pk
        row.created_at = now
        row._state.adding = False
        row._state.db = connection.alias
    return list(rows)


def read_reservations(ids: Iterable[int]) -> dict[int, tuple[int, int]]:
    """(stock_id, quantity) per live reservation id."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, stock_id, quantity FROM {RESERVATION} WHERE id IN ({_marks(ids)})", ids
        )
        return {pk: (stock_id, quantity) for pk, stock_id, quantity in cursor.fetchall()}


def delete_reservations(ids: Iterable[int]) -> None:
    ids = sorted(set(ids))
    if ids:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {RESERVATION} WHERE id IN ({_marks(ids)})", ids)


def _case_by_id(amounts: dict[int, int]) -> tuple[str, list]:
    """`CASE id WHEN <pk> THEN <amount> ... ELSE 0 END` over `amounts`, and its parameters."""
    whens = " ".join(["WHEN %s THEN %s"] * len(amounts))
    return f"CASE id {whens} ELSE 0 END", [value for pk, q in amounts.items() for value in (pk, q)]


def _shrink_sql(amounts: dict[int, int]) -> tuple[str, list]:
    case, params = _case_by_id(amounts)
    ids = sorted(amounts)
    sql = f"UPDATE {RESERVATION} SET quantity = quantity - {case} WHERE id IN ({_marks(ids)})"
    return sql, [*params, *ids]


def shrink_reservations(amounts: dict[int, int]) -> None:
    """Reduce reservations by the given quantities in one UPDATE."""
    if not amounts:
        return
    sql, params = _shrink_sql(amounts)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _lock_clause() -> str:
    # NO KEY UPDATE: enough to serialise counter changes, and it does not block other
    # transactions' foreign-key checks (KEY SHARE) on rows that reference the stock row.
    return " FOR NO KEY UPDATE OF s" if connection.features.has_select_for_update_of else ""


def reserve_where_available(
    *, channel_id: int, wanted: dict[tuple[int, int], int]
) -> list[tuple[int, int, int]]:
    """Reserve in one statement: lock the wanted (variant, location) rows at the channel's
    active locations in pk order (sub-select), then raise `reserved` on each row that has the
    units available. Returns (id, variant_id, location_id) of the rows reserved; fewer rows
    than wanted means some were short (the caller undoes the others)."""
    pairs = sorted(wanted)
    match = " ".join(["WHEN variant_id = %s AND location_id = %s THEN %s"] * len(pairs))
    match_params = [value for key in pairs for value in (*key, wanted[key])]
    rows = " OR ".join(["(s.variant_id = %s AND s.location_id = %s)"] * len(pairs))
    sql = (
        f"UPDATE {STOCK} SET updated_at = %s, reserved = reserved + CASE {match} ELSE 0 END "
        f"WHERE id IN (SELECT s.id FROM {STOCK} s "
        f"JOIN {StockLocation._meta.db_table} l ON l.id = s.location_id "
        f"WHERE l.active = %s AND s.location_id IN (SELECT cl.location_id FROM "
        f"{ChannelLocation._meta.db_table} cl WHERE cl.channel_id = %s) AND ({rows}) "
        f"ORDER BY s.id{_lock_clause()}) "
        f"AND on_hand - reserved >= CASE {match} ELSE 0 END "
        f"RETURNING id, variant_id, location_id"
    )
    params = [
        _now()[1],
        *match_params,
        True,
        channel_id,
        *[value for key in pairs for value in key],
        *match_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [tuple(row) for row in cursor.fetchall()]


def take_reserved(leaving: dict[int, int]) -> list[int]:
    """Goods leave: lock the stock rows in pk order (sub-select) and lower both `on_hand` and
    `reserved` by each row's quantity where that much is reserved. Returns the ids changed."""
    ids = sorted(leaving)
    case, case_params = _case_by_id({pk: leaving[pk] for pk in ids})
    sql = (
        f"UPDATE {STOCK} SET updated_at = %s, on_hand = on_hand - {case}, "
        f"reserved = reserved - {case} "
        f"WHERE id IN (SELECT s.id FROM {STOCK} s WHERE s.id IN ({_marks(ids)}) "
        f"ORDER BY s.id{_lock_clause()}) AND reserved >= {case} RETURNING id"
    )
    params = [_now()[1], *case_params, *case_params, *ids, *case_params]
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        return [row[0] for row in cursor.fetchall()]


def _typed_rows(count: int, width: int) -> str:
    """`count` VALUES rows of `width` integer parameters, typed so that the statement can be
    prepared (`omni.sql.execute_prepared`) before any value is known."""
    row = "(" + ", ".join(["%s::integer"] * width) + ")"
    return ", ".join([row] * count)


def reserve_in_one_statement(
    *,
    channel_id: int,
    requests: Sequence[tuple[int, int, int]],
    reference: str,
    expires_at: datetime | None,
    kind: str,
    outbox_sql: str,
) -> tuple[datetime, list[tuple[int, int, int, int, int]]] | None:
    """PostgreSQL, identity channel rule: the whole reservation in one statement, so a hot
    stock row stays locked for a single round trip of this call.

    `locked` takes the row locks of the wanted (variant, location) rows at the channel's active
    locations in pk order; under READ COMMITTED it returns their current figures (waiting for,
    then re-reading, rows another checkout held). `ok` checks every row for the summed
    quantity, so the UPDATE raises `reserved` on all rows or on none; then the reservations are
    inserted from what was updated, and `outbox_sql` (an INSERT without parameters reading the
    relation `upd`: (id, variant_id, location_id) of every row updated) runs on the same rows.
    `requests` are (variant_id, location_id, quantity). Returns the creation time and (id,
    stock_id, quantity, variant_id, location_id) per reservation in id order, or None when
    something was short or missing (nothing was written; the rows stay locked). A single
    request runs a lighter statement of the same effect (`_reserve_one_text`)."""
    db = connections[DEFAULT_DB_ALIAS]
    now, stamp = _now(db)
    expires = db.ops.adapt_datetimefield_value(expires_at) if expires_at else None
    if len(requests) == 1:
        ((variant_id, location_id, quantity),) = requests
        params = [stamp, quantity, variant_id, location_id, channel_id, reference, expires, kind]
        rows = fetch_prepared(db, _reserve_one_text(outbox_sql), params)
        return (now, rows) if rows else None
    totals: dict[tuple[int, int], int] = {}
    for variant_id, location_id, quantity in requests:
        totals[(variant_id, location_id)] = totals.get((variant_id, location_id), 0) + quantity
    params = [value for key in sorted(totals) for value in (*key, totals[key])]
    params += [value for i, request in enumerate(requests) for value in (i, *request)]
    params += [True, channel_id, len(totals), stamp, reference, expires, stamp, kind, channel_id]
    statement = _reserve_text(len(totals), len(requests), outbox_sql, _lock_clause())
    rows = fetch_prepared(db, statement, params)
    if len(rows) != len(requests):
        return None
    return now, rows


@functools.lru_cache(maxsize=8)
def _reserve_one_text(outbox_sql: str) -> str:
    """`reserve_in_one_statement` for a single request: one row, so no lock order to keep and
    no other row to check first. The conditional UPDATE locks the row itself (under READ
    COMMITTED it waits for a holder, then re-checks `available` on the current version), which
    spares the separate lock of the row and the joins the general statement needs to check
    several rows at once. The row is found by its unique (variant, location) key; the channel's
    active location is checked by an uncorrelated sub-select, run once before the row is
    touched (a re-check after a wait reads the row's new version against the same key and
    figures). PostgreSQL only, so its
    parameters are numbered, each value passed once: $1 time, $2 quantity, $3 variant, $4
    location, $5 channel, $6 reference, $7 expiry, $8 kind."""
    return f"""
        WITH upd AS (
            UPDATE {STOCK} st SET updated_at = $1::timestamptz, reserved = st.reserved + $2::integer
            WHERE st.variant_id = $3::bigint AND st.location_id = $4::bigint
              AND st.on_hand - st.reserved >= $2::integer
              AND EXISTS (
                SELECT 1 FROM {ChannelLocation._meta.db_table} cl
                JOIN {StockLocation._meta.db_table} l ON l.id = cl.location_id
                WHERE cl.channel_id = $5::bigint AND cl.location_id = $4::bigint AND l.active)
            RETURNING st.id, st.variant_id, st.location_id),
        res AS (
            INSERT INTO {RESERVATION}
                (stock_id, quantity, reference, expires_at, created_at, kind, channel_id)
            SELECT u.id, $2::integer, $6::text, $7::timestamptz, $1::timestamptz, $8::text,
                $5::bigint
            FROM upd u
            RETURNING id, stock_id, quantity),
        outbox AS ({outbox_sql})
        SELECT r.id, r.stock_id, r.quantity, u.variant_id, u.location_id
        FROM res r JOIN upd u ON u.id = r.stock_id
    """


@functools.lru_cache(maxsize=128)
def _reserve_text(keys: int, requests: int, outbox_sql: str, lock: str) -> str:
    """The text of `reserve_in_one_statement`, built once per shape of the call."""
    return f"""
        WITH tot (variant_id, location_id, q) AS (VALUES {_typed_rows(keys, 3)}),
        want (ord, variant_id, location_id, q) AS (VALUES {_typed_rows(requests, 4)}),
        locked AS MATERIALIZED (
            SELECT s.id, s.variant_id, s.location_id, s.on_hand, s.reserved FROM {STOCK} s
            JOIN {StockLocation._meta.db_table} l ON l.id = s.location_id
            WHERE l.active = %s AND s.location_id IN (SELECT cl.location_id FROM
                {ChannelLocation._meta.db_table} cl WHERE cl.channel_id = %s)
              AND (s.variant_id, s.location_id) IN (SELECT variant_id, location_id FROM tot)
            ORDER BY s.id{lock}),
        ok AS MATERIALIZED (
            SELECT COUNT(*) = %s AS ok FROM locked k
            JOIN tot t ON t.variant_id = k.variant_id AND t.location_id = k.location_id
            WHERE k.on_hand - k.reserved >= t.q),
        upd AS (
            UPDATE {STOCK} st SET updated_at = %s, reserved = st.reserved + t.q
            FROM locked k
            JOIN tot t ON t.variant_id = k.variant_id AND t.location_id = k.location_id
            WHERE st.id = k.id AND (SELECT ok FROM ok)
            RETURNING st.id, st.variant_id, st.location_id),
        res AS (
            INSERT INTO {RESERVATION}
                (stock_id, quantity, reference, expires_at, created_at, kind, channel_id)
            SELECT u.id, w.q, %s::text, %s::timestamptz, %s::timestamptz, %s::text, %s::integer
            FROM want w
            JOIN upd u ON u.variant_id = w.variant_id AND u.location_id = w.location_id
            ORDER BY w.ord
            RETURNING id, stock_id, quantity),
        outbox AS ({outbox_sql})
        SELECT r.id, r.stock_id, r.quantity, u.variant_id, u.location_id
        FROM res r JOIN upd u ON u.id = r.stock_id ORDER BY r.id
    """


def commit_in_one_statement(
    *,
    wanted: dict[int, int],
    stock_of: dict[int, int],
    movements: Sequence[tuple[int, int]],
    reason: str,
    reference: str,
    note: str = "",
    user_id: int | None = None,
) -> tuple[datetime, dict[int, tuple[int, int]], list[int]]:
    """PostgreSQL: commit reservations (id -> quantity, each expected on `stock_of[id]`) in one
    statement, so the stock rows stay locked for one round trip of this call.

    `locked` takes the stock rows' locks in pk order. Only then (the initplan gate reads every
    locked row first) `live` locks the reservations; under READ COMMITTED both return the current
    row versions even when another transaction changed them after this statement's snapshot.
    Every writer of a reservation holds its stock row's lock first, so this order cannot
    deadlock with them. `ok` requires every reservation still on its row with at least the
    quantity and every row to hold that many reserved; only then `on_hand` and `reserved` drop,
    the reservations are deleted or shrunk and the ledger rows inserted. `movements` are
    (stock_id, signed quantity) sharing reason, reference, note and user. Returns the creation
    time, the live reservations ((stock_id, quantity) per id, as before this statement) and the
    new movement ids in insertion order (empty when the check failed: nothing was written)."""
    ids = sorted(wanted)
    leaving: dict[int, int] = {}
    for pk in ids:
        leaving[stock_of[pk]] = leaving.get(stock_of[pk], 0) + wanted[pk]
    stock_ids = sorted(leaving)
    db = connections[DEFAULT_DB_ALIAS]
    now, stamp = _now(db)
    params = [value for pk in ids for value in (pk, stock_of[pk], wanted[pk])]
    params += [value for pk in stock_ids for value in (pk, leaving[pk])]
    params += [*stock_ids, *ids, len(ids), len(stock_ids)]
    params += [stamp, reason, reference, note, user_id, stamp]
    params += [value for i, (stock_id, q) in enumerate(movements) for value in (i, stock_id, q)]
    statement = _commit_text(len(ids), len(stock_ids), len(movements), _lock_clause())
    rows = fetch_prepared(db, statement, params)
    live = {pk: (stock_id, quantity) for pk, stock_id, quantity in rows if stock_id is not None}
    movement_ids = sorted(pk for pk, stock_id, _ in rows if stock_id is None)
    return now, live, movement_ids


def commit_one_in_one_statement(
    *,
    reservation_id: int,
    stock_id: int,
    quantity: int,
    whole: bool,
    reason: str,
    reference: str,
    note: str = "",
    user_id: int | None = None,
) -> tuple[datetime, int, int] | None:
    """PostgreSQL: commit `quantity` of one reservation, expected on stock row `stock_id`, in
    one statement lighter than `commit_in_one_statement`: with `whole`, all of a reservation
    holding exactly `quantity` (it is deleted); otherwise part of one holding more (it shrinks).

    `locked` takes the stock row's lock first, and only where the row holds at least
    `quantity` reserved; the write of the reservation is gated on it (a scalar sub-select, run
    before it), so the lock order every writer of a reservation keeps (stock row, then
    reservation) holds. With a single reservation there is nothing to check before writing:
    the delete (or the shrink) is a conditional write that under READ COMMITTED re-checks the
    current version of the row, so it does not happen when the reservation is gone, moved or
    holds another quantity than expected; only if it happened do `on_hand` and `reserved`
    drop and the ledger row go in. Returns the creation time, the new movement id and the
    units the reservation keeps, or None when nothing was written (the caller then runs
    `commit_in_one_statement`, which explains, or commits what the reservation holds now)."""
    db = connections[DEFAULT_DB_ALIAS]
    now, stamp = _now(db)
    params = [stock_id, quantity, reservation_id, stamp, reason, reference, note, user_id]
    rows = fetch_prepared(db, _COMMIT_WHOLE_TEXT if whole else _COMMIT_PART_TEXT, params)
    if not rows:
        return None
    ((movement_id, kept),) = rows
    return now, movement_id, kept


def _commit_one_text(take: str) -> str:
    """The statement of `commit_one_in_one_statement` around `take`, the write of the
    reservation (returning `kept`, the units it keeps). Numbered parameters (PostgreSQL only),
    each value passed once: $1 stock row, $2 quantity, $3 reservation, $4 time, $5 reason, $6
    reference, $7 note, $8 user."""
    return f"""
    WITH locked AS MATERIALIZED (
        SELECT s.id FROM {STOCK} s WHERE s.id = $1::bigint AND s.reserved >= $2::integer
        FOR NO KEY UPDATE OF s),
    taken AS ({take}),
    upd AS (
        UPDATE {STOCK} st SET updated_at = $4::timestamptz, on_hand = st.on_hand - $2::integer,
            reserved = st.reserved - $2::integer
        WHERE st.id = (SELECT id FROM locked) AND EXISTS (SELECT 1 FROM taken)),
    mv AS (
        INSERT INTO {MOVEMENT} (stock_id, reason, quantity, reference, note, user_id, created_at)
        SELECT $1::bigint, $5::text, -$2::integer, $6::text, $7::text, $8::integer,
            $4::timestamptz
        FROM taken
        RETURNING id)
    SELECT mv.id, taken.kept FROM mv, taken
"""


_COMMIT_WHOLE_TEXT = _commit_one_text(
    f"""DELETE FROM {RESERVATION} r
        WHERE r.id = $3::bigint AND r.stock_id = (SELECT id FROM locked)
          AND r.quantity = $2::integer
        RETURNING 0 AS kept"""
)
_COMMIT_PART_TEXT = _commit_one_text(
    f"""UPDATE {RESERVATION} r SET quantity = r.quantity - $2::integer
        WHERE r.id = $3::bigint AND r.stock_id = (SELECT id FROM locked)
          AND r.quantity > $2::integer
        RETURNING r.quantity AS kept"""
)


@functools.lru_cache(maxsize=128)
def _commit_text(reservations: int, stocks: int, movements: int, lock: str) -> str:
    """The text of `commit_in_one_statement`, built once per shape of the call."""
    return f"""
        WITH want (id, stock_id, q) AS (VALUES {_typed_rows(reservations, 3)}),
        leave (stock_id, q) AS (VALUES {_typed_rows(stocks, 2)}),
        locked AS MATERIALIZED (
            SELECT s.id, s.reserved FROM {STOCK} s WHERE s.id IN ({_marks(range(stocks))})
            ORDER BY s.id{lock}),
        live AS MATERIALIZED (
            SELECT r.id, r.stock_id, r.quantity FROM {RESERVATION} r
            WHERE r.id IN ({_marks(range(reservations))}) AND (SELECT COUNT(*) FROM locked) >= 0
            ORDER BY r.id FOR UPDATE OF r),
        ok AS MATERIALIZED (
            SELECT (SELECT COUNT(*) FROM want w JOIN live l
                    ON l.id = w.id AND l.stock_id = w.stock_id AND l.quantity >= w.q) = %s
               AND (SELECT COUNT(*) FROM leave v JOIN locked k
                    ON k.id = v.stock_id AND k.reserved >= v.q) = %s AS ok),
        upd AS (
            UPDATE {STOCK} st SET updated_at = %s, on_hand = st.on_hand - v.q,
                reserved = st.reserved - v.q
            FROM leave v WHERE st.id = v.stock_id AND (SELECT ok FROM ok)),
        gone AS (
            DELETE FROM {RESERVATION} r USING want w
            WHERE r.id = w.id AND r.quantity = w.q AND (SELECT ok FROM ok)),
        shrunk AS (
            UPDATE {RESERVATION} r SET quantity = r.quantity - w.q FROM want w
            WHERE r.id = w.id AND r.quantity > w.q AND (SELECT ok FROM ok)),
        mv AS (
            INSERT INTO {MOVEMENT}
                (stock_id, reason, quantity, reference, note, user_id, created_at)
            SELECT m.stock_id, %s::text, m.quantity, %s::text, %s::text, %s::integer,
                %s::timestamptz
            FROM (VALUES {_typed_rows(movements, 3)}) m (ord, stock_id, quantity)
            WHERE (SELECT ok FROM ok) ORDER BY m.ord
            RETURNING id)
        SELECT id, stock_id, quantity FROM live
        UNION ALL SELECT id, NULL, NULL FROM mv
    """
