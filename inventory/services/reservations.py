"""Reservations: order lines and cart holds, their release, commit and re-allocation."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connection, transaction
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from inventory import locks, sql
from inventory.errors import (
    InsufficientStock,
    InvalidQuantity,
    LocationUnavailable,
    ReservationNotFound,
    SameLocation,
)
from inventory.models import (
    ChannelLocation,
    MovementReason,
    Reservation,
    ReservationKind,
    Stock,
    StockMovement,
)
from inventory.selectors import channel_rule
from inventory.services.base import (
    StockRequest,
    checked_atomic,
    ensure_stock_rows,
    locations_by_id,
    lock_rows,
    require_positive,
    update_counters,
    variants_by_id,
)
from inventory.services.outbox import (
    availability_changes_statement,
    marks_insert_sql,
    record_availability_changes,
    schedule_drain,
)
from omni.models import Channel

# --- reservations -----------------------------------------------------------------------------


def _missing_location_error(channel: Channel, location_ids: set[int]) -> None:
    """Error path only: explain why a requested location has no locked row."""
    known = locations_by_id(location_ids, active=False)
    selling = set(
        ChannelLocation.objects.filter(channel=channel, location_id__in=location_ids).values_list(
            "location_id", flat=True
        )
    )
    for location_id in sorted(location_ids):
        location = known[location_id]
        if not location.active:
            raise LocationUnavailable(f"Location {location.code} is inactive.")
        if location_id not in selling:
            raise LocationUnavailable(
                f"Channel {channel.code} does not sell from location {location.code}."
            )


def stock_reserve(
    *,
    channel: Channel,
    requests: Sequence[StockRequest],
    reference: str,
    expires_at: datetime | None = None,
    kind: str = ReservationKind.ORDER,
) -> list[Reservation]:
    """Reserve every request or nothing; returns one Reservation per request, in order.

    Invariants: each location keeps `reserved <= on_hand`, and per variant the channel's total
    request stays within its available-to-sell (the channel rule applied to the pooled
    `available` of its active locations) at this moment. Locks the stock rows of the requested
    variants over all of the channel's active locations in pk order, so two checkouts of the
    same SKU queue and multi-line orders cannot deadlock.

    When the channel's rule is the identity (no buffer, cap or share) the pool cannot bind
    tighter than the locations, so only the requested rows are locked. On PostgreSQL that case
    is one statement (`sql.reserve_in_one_statement`: lock in pk order, check every row, UPDATE
    all or none, insert the reservations and the outbox rows), so a hot row is locked for a
    single round trip of this call; elsewhere the conditional UPDATE itself locks
    (`... WHERE on_hand - reserved >= q`, rows locked in pk order by its sub-select). Raises
    InsufficientStock (naming SKU, requested and available) leaving nothing applied, so a
    caller's transaction may continue. A fixed number of queries whatever the number of
    requests: on PostgreSQL one (identity rule) or three, elsewhere three or four."""
    if not requests:
        return []
    for index, request in enumerate(requests):
        require_positive(request.quantity, field=f"lines.{index}.quantity")
    identity_rule = (
        channel.safety_stock == 0
        and channel.availability_cap is None
        and channel.availability_share == 100
    )
    if identity_rule and sql.combines_statements():
        fast = _reserve_in_one_statement(channel, requests, reference, expires_at, kind)
        if fast is not None:
            return fast
        # Short or missing somewhere: nothing was written; the general path below locks the
        # same rows again (already held) and explains the refusal.
    wanted: dict[tuple[int, int], int] = defaultdict(int)
    for request in requests:
        wanted[(request.variant_id, request.location_id)] += request.quantity
    with checked_atomic():
        stock_ids = None
        if identity_rule and not sql.combines_statements():
            done = sql.reserve_where_available(channel_id=channel.pk, wanted=wanted)
            if len(done) == len(wanted):
                stock_ids = {(v, loc): pk for pk, v, loc in done}
            elif done:
                # Some row was short: give back what this statement took, then explain.
                update_counters(reserved={pk: -wanted[(v, loc)] for pk, v, loc in done})
        if stock_ids is None:
            rows = locks.channel_stocks_for_update(
                channel=channel,
                variant_ids={v for v, _ in wanted},
                pairs=set(wanted) if identity_rule else None,
            )
            stock_ids = _reserve_locked(channel, wanted, rows)
        # Callers read `reservation.stock.location_id` / `.variant_id` (e.g. to record where
        # each line was sourced): give them a stock row whose other fields load on access,
        # rather than a query per reservation.
        stocks = {
            key: Stock.from_db(connection.alias, ["id", "variant_id", "location_id"], [pk, *key])
            for key, pk in stock_ids.items()
        }
        reservations = [
            Reservation(
                stock=stocks[(r.variant_id, r.location_id)],
                quantity=r.quantity,
                reference=reference[:120],
                expires_at=expires_at,
                kind=kind,
                channel=channel,
            )
            for r in requests
        ]
        deltas = {key: -q for key, q in wanted.items()}
        if sql.combines_statements():
            outbox = availability_changes_statement(deltas)
            sql.insert_reservations(reservations, with_statement=outbox)
            if outbox is not None:
                schedule_drain()
        else:
            sql.insert_reservations(reservations)
            record_availability_changes(deltas)
        return reservations


def _reserve_in_one_statement(channel, requests, reference, expires_at, kind):
    """The identity-rule reservation as one statement (see `sql.reserve_in_one_statement`):
    the hot stock rows are locked for one round trip of this call instead of two. Everything
    Python does is done before the statement or after it, and what is after it is kept small:
    under contention it runs while the rows are locked until the caller's commit. Returns None
    on a refusal, having written nothing."""
    reference = reference[:120]
    done = sql.reserve_in_one_statement(
        channel_id=channel.pk,
        requests=[(r.variant_id, r.location_id, r.quantity) for r in requests],
        reference=reference,
        expires_at=expires_at,
        kind=kind,
        outbox_sql=_RESERVE_OUTBOX_SQL,
    )
    if done is None:
        return None
    created_at, rows = done
    schedule_drain()
    if len(rows) == 1:
        ((pk, stock_id, quantity, variant_id, location_id),) = rows
        stock = _stock_stub(stock_id, variant_id, location_id)
        return [
            _loaded_reservation(
                pk, stock, quantity, reference, expires_at, created_at, kind, channel
            )
        ]
    # Requests for the same row and quantity are interchangeable; hand out the new rows per
    # (row, quantity) in id order, which is the order they were inserted in.
    by_line: dict[tuple[int, int, int], list] = defaultdict(list)
    for pk, stock_id, quantity, variant_id, location_id in rows:
        by_line[(variant_id, location_id, quantity)].append((pk, stock_id))
    stocks: dict[int, Stock] = {}
    reservations = []
    for r in requests:
        pk, stock_id = by_line[(r.variant_id, r.location_id, r.quantity)].pop(0)
        if stock_id not in stocks:
            stocks[stock_id] = _stock_stub(stock_id, r.variant_id, r.location_id)
        reservations.append(
            _loaded_reservation(
                pk, stocks[stock_id], r.quantity, reference, expires_at, created_at, kind, channel
            )
        )
    return reservations


# The reservation statement marks every stock row it updated (`upd`) in the outbox.
_RESERVE_OUTBOX_SQL = marks_insert_sql("upd")


_STOCK_STUB_FIELDS = ("id", "variant_id", "location_id")
_RESERVATION_FIELDS = (
    "id",
    "stock_id",
    "quantity",
    "reference",
    "expires_at",
    "created_at",
    "kind",
    "channel_id",
)
_MOVEMENT_FIELDS = (
    "id",
    "stock_id",
    "reason",
    "quantity",
    "reference",
    "note",
    "user_id",
    "created_at",
)


def _from_db(model, attnames, values):
    """`model.from_db(alias, attnames, values)` for the default database, built without running
    `Model.__init__` (which walks every field and descriptor) when no pre_init / post_init
    receiver would miss it: the checkout path builds a few instances while the stock rows are
    locked, and this is several times cheaper. Fields left out of `attnames` are deferred and
    load on access, as with `from_db`."""
    if (pre_init.receivers or post_init.receivers) and (
        pre_init.has_listeners(model) or post_init.has_listeners(model)
    ):
        return model.from_db(DEFAULT_DB_ALIAS, attnames, values)
    instance = model.__new__(model)
    instance.__dict__.update(zip(attnames, values, strict=True))
    state = instance._state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    return instance


def _stock_stub(stock_id, variant_id, location_id) -> Stock:
    """Callers read `reservation.stock.location_id` / `.variant_id` (e.g. to record where each
    line was sourced): a stock row whose other fields load on access, not a query per line."""
    return _from_db(Stock, _STOCK_STUB_FIELDS, (stock_id, variant_id, location_id))


def _loaded_reservation(pk, stock, quantity, reference, expires_at, created_at, kind, channel):
    """A Reservation as loaded from the database (`_from_db`: the checkout path builds one per
    line while the rows are locked), with its stock and channel cached as
    `Reservation(stock=..., channel=...)` would."""
    reservation = _from_db(
        Reservation,
        _RESERVATION_FIELDS,
        (pk, stock.pk, quantity, reference, expires_at, created_at, kind, channel.pk),
    )
    reservation._state.fields_cache.update(stock=stock, channel=channel)
    return reservation


def _reserve_locked(channel, wanted, rows) -> dict[tuple[int, int], int]:
    """With the rows locked: check every location and the channel rule, then raise `reserved`
    in one UPDATE. Returns the stock id per (variant, location); raises before writing."""
    by_key = {(s.variant_id, s.location_id): s for s in rows}
    pool: dict[int, int] = defaultdict(int)
    for stock in rows:
        pool[stock.variant_id] += stock.available
    if any(key not in by_key for key in wanted):
        _explain_missing(channel, wanted, by_key)
    per_variant: dict[int, dict[int, int]] = defaultdict(dict)
    for (variant_id, location_id), quantity in wanted.items():
        per_variant[variant_id][location_id] = quantity
    shortfalls = []
    for variant_id, at in sorted(per_variant.items()):
        ats = channel_rule(channel, pool[variant_id])
        requested = sum(at.values())
        can_give = sum(min(q, max(0, by_key[(variant_id, loc)].available)) for loc, q in at.items())
        if requested > ats or can_give < requested:
            sku = by_key[(variant_id, next(iter(at)))].sku
            shortfalls.append({"sku": sku, "requested": requested, "available": min(ats, can_give)})
    if shortfalls:
        raise InsufficientStock(shortfalls)
    update_counters(reserved={by_key[key].pk: q for key, q in wanted.items()})
    return {key: by_key[key].pk for key in wanted}


def _explain_missing(channel, wanted, by_key) -> None:
    """Error path: a requested (variant, location) has no stock row at an active location of
    the channel. Unknown variant or location, or a location the channel does not sell from,
    is an error of its own; otherwise nothing is there to reserve."""
    missing = [key for key in wanted if key not in by_key]
    skus = variants_by_id(v for v, _ in wanted)
    _missing_location_error(channel, {loc for _, loc in missing})
    shortfalls = []
    for variant_id in sorted({v for v, _ in missing}):
        requested = sum(q for (v, _), q in wanted.items() if v == variant_id)
        available = sum(
            min(q, max(0, by_key[(v, loc)].available))
            for (v, loc), q in wanted.items()
            if v == variant_id and (v, loc) in by_key
        )
        pooled = sum(s.available for (v, _), s in by_key.items() if v == variant_id)
        available = min(available, channel_rule(channel, pooled))
        shortfalls.append({"sku": skus[variant_id], "requested": requested, "available": available})
    raise InsufficientStock(shortfalls)


def _live_reservations(ids: list[int]) -> dict[int, tuple[int, int]]:
    return sql.read_reservations(ids)


def _lock_reservation_stocks(reservations: Sequence[Reservation]):
    """Lock the stock rows under `reservations`, then read the reservations themselves. Every
    writer of a reservation holds its stock row's lock first, so what is read is current; a
    reservation moved meanwhile has its new row locked too (pk order is kept per statement)."""
    ids = [r.pk for r in reservations]
    stock_ids = {r.stock_id for r in reservations}
    stocks = {s.pk: s for s in locks.stocks_by_pk_for_update(stock_ids=stock_ids)}
    live = _live_reservations(ids)
    moved = {stock_id for stock_id, _ in live.values()} - stocks.keys()
    if moved:
        stocks.update({s.pk: s for s in locks.stocks_by_pk_for_update(stock_ids=moved)})
    return stocks, live


def reservation_release(*, reservations: Sequence[Reservation], user=None) -> None:
    """Give reserved units back: `reserved` drops by each live reservation's quantity and the
    reservation is deleted. Reservations already released or committed are skipped, so a repeat
    is harmless. Locks the stock rows in pk order. Fixed number of queries."""
    if not reservations:
        return
    with checked_atomic():
        stocks, live = _lock_reservation_stocks(reservations)
        if not live:
            return
        sql.delete_reservations(live)
        reserved: dict[int, int] = defaultdict(int)
        for stock_id, quantity in live.values():
            reserved[stock_id] -= quantity
        update_counters(reserved=reserved)
        for reservation in reservations:
            if reservation.pk in live:
                reservation.quantity = 0
        record_availability_changes(
            {(stocks[sid].variant_id, stocks[sid].location_id): -d for sid, d in reserved.items()}
        )


def reservation_commit(
    *, reservation: Reservation, quantity: int, reference: str, user=None
) -> StockMovement:
    """The reserved goods leave: `on_hand` and `reserved` both drop by `quantity` (at most the
    reservation's), one SALE movement; the reservation shrinks, or is deleted once fully
    committed. Available-to-sell does not change. Locks the stock row; refusals come before
    any write.

    To commit several reservations in one transaction use `reservations_commit`, which locks
    all their rows in pk order at once, so two fulfilments sharing SKUs cannot deadlock."""
    (movement,) = reservations_commit(
        items=[(reservation, quantity)], reference=reference, user=user
    )
    return movement


def reservations_commit(
    *, items: Sequence[tuple[Reservation, int]], reference: str, user=None
) -> list[StockMovement]:
    """Commit several (reservation, quantity) pairs at once, all or nothing, as
    `reservation_commit` does for one.

    The stock rows are locked in pk order, then the reservations are read under that lock
    (every writer of a reservation holds its stock row first) and checked: one that is gone or
    smaller than its quantity is refused, leaving nothing applied. `on_hand` and `reserved`
    drop, one SALE per item, and the reservations shrink or go. On PostgreSQL all of it is one
    statement (`sql.commit_in_one_statement`), so a hot row is locked for a single round trip
    of this call; elsewhere one conditional UPDATE locks and lowers the counters, the
    reservations are read, and a refusal undoes the UPDATE. A fixed number of queries whatever
    the number of items (one on PostgreSQL). A single item on PostgreSQL runs a lighter
    statement first (`sql.commit_one_in_one_statement`: no check needed before writing one
    reservation, which is deleted or shrunk as the caller's copy of it says); only if it wrote
    nothing does the general one run, to explain, follow a move or use what the reservation
    holds now."""
    if not items:
        return []
    for index, (_, quantity) in enumerate(items):
        require_positive(quantity, field=f"lines.{index}.quantity")
    reference = reference[:120]
    user_id = getattr(user, "pk", None)
    combined = sql.combines_statements()
    if combined and len(items) == 1:
        ((reservation, quantity),) = items
        # One statement: atomic on its own, inside a transaction or not.
        done = sql.commit_one_in_one_statement(
            reservation_id=reservation.pk,
            stock_id=reservation.stock_id,
            quantity=quantity,
            # What the caller's copy holds picks the statement; if the row holds otherwise,
            # nothing is written and the general statement below reads what it holds.
            whole=quantity >= reservation.quantity,
            reason=MovementReason.SALE,
            reference=reference,
            user_id=user_id,
        )
        if done is not None:
            created_at, movement_id, kept = done
            reservation.quantity = kept
            return [
                _loaded_sale(
                    movement_id, reservation.stock_id, quantity, reference, user_id, created_at
                )
            ]
        # Nothing was written: the general statement below explains (or follows a move).
    wanted: dict[int, int] = defaultdict(int)
    for reservation, quantity in items:
        wanted[reservation.pk] += quantity
    stock_of = {r.pk: r.stock_id for r, _ in items}
    with checked_atomic():
        # A reservation moved since the caller loaded it sits on another row: retry once with
        # the row it is on now.
        for _attempt in range(2):
            leaving: dict[int, int] = defaultdict(int)
            for pk, quantity in wanted.items():
                leaving[stock_of[pk]] += quantity
            if combined:
                # Lock, check and every write in one statement; on a refusal nothing is
                # written and `live` explains it.
                created_at, live, written = sql.commit_in_one_statement(
                    wanted=wanted,
                    stock_of=stock_of,
                    movements=[(stock_of[r.pk], -q) for r, q in items],
                    reason=MovementReason.SALE,
                    reference=reference,
                    user_id=user_id,
                )
                if written:
                    _after_commit(items, wanted, stock_of, live)
                    return [
                        _loaded_sale(pk, stock_of[r.pk], q, reference, user_id, created_at)
                        for pk, (r, q) in zip(written, items, strict=True)
                    ]
                changed: set[int] = set()
            else:
                changed = set(sql.take_reserved(leaving))
                live = sql.read_reservations(wanted)
            moved = {pk: live[pk][0] for pk in wanted if pk in live and live[pk][0] != stock_of[pk]}
            problem = None
            for pk, quantity in wanted.items():
                if pk not in live:
                    problem = ReservationNotFound()
                elif pk not in moved and quantity > live[pk][1]:
                    problem = InvalidQuantity(
                        f"Cannot commit {quantity}: the reservation holds {live[pk][1]}.",
                        field="quantity",
                    )
            # The reservations hold the units but a row's `reserved` is short (the combined
            # statement refused, or the UPDATE skipped a row): the counters changed under them.
            short = combined or changed != set(leaving)
            if short and problem is None and not moved:
                problem = ReservationNotFound("The reserved units changed meanwhile; reload.")
            if problem is None and not moved:
                break
            if changed:
                update_counters(
                    on_hand={pk: leaving[pk] for pk in changed},
                    reserved={pk: leaving[pk] for pk in changed},
                )
            if problem is not None or _attempt == 1:
                raise problem or ReservationNotFound("The reservation moved; reload it.")
            stock_of.update(moved)
        movements = [
            StockMovement(
                stock_id=stock_of[r.pk],
                reason=MovementReason.SALE,
                quantity=-q,
                reference=reference,
                user_id=user_id,
            )
            for r, q in items
        ]
        sql.insert_movements(
            movements,
            delete_reservation_ids=[pk for pk, q in wanted.items() if q == live[pk][1]],
            shrink_reservations_by={pk: q for pk, q in wanted.items() if q < live[pk][1]},
        )
        _after_commit(items, wanted, stock_of, live)
        return movements


def _loaded_sale(pk, stock_id, quantity, reference, user_id, created_at) -> StockMovement:
    """The SALE movement the combined commit statement inserted, as loaded from the database
    (the cheap positional `Model.from_db` path: this runs while the rows are locked)."""
    return _from_db(
        StockMovement,
        _MOVEMENT_FIELDS,
        (pk, stock_id, MovementReason.SALE, -quantity, reference, "", user_id, created_at),
    )


def _after_commit(items, wanted, stock_of, live) -> None:
    for reservation, _ in items:
        reservation.stock_id = stock_of[reservation.pk]
        reservation.quantity = live[reservation.pk][1] - wanted[reservation.pk]


def reservation_move(*, reservation: Reservation, location_id: int, user=None) -> Reservation:
    """Re-allocate a reservation to another location of the same variant: the destination must
    be active and have the units available, checked under lock in this transaction. Locks both
    stock rows in pk order."""
    with transaction.atomic():
        locations_by_id([location_id])
        source = (
            Stock.objects.filter(pk=reservation.stock_id)
            .values_list("variant_id", "location_id")
            .first()
        )
        if source is None:
            raise ReservationNotFound()
        variant_id, source_location = source
        if source_location == location_id:
            raise SameLocation("The reservation is already at that location.", field="location")
        ensure_stock_rows([(variant_id, location_id)])
        rows = lock_rows([(variant_id, source_location), (variant_id, location_id)], create=False)
        live = _live_reservations([reservation.pk])
        src, dst = rows[(variant_id, source_location)], rows[(variant_id, location_id)]
        if reservation.pk not in live or live[reservation.pk][0] != src.pk:
            raise ReservationNotFound("The reservation changed meanwhile; reload it.")
        quantity = live[reservation.pk][1]
        if dst.available < quantity:
            available = max(0, dst.available)
            raise InsufficientStock(
                [{"sku": dst.sku, "requested": quantity, "available": available}]
            )
        update_counters(reserved={src.pk: -quantity, dst.pk: quantity})
        Reservation.objects.filter(pk=reservation.pk).update(stock_id=dst.pk)
        reservation.stock_id = dst.pk
        reservation.quantity = quantity
        record_availability_changes(
            {(variant_id, source_location): quantity, (variant_id, location_id): -quantity}
        )
        return reservation


def cart_hold_place(
    *, channel: Channel, requests: Sequence[StockRequest], reference: str, expires_at: datetime
) -> list[Reservation]:
    """Hold stock for a cart until `expires_at`; the expiry task releases it afterwards."""
    if expires_at <= timezone.now():
        raise InvalidQuantity("A cart hold must expire in the future.", field="expires_at")
    return stock_reserve(
        channel=channel,
        requests=requests,
        reference=reference,
        expires_at=expires_at,
        kind=ReservationKind.CART,
    )


def cart_holds_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Release cart holds whose expiry has passed; returns how many were released. Each batch
    is its own short transaction (reservation_release locks the stock rows)."""
    now = now or timezone.now()
    released = 0
    while True:
        batch = list(
            Reservation.objects.filter(kind=ReservationKind.CART, expires_at__lte=now).order_by(
                "pk"
            )[:batch_size]
        )
        if not batch:
            return released
        with transaction.atomic(durable=True):
            reservation_release(reservations=batch)
        released += len(batch)
        if len(batch) < batch_size:
            return released
