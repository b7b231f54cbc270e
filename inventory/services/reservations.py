"""Reservations: order lines and cart holds, their release, commit and re-allocation."""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory import locks
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
    ensure_stock_rows,
    locations_by_id,
    lock_rows,
    make_movement,
    require_positive,
    update_counters,
    variants_by_id,
)
from inventory.services.outbox import record_availability_changes
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
        update_counters(reserved={by_key[key].pk: q for key, q in wanted.items()})
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
        update_counters(on_hand={stock.pk: -quantity}, reserved={stock.pk: -quantity})
        movement = make_movement(stock, MovementReason.SALE, -quantity, reference, user)
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
                [{"sku": dst.variant.sku, "requested": quantity, "available": available}]
            )
        update_counters(reserved={src.pk: -quantity, dst.pk: quantity})
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
