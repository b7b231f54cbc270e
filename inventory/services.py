"""Stock state changes: receipts, reservations (order lines and cart holds), sales, returns,
adjustments and write-offs. Transfers and counts live in `inventory.operations`.

Every change of `on_hand` writes ledger rows in the same transaction; every change of a stock
row happens under a row lock taken in primary-key order (`inventory.locks`), with the counters
moved by one UPDATE per call. Each public service costs a fixed number of queries whatever the
number of lines. Public services use plain `transaction.atomic()` so the orders app can call
them inside its own transaction.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, Value, When
from django.utils import timezone

from catalog.models import Variant
from inventory import locks
from inventory.errors import (
    InsufficientStock,
    InvalidQuantity,
    LocationUnavailable,
    ReservationNotFound,
    SameLocation,
    UnknownLocation,
    UnknownVariant,
)
from inventory.models import (
    AvailabilityChange,
    ChannelLocation,
    MovementReason,
    Reservation,
    ReservationKind,
    Stock,
    StockLocation,
    StockMovement,
)
from inventory.selectors import apply_channel_rule, channel_rule
from omni.models import Channel


@dataclass(frozen=True)
class StockRequest:
    variant_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class StockLine:
    variant_id: int
    quantity: int


# --- validation helpers ---------------------------------------------------------------------


def require_positive(quantity, *, field: str = "quantity") -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
        raise InvalidQuantity(
            f"Quantity must be a positive whole number (got {quantity!r}).", field=field
        )


def variants_by_id(variant_ids: Iterable[int]) -> dict[int, str]:
    """SKU per variant id; raises UnknownVariant naming the first unknown id. One query."""
    ids = set(variant_ids)
    found = dict(Variant.objects.filter(pk__in=ids).values_list("pk", "sku"))
    missing = sorted(ids - found.keys())
    if missing:
        raise UnknownVariant(f"Unknown variant id {missing[0]}.", field="variant")
    return found


def locations_by_id(
    location_ids: Iterable[int], *, active: bool = True
) -> dict[int, StockLocation]:
    """Locations by id; raises UnknownLocation, or LocationUnavailable for an inactive one when
    `active` is required. One query."""
    ids = set(location_ids)
    found = StockLocation.objects.in_bulk(ids)
    missing = sorted(ids - found.keys())
    if missing:
        raise UnknownLocation(f"Unknown stock location id {missing[0]}.")
    if active:
        for location in found.values():
            if not location.active:
                raise LocationUnavailable(f"Location {location.code} is inactive.")
    return found


# --- the write path shared by every service ------------------------------------------------


def _ensure_stock_rows(pairs: Iterable[tuple[int, int]]) -> None:
    """Create missing stock rows; concurrent creators of the same row both succeed."""
    Stock.objects.bulk_create(
        [Stock(variant_id=v, location_id=loc) for v, loc in sorted(set(pairs))],
        ignore_conflicts=True,
    )


def _case(deltas: dict[int, int]) -> Case:
    return Case(
        *(When(pk=pk, then=Value(delta)) for pk, delta in deltas.items()),
        default=Value(0),
        output_field=IntegerField(),
    )


def _update_counters(
    *,
    on_hand: dict[int, int] | None = None,
    reserved: dict[int, int] | None = None,
    incoming: dict[int, int] | None = None,
) -> None:
    """Move the counters of locked stock rows by the given deltas in one UPDATE. The rows are
    locked and the deltas checked by the caller; the CHECK constraints are the backstop."""
    fields = {}
    ids: set[int] = set()
    for name, deltas in (("on_hand", on_hand), ("reserved", reserved), ("incoming", incoming)):
        deltas = {pk: d for pk, d in (deltas or {}).items() if d}
        if deltas:
            fields[name] = F(name) + _case(deltas)
            ids |= deltas.keys()
    if not ids:
        return
    Stock.objects.filter(pk__in=ids).update(updated_at=timezone.now(), **fields)


def _kick_outbox_drain() -> None:
    from inventory.tasks import availability_outbox_drain_task

    availability_outbox_drain_task.delay()


def _schedule_drain() -> None:
    # One kick per outermost transaction is enough: the task drains everything pending.
    pending = getattr(connection, "run_on_commit", [])
    if any(entry[1] is _kick_outbox_drain for entry in pending):
        return
    transaction.on_commit(_kick_outbox_drain)


def record_availability_changes(deltas: dict[tuple[int, int], int]) -> int:
    """Write one outbox row per (variant, channel) whose available-to-sell changed.

    `deltas` maps (variant_id, location_id) to the change of `available` already applied in
    this transaction. Every active channel selling from a touched active location is examined;
    its before/after available-to-sell is computed from the stock as it is now, less the deltas.
    Two queries (one read, one insert) whatever the number of rows; returns rows written."""
    deltas = {key: d for key, d in deltas.items() if d}
    if not deltas:
        return 0
    variant_ids = sorted({v for v, _ in deltas})
    location_ids = sorted({loc for _, loc in deltas})
    cl = ChannelLocation._meta.db_table
    sql = f"""
        SELECT cl.channel_id, c.safety_stock, c.availability_cap, c.availability_share,
               s.variant_id, s.location_id, s.on_hand - s.reserved
        FROM {cl} cl
        JOIN {StockLocation._meta.db_table} l ON l.id = cl.location_id
        JOIN {Channel._meta.db_table} c ON c.id = cl.channel_id
        JOIN {Stock._meta.db_table} s ON s.location_id = cl.location_id
        WHERE l.active = %s AND c.active = %s
          AND s.variant_id IN ({", ".join(["%s"] * len(variant_ids))})
          AND cl.channel_id IN (
              SELECT cl2.channel_id FROM {cl} cl2
              WHERE cl2.location_id IN ({", ".join(["%s"] * len(location_ids))}))
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, True, *variant_ids, *location_ids])
        rows = cursor.fetchall()
    rules: dict[int, tuple[int, int | None, int]] = {}
    after: dict[tuple[int, int], int] = defaultdict(int)
    before: dict[tuple[int, int], int] = defaultdict(int)
    for channel_id, safety, cap, share, variant_id, location_id, available in rows:
        rules[channel_id] = (safety, cap, share)
        after[(channel_id, variant_id)] += available
        before[(channel_id, variant_id)] += available - deltas.get((variant_id, location_id), 0)
    changes = []
    for (channel_id, variant_id), pool in sorted(after.items()):
        safety, cap, share = rules[channel_id]
        new = apply_channel_rule(
            pool=pool, safety_stock=safety, availability_cap=cap, availability_share=share
        )
        old = apply_channel_rule(
            pool=before[(channel_id, variant_id)],
            safety_stock=safety,
            availability_cap=cap,
            availability_share=share,
        )
        if new != old:
            changes.append(
                AvailabilityChange(variant_id=variant_id, channel_id=channel_id, available=new)
            )
    if changes:
        AvailabilityChange.objects.bulk_create(changes)
        _schedule_drain()
    return len(changes)


def _movement(stock: Stock, reason: str, quantity: int, reference: str, user, note: str = ""):
    return StockMovement(
        stock_id=stock.pk,
        reason=reason,
        quantity=quantity,
        reference=reference[:120],
        note=note[:255],
        user=user if getattr(user, "pk", None) else None,
    )


def _lock_rows(pairs: Iterable[tuple[int, int]], *, create: bool) -> dict[tuple[int, int], Stock]:
    pairs = set(pairs)
    if create:
        _ensure_stock_rows(pairs)
    return {(s.variant_id, s.location_id): s for s in locks.stocks_for_update(pairs=pairs)}


@dataclass
class _Change:
    variant_id: int
    location_id: int
    on_hand: int = 0
    incoming: int = 0
    reason: str = ""
    note: str = ""


def apply_stock_changes(
    changes: Sequence[_Change], *, reference: str, user=None
) -> list[StockMovement]:
    """Lock the rows of `changes` (creating missing ones), refuse if a removal exceeds what is
    available there, move `on_hand`/`incoming` in one UPDATE, write one ledger row per on_hand
    change and the availability outbox. Fixed number of queries."""
    rows = _lock_rows(((c.variant_id, c.location_id) for c in changes), create=True)
    on_hand: dict[int, int] = defaultdict(int)
    incoming: dict[int, int] = defaultdict(int)
    for c in changes:
        stock = rows[(c.variant_id, c.location_id)]
        on_hand[stock.pk] += c.on_hand
        incoming[stock.pk] += c.incoming
    shortfalls = []
    for stock in rows.values():
        if on_hand[stock.pk] < 0 and stock.available < -on_hand[stock.pk]:
            shortfalls.append(
                {
                    "sku": stock.variant.sku,
                    "requested": -on_hand[stock.pk],
                    "available": max(0, stock.available),
                }
            )
        if incoming[stock.pk] < 0 and stock.incoming < -incoming[stock.pk]:
            raise InvalidQuantity(
                f"{stock.variant.sku}: only {stock.incoming} in transit.", field="quantity"
            )
    if shortfalls:
        raise InsufficientStock(shortfalls)
    _update_counters(on_hand=on_hand, incoming=incoming)
    movements = [
        _movement(rows[(c.variant_id, c.location_id)], c.reason, c.on_hand, reference, user, c.note)
        for c in changes
        if c.on_hand
    ]
    StockMovement.objects.bulk_create(movements)
    availability: dict[tuple[int, int], int] = defaultdict(int)
    for c in changes:
        availability[(c.variant_id, c.location_id)] += c.on_hand
    record_availability_changes(availability)
    return movements


def _validate_lines(lines: Sequence[StockLine]) -> dict[int, str]:
    if not lines:
        raise InvalidQuantity("At least one line is needed.", field="lines")
    for index, line in enumerate(lines):
        require_positive(line.quantity, field=f"lines.{index}.quantity")
    return variants_by_id(line.variant_id for line in lines)


# --- receipts, adjustments, write-offs ------------------------------------------------------


def stock_receive(
    *,
    location_id: int,
    lines: Sequence[StockLine],
    reference: str,
    user=None,
    note: str = "",
) -> list[StockMovement]:
    """Goods arrive at a location: `on_hand` rises by each line's quantity, one RECEIPT movement
    per line. Locks the stock rows (created if missing) in pk order."""
    with transaction.atomic():
        _validate_lines(lines)
        locations_by_id([location_id])
        return apply_stock_changes(
            [
                _Change(
                    line.variant_id,
                    location_id,
                    on_hand=line.quantity,
                    reason=MovementReason.RECEIPT,
                    note=note,
                )
                for line in lines
            ],
            reference=reference,
            user=user,
        )


def stock_adjust(
    *, variant_id: int, location_id: int, quantity: int, note: str, reference: str = "", user=None
) -> StockMovement:
    """Correct `on_hand` by a signed, non-zero `quantity` with a stated reason (`note`). A
    decrease is refused beyond the available units (reserved units stay backed)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise InvalidQuantity("An adjustment is a non-zero whole number.")
    if not note.strip():
        raise InvalidQuantity("An adjustment needs a reason.", field="note", code="reason_required")
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        (movement,) = apply_stock_changes(
            [
                _Change(
                    variant_id,
                    location_id,
                    on_hand=quantity,
                    reason=MovementReason.ADJUSTMENT,
                    note=note,
                )
            ],
            reference=reference,
            user=user,
        )
        return movement


def stock_write_off(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    note: str = "",
    reference: str = "",
    user=None,
) -> StockMovement:
    """Remove damaged units: `on_hand` drops by `quantity` (at most the available units), one
    DAMAGE movement."""
    require_positive(quantity)
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        (movement,) = apply_stock_changes(
            [
                _Change(
                    variant_id,
                    location_id,
                    on_hand=-quantity,
                    reason=MovementReason.DAMAGE,
                    note=note,
                )
            ],
            reference=reference,
            user=user,
        )
        return movement


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
    same SKU queue and multi-line orders cannot deadlock. Raises InsufficientStock (naming SKU,
    requested and available) reserving nothing. Fixed number of queries."""
    if not requests:
        return []
    for index, request in enumerate(requests):
        require_positive(request.quantity, field=f"lines.{index}.quantity")
    with transaction.atomic():
        rows = locks.channel_stocks_for_update(
            channel=channel, variant_ids={r.variant_id for r in requests}
        )
        by_key = {(s.variant_id, s.location_id): s for s in rows}
        pool: dict[int, int] = defaultdict(int)
        for stock in rows:
            pool[stock.variant_id] += stock.available
        wanted: dict[tuple[int, int], int] = defaultdict(int)
        for request in requests:
            wanted[(request.variant_id, request.location_id)] += request.quantity
        if any(key not in by_key for key in wanted):
            _explain_missing(channel, wanted, by_key)
        per_variant: dict[int, dict[int, int]] = defaultdict(dict)
        for (variant_id, location_id), quantity in wanted.items():
            per_variant[variant_id][location_id] = quantity
        shortfalls = []
        for variant_id, at in sorted(per_variant.items()):
            ats = channel_rule(channel, pool[variant_id])
            requested = sum(at.values())
            can_give = sum(
                min(q, max(0, by_key[(variant_id, loc)].available)) for loc, q in at.items()
            )
            if requested > ats or can_give < requested:
                sku = by_key[(variant_id, next(iter(at)))].variant.sku
                shortfalls.append(
                    {"sku": sku, "requested": requested, "available": min(ats, can_give)}
                )
        if shortfalls:
            raise InsufficientStock(shortfalls)
        _update_counters(reserved={by_key[key].pk: q for key, q in wanted.items()})
        reservations = Reservation.objects.bulk_create(
            [
                Reservation(
                    stock=by_key[(r.variant_id, r.location_id)],
                    quantity=r.quantity,
                    reference=reference[:120],
                    expires_at=expires_at,
                    kind=kind,
                    channel=channel,
                )
                for r in requests
            ]
        )
        record_availability_changes({key: -q for key, q in wanted.items()})
        return reservations


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
    return {
        pk: (stock_id, quantity)
        for pk, stock_id, quantity in Reservation.objects.filter(pk__in=ids).values_list(
            "pk", "stock_id", "quantity"
        )
    }


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
    with transaction.atomic():
        stocks, live = _lock_reservation_stocks(reservations)
        if not live:
            return
        Reservation.objects.filter(pk__in=list(live)).delete()
        reserved: dict[int, int] = defaultdict(int)
        for stock_id, quantity in live.values():
            reserved[stock_id] -= quantity
        _update_counters(reserved=reserved)
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
    committed. Available-to-sell does not change. Locks the stock row."""
    require_positive(quantity)
    with transaction.atomic():
        stocks, live = _lock_reservation_stocks([reservation])
        if reservation.pk not in live:
            raise ReservationNotFound()
        stock_id, held = live[reservation.pk]
        if quantity > held:
            raise InvalidQuantity(
                f"Cannot commit {quantity}: the reservation holds {held}.", field="quantity"
            )
        stock = stocks[stock_id]
        _update_counters(on_hand={stock.pk: -quantity}, reserved={stock.pk: -quantity})
        movement = _movement(stock, MovementReason.SALE, -quantity, reference, user)
        movement.save()
        if quantity == held:
            Reservation.objects.filter(pk=reservation.pk).delete()
        else:
            Reservation.objects.filter(pk=reservation.pk).update(quantity=F("quantity") - quantity)
        reservation.quantity = held - quantity
        reservation.stock_id = stock_id
        return movement


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
        _ensure_stock_rows([(variant_id, location_id)])
        rows = _lock_rows([(variant_id, source_location), (variant_id, location_id)], create=False)
        live = _live_reservations([reservation.pk])
        src, dst = rows[(variant_id, source_location)], rows[(variant_id, location_id)]
        if reservation.pk not in live or live[reservation.pk][0] != src.pk:
            raise ReservationNotFound("The reservation changed meanwhile; reload it.")
        quantity = live[reservation.pk][1]
        if dst.available < quantity:
            available = max(0, dst.available)
            raise InsufficientStock(
                [{"sku": dst.variant.sku, "requested": quantity, "available": available}]
            )
        _update_counters(reserved={src.pk: -quantity, dst.pk: quantity})
        Reservation.objects.filter(pk=reservation.pk).update(stock=dst)
        reservation.stock = dst
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


# --- sales after the fact and returns ---------------------------------------------------------


def stock_record_sale(
    *, variant_id: int, location_id: int, quantity: int, reference: str, user=None
) -> list[StockMovement]:
    """Book a sale that already happened (POS). Never refused: it takes what is available there;
    a shortfall means the books were wrong, so it is booked first as a positive DISCREPANCY
    movement, the SALE then removes the full quantity, and the row is flagged `needs_count`.
    `on_hand` never goes negative, reserved units stay backed and the ledger still sums to
    `on_hand`. Locks the stock row."""
    require_positive(quantity)
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        stock = _lock_rows([(variant_id, location_id)], create=True)[(variant_id, location_id)]
        taken = min(quantity, max(0, stock.available))
        shortfall = quantity - taken
        movements = []
        if shortfall:
            movements.append(
                _movement(
                    stock,
                    MovementReason.DISCREPANCY,
                    shortfall,
                    reference,
                    user,
                    note=f"sold {quantity} with {taken} available",
                )
            )
        movements.append(_movement(stock, MovementReason.SALE, -quantity, reference, user))
        if taken:
            _update_counters(on_hand={stock.pk: -taken})
        if shortfall:
            Stock.objects.filter(pk=stock.pk).update(needs_count=True)
        StockMovement.objects.bulk_create(movements)
        record_availability_changes({(variant_id, location_id): -taken})
        return movements


def stock_return(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    reference: str,
    restock: bool,
    user=None,
) -> list[StockMovement]:
    """Goods come back at a location. Restocked: `on_hand` rises, one RETURN movement. Not
    restocked (damaged): a RETURN and a DAMAGE movement of the same size, so the ledger shows the
    write-off and `on_hand` does not change. Locks the stock row."""
    require_positive(quantity)
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        changes = [_Change(variant_id, location_id, on_hand=quantity, reason=MovementReason.RETURN)]
        if not restock:
            changes.append(
                _Change(
                    variant_id,
                    location_id,
                    on_hand=-quantity,
                    reason=MovementReason.DAMAGE,
                    note="returned damaged",
                )
            )
        return apply_stock_changes(changes, reference=reference, user=user)


# --- the availability outbox ------------------------------------------------------------------


def availability_outbox_drain(*, batch_size: int = 500) -> int:
    """Publish pending available-to-sell changes to the registered listeners (latest value per
    (variant, channel)) and mark them published. Rows are claimed with SKIP LOCKED so parallel
    drains never publish the same row twice. Returns the number of rows drained."""
    from inventory.events import publish

    drained = 0
    while True:
        with transaction.atomic(durable=True):
            batch = list(
                AvailabilityChange.objects.filter(published_at__isnull=True)
                .order_by("pk")
                .select_for_update(skip_locked=True)[:batch_size]
            )
            if not batch:
                return drained
            latest = {}
            for change in batch:
                latest[(change.variant_id, change.channel_id)] = change.available
            publish(latest)
            AvailabilityChange.objects.filter(pk__in=[c.pk for c in batch]).update(
                published_at=timezone.now()
            )
        drained += len(batch)
        if len(batch) < batch_size:
            return drained
