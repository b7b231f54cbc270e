"""Fulfilment: staff pick, pack and ship goods from a location, or hand them over at the
pickup counter. Stock is committed only when goods leave (shipped or collected)."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import StockLocation
from inventory.services import reservation_commit
from omni.errors import InvalidInput
from orders import state
from orders.errors import IllegalTransition, OrderError
from orders.locks import (
    allocations_for_update,
    fulfilment_for_update,
    lines_for_update,
    order_for_update,
)
from orders.models import (
    Allocation,
    Fulfilment,
    FulfilmentLine,
    FulfilmentMethod,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
)
from orders.services.lifecycle import OPEN_FULFILMENT

FS = FulfilmentStatus


@dataclass(frozen=True)
class FulfilLine:
    line_id: int
    quantity: int


@transaction.atomic(durable=True)
def fulfilment_create(
    *,
    order: Order,
    location_code: str,
    lines: Sequence[FulfilLine] | None = None,
    user=None,
) -> Fulfilment:
    """Start picking at one location: the named lines (default: every unit reserved there and
    not yet in a fulfilment). Pickup lines and shipped lines go in separate fulfilments.
    Nothing leaves yet: stock is committed on ship or collect. Locks the order and the
    allocations of its lines."""
    order = order_for_update(order_id=order.pk)
    state.require(order, state.FULFILLABLE, "fulfil")
    location = StockLocation.objects.filter(code=location_code).first()
    if location is None:
        raise InvalidInput(
            f"Unknown location {location_code}.", code="unknown_location", field="location"
        )
    order_lines = {line.pk: line for line in lines_for_update(order_id=order.pk)}
    allocations = [
        a
        for a in allocations_for_update(line_ids=order_lines)
        if a.location_id == location.pk and a.reservation_id is not None
    ]
    in_progress = dict(
        FulfilmentLine.objects.filter(
            allocation__in=allocations, fulfilment__status__in=OPEN_FULFILMENT
        )
        .values("allocation_id")
        .annotate(units=Sum("quantity"))
        .values_list("allocation_id", "units")
    )
    free = {a.pk: a.quantity_open - in_progress.get(a.pk, 0) for a in allocations}
    wanted: dict[int, int] = {}
    if lines:
        for index, item in enumerate(lines):
            if item.line_id not in order_lines:
                raise InvalidInput(
                    "Unknown line for this order.",
                    code="unknown_line",
                    field=f"lines.{index}.line",
                )
            if item.quantity <= 0:
                raise InvalidInput(
                    "Quantity must be positive.",
                    code="invalid_quantity",
                    field=f"lines.{index}.quantity",
                )
            wanted[item.line_id] = wanted.get(item.line_id, 0) + item.quantity
    else:
        for a in allocations:
            if free[a.pk] > 0:
                wanted[a.line_id] = wanted.get(a.line_id, 0) + free[a.pk]
        if not wanted:
            raise OrderError(
                f"Nothing of this order is waiting at {location.code}.",
                code="nothing_to_fulfil",
            )
    methods = {
        FulfilmentMethod.PICKUP
        if order_lines[line_id].fulfilment_method == FulfilmentMethod.PICKUP
        else FulfilmentMethod.SHIP
        for line_id in wanted
    }
    if len(methods) > 1:
        raise InvalidInput(
            "Pickup lines and shipped lines go in separate fulfilments.",
            code="mixed_fulfilment_methods",
            field="lines",
        )
    method = methods.pop()
    if method == FulfilmentMethod.SHIP and any(
        order_lines[line_id].fulfilment_method == FulfilmentMethod.SHIP_FROM_STORE
        for line_id in wanted
    ):
        method = FulfilmentMethod.SHIP_FROM_STORE
    picks: list[tuple[Allocation, int]] = []
    for line_id, units in wanted.items():
        remaining = units
        for a in allocations:
            if a.line_id != line_id or free[a.pk] <= 0 or remaining == 0:
                continue
            take = min(remaining, free[a.pk])
            picks.append((a, take))
            remaining -= take
        if remaining:
            raise OrderError(
                f"Only {units - remaining} of {units} x {order_lines[line_id].sku} are "
                f"reserved at {location.code} and not already being picked.",
                code="quantity_exceeded",
                line_id=line_id,
                requested=units,
                available=units - remaining,
            )
    fulfilment = Fulfilment.objects.create(
        order=order, location=location, method=method, created_by=state.staff_user(user)
    )
    FulfilmentLine.objects.bulk_create(
        [
            FulfilmentLine(fulfilment=fulfilment, line_id=a.line_id, allocation=a, quantity=q)
            for a, q in picks
        ]
    )
    state.record(
        order,
        kind="fulfilment_created",
        message=f"Picking {sum(q for _, q in picks)} units at {location.code} ({method})",
        user=user,
        data={"fulfilment": fulfilment.pk, "location": location.code},
    )
    return fulfilment


def _move(fulfilment: Fulfilment, allowed: set[str], target: str) -> None:
    if fulfilment.status not in allowed:
        raise IllegalTransition(
            f"Fulfilment #{fulfilment.pk} is {fulfilment.status}: cannot become {target}.",
            status=fulfilment.status,
            target=target,
        )


@transaction.atomic(durable=True)
def fulfilment_pack(*, order: Order, fulfilment_id: int, user=None) -> Fulfilment:
    """Picked and packed, waiting for the carrier. Locks the order and the fulfilment."""
    order = order_for_update(order_id=order.pk)
    fulfilment = fulfilment_for_update(fulfilment_id=fulfilment_id, order_id=order.pk)
    _move(fulfilment, {FS.OPEN}, FS.PACKED)
    if fulfilment.method == FulfilmentMethod.PICKUP:
        raise IllegalTransition(
            "Pickup fulfilments become ready for pickup, not packed for a carrier.",
            status=fulfilment.status,
            target=FS.PACKED,
        )
    fulfilment.status, fulfilment.packed_at = FS.PACKED, timezone.now()
    fulfilment.save(update_fields=["status", "packed_at"])
    state.record(
        order, kind="fulfilment_packed", message=f"Fulfilment #{fulfilment.pk} packed", user=user
    )
    return fulfilment


@transaction.atomic(durable=True)
def fulfilment_ship(
    *, order: Order, fulfilment_id: int, carrier: str, tracking_number: str, user=None
) -> Fulfilment:
    """Goods leave with a carrier: their reservations are committed (on_hand and reserved drop,
    one SALE movement each) and the order moves to partially fulfilled or fulfilled. Locks the
    order, the fulfilment and the allocations it draws from."""
    if not carrier:
        raise InvalidInput("Name the carrier.", code="required", field="carrier")
    order = order_for_update(order_id=order.pk)
    fulfilment = fulfilment_for_update(fulfilment_id=fulfilment_id, order_id=order.pk)
    if fulfilment.method == FulfilmentMethod.PICKUP:
        raise IllegalTransition(
            "A pickup fulfilment is collected at the store, not shipped.",
            status=fulfilment.status,
            target=FS.SHIPPED,
        )
    _move(fulfilment, {FS.OPEN, FS.PACKED}, FS.SHIPPED)
    _commit(order, fulfilment, user)
    fulfilment.status, fulfilment.shipped_at = FS.SHIPPED, timezone.now()
    fulfilment.carrier, fulfilment.tracking_number = carrier[:60], tracking_number[:120]
    fulfilment.save(update_fields=["status", "shipped_at", "carrier", "tracking_number"])
    state.record(
        order,
        kind="fulfilment_shipped",
        message=f"Shipped from fulfilment #{fulfilment.pk} with {carrier} {tracking_number}",
        user=user,
        data={"fulfilment": fulfilment.pk, "carrier": carrier, "tracking": tracking_number},
    )
    _settle(order, user)
    return fulfilment


@transaction.atomic(durable=True)
def fulfilment_mark_ready(*, order: Order, fulfilment_id: int, user=None) -> Fulfilment:
    """Goods are at the pickup counter; the shopper can come. Locks order and fulfilment."""
    order = order_for_update(order_id=order.pk)
    fulfilment = fulfilment_for_update(fulfilment_id=fulfilment_id, order_id=order.pk)
    if fulfilment.method != FulfilmentMethod.PICKUP:
        raise IllegalTransition(
            "Only pickup fulfilments wait at the counter.",
            status=fulfilment.status,
            target=FS.READY,
        )
    _move(fulfilment, {FS.OPEN}, FS.READY)
    fulfilment.status, fulfilment.ready_at = FS.READY, timezone.now()
    fulfilment.save(update_fields=["status", "ready_at"])
    state.record(
        order,
        kind="ready_for_pickup",
        message=f"Ready for pickup (fulfilment #{fulfilment.pk})",
        user=user,
        data={"fulfilment": fulfilment.pk},
    )
    return fulfilment


@transaction.atomic(durable=True)
def fulfilment_collect(*, order: Order, fulfilment_id: int, user=None) -> Fulfilment:
    """The shopper collected the goods: their reservations are committed at the store."""
    order = order_for_update(order_id=order.pk)
    fulfilment = fulfilment_for_update(fulfilment_id=fulfilment_id, order_id=order.pk)
    _move(fulfilment, {FS.READY}, FS.COLLECTED)
    _commit(order, fulfilment, user)
    fulfilment.status, fulfilment.collected_at = FS.COLLECTED, timezone.now()
    fulfilment.save(update_fields=["status", "collected_at"])
    state.record(
        order,
        kind="collected",
        message=f"Collected (fulfilment #{fulfilment.pk})",
        user=user,
        data={"fulfilment": fulfilment.pk},
    )
    _settle(order, user)
    return fulfilment


@transaction.atomic(durable=True)
def fulfilment_cancel(*, order: Order, fulfilment_id: int, user=None) -> Fulfilment:
    """Stop picking: the units stay reserved for the order and can be fulfilled again."""
    order = order_for_update(order_id=order.pk)
    fulfilment = fulfilment_for_update(fulfilment_id=fulfilment_id, order_id=order.pk)
    _move(fulfilment, set(OPEN_FULFILMENT), FS.CANCELLED)
    fulfilment.status, fulfilment.cancelled_at = FS.CANCELLED, timezone.now()
    fulfilment.save(update_fields=["status", "cancelled_at"])
    state.record(
        order,
        kind="fulfilment_cancelled",
        message=f"Fulfilment #{fulfilment.pk} cancelled; units stay reserved",
        user=user,
        data={"fulfilment": fulfilment.pk},
    )
    return fulfilment


def _commit(order: Order, fulfilment: Fulfilment, user) -> None:
    picks = list(fulfilment.lines.all())
    allocations = {a.pk: a for a in allocations_for_update(line_ids={p.line_id for p in picks})}
    per_line: dict[int, int] = defaultdict(int)
    for pick in picks:
        allocation = allocations[pick.allocation_id]
        if allocation.reservation is None or allocation.quantity_open < pick.quantity:
            raise OrderError(
                "These units are no longer reserved.", code="nothing_reserved", line=pick.line_id
            )
        reservation_commit(
            reservation=allocation.reservation,
            quantity=pick.quantity,
            reference=order.number,
            user=state.staff_user(user),
        )
        done = pick.quantity == allocation.quantity_open
        update = {"quantity_fulfilled": F("quantity_fulfilled") + pick.quantity}
        if done:
            update["reservation"] = None
        Allocation.objects.filter(pk=allocation.pk).update(**update)
        allocation.quantity_fulfilled += pick.quantity
        per_line[pick.line_id] += pick.quantity
    for line_id, units in per_line.items():
        OrderLine.objects.filter(pk=line_id).update(
            quantity_fulfilled=F("quantity_fulfilled") + units
        )


def _settle(order: Order, user) -> None:
    totals = OrderLine.objects.filter(order=order).aggregate(
        quantity=Sum("quantity"),
        fulfilled=Sum("quantity_fulfilled"),
        cancelled=Sum("quantity_cancelled"),
    )
    done = totals["fulfilled"] + totals["cancelled"] == totals["quantity"]
    target = OrderStatus.FULFILLED if done else OrderStatus.PARTIALLY_FULFILLED
    if order.status != target:
        state.transition(order, target, user=user)
