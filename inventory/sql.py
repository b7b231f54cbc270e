"""Hand-written SQL for the statements every checkout runs: locking stock rows, moving their
counters, inserting reservations and ledger rows.

Why not the ORM here: under contention a stock row stays locked from the locking SELECT to the
COMMIT, so every millisecond of Python spent compiling querysets inside that window is a
millisecond every other checkout of the SKU waits. These statements are plain SQL that both
PostgreSQL and SQLite (>= 3.35, for RETURNING) accept; values are always parameters, table and
column names come from model metadata.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from catalog.models import Variant
from inventory.models import ChannelLocation, Reservation, Stock, StockLocation, StockMovement

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


def _now() -> tuple[datetime, object]:
    now = timezone.now()
    return now, connection.ops.adapt_datetimefield_value(now)


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
    # NO KEY UPDATE: enough to serialise counter changes, and it does not block other
    # transactions' foreign-key checks (KEY SHARE) on rows that reference the stock row.
    lock = " FOR NO KEY UPDATE OF s" if connection.features.has_select_for_update_of else ""
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
        whens = " ".join(["WHEN %s THEN %s"] * len(deltas))
        sets.append(f"{column} = {column} + CASE id {whens} ELSE 0 END")
        for pk, delta in deltas.items():
            params += [pk, delta]
        ids |= deltas.keys()
    if not ids:
        return
    ordered = sorted(ids)
    sql = f"UPDATE {STOCK} SET updated_at = %s, {', '.join(sets)} WHERE id IN ({_marks(ordered)})"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_now()[1], *params, *ordered])


def insert_reservations(reservations: Sequence[Reservation]) -> list[Reservation]:
    """Insert unsaved reservations in one statement; sets their pk and created_at."""
    if not reservations:
        return []
    now, stamp = _now()
    columns = "stock_id, quantity, reference, expires_at, created_at, kind, channel_id"
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(reservations))
    params = []
    for r in reservations:
        expires = connection.ops.adapt_datetimefield_value(r.expires_at) if r.expires_at else None
        params += [r.stock_id, r.quantity, r.reference, expires, stamp, r.kind, r.channel_id]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {RESERVATION} ({columns}) VALUES {rows} RETURNING id", params)
        ids = [row[0] for row in cursor.fetchall()]
    for reservation, pk in zip(reservations, sorted(ids), strict=True):
        reservation.pk = pk
        reservation.created_at = now
        reservation._state.adding = False
        reservation._state.db = connection.alias
    return list(reservations)


def insert_movements(movements: Sequence[StockMovement]) -> list[StockMovement]:
    """Insert unsaved ledger rows in one statement; sets their pk and created_at."""
    if not movements:
        return []
    now, stamp = _now()
    columns = "stock_id, reason, quantity, reference, note, user_id, created_at"
    rows = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(movements))
    params = []
    for m in movements:
        params += [m.stock_id, m.reason, m.quantity, m.reference, m.note, m.user_id, stamp]
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {MOVEMENT} ({columns}) VALUES {rows} RETURNING id", params)
        ids = [row[0] for row in cursor.fetchall()]
    for movement, pk in zip(movements, sorted(ids), strict=True):
        movement.pk = pk
        movement.created_at = now
        movement._state.adding = False
        movement._state.db = connection.alias
    return list(movements)


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


def shrink_reservations(amounts: dict[int, int]) -> None:
    """Reduce reservations by the given quantities in one UPDATE."""
    if not amounts:
        return
    whens = " ".join(["WHEN %s THEN %s"] * len(amounts))
    params = [value for pk, q in amounts.items() for value in (pk, q)]
    ids = sorted(amounts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RESERVATION} SET quantity = quantity - CASE id {whens} ELSE 0 END "
            f"WHERE id IN ({_marks(ids)})",
            [*params, *ids],
        )
