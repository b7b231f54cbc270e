"""Order lifecycle after placement: payment, cancellation (whole or per line), re-allocation
and completion."""

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from catalog.money import quantize
from customers.services import loyalty_earn, loyalty_reverse
from inventory.models import StockLocation
from inventory.services import reservation_move, reservation_release
from omni.errors import DomainError, InvalidInput
from orders import state
from orders.errors import OrderError
from orders.locks import allocations_for_update, lines_for_update, order_for_update
from orders.models import (
    Allocation,
    Fulfilment,
    FulfilmentLine,
    FulfilmentMethod,
    FulfilmentStatus,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Refund,
    RefundMethod,
)
from promotions.services import voucher_release

OPEN_FULFILMENT = (FulfilmentStatus.OPEN, FulfilmentStatus.PACKED, FulfilmentStatus.READY)


@transaction.atomic
def order_payment_record(
    *, order: Order, status: str, reference: str = "", amount: Decimal | None = None, user=None
) -> Order:
    """Record the channel's payment (authorised or paid): a pending order becomes confirmed.
    Locks the order row."""
    if status not in (PaymentStatus.AUTHORIZED, PaymentStatus.PAID):
        raise InvalidInput(
            "Record an authorized or paid payment.", code="invalid_choice", field="status"
        )
    order = order_for_update(order_id=order.pk)
    state.require(order, frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED}), "record payment")
    order.payment_status = status
    order.payment_reference = reference[:120] or order.payment_reference
    order.payment_amount = order.total if amount is None else amount
    order.save(
        update_fields=["payment_status", "payment_reference", "payment_amount", "updated_at"]
    )
    state.record(
        order,
        kind="payment_recorded",
        message=f"Payment {status}: {order.payment_amount} {order.currency}",
        user=user,
        data={"reference": order.payment_reference},
    )
    if order.status == OrderStatus.PENDING:
        state.transition(order, OrderStatus.CONFIRMED, user=user)
    return order


def _release_lines(order: Order, lines: Sequence[OrderLine], user) -> dict[int, int]:
    """Release the open reservations of `lines` and mark their open units cancelled; returns
    {line id: units cancelled}. Refuses lines with units in an unfinished fulfilment."""
    line_ids = [line.pk for line in lines]
    busy = set(
        FulfilmentLine.objects.filter(
            line_id__in=line_ids, fulfilment__status__in=OPEN_FULFILMENT
        ).values_list("line_id", flat=True)
    )
    if busy:
        raise OrderError(
            "Some lines are being picked; cancel their fulfilment first.",
            code="line_in_fulfilment",
            line_ids=sorted(busy),
        )
    allocations = allocations_for_update(line_ids=line_ids)
    held = [a.reservation for a in allocations if a.reservation_id is not None]
    if held:
        reservation_release(reservations=held, user=state.staff_user(user))
    Allocation.objects.filter(pk__in=[a.pk for a in allocations]).update(
        quantity_released=F("quantity") - F("quantity_fulfilled"), reservation=None
    )
    cancelled = {line.pk: line.quantity_open for line in lines if line.quantity_open > 0}
    OrderLine.objects.filter(pk__in=line_ids).update(
        quantity_cancelled=F("quantity") - F("quantity_fulfilled")
    )
    return cancelled


def _refund_cancelled(order: Order, lines, cancelled: dict[int, int], user, reason: str) -> None:
    """Give back what was paid for cancelled units (recorded; the channel pays it out)."""
    if order.payment_status not in (
        PaymentStatus.PAID,
        PaymentStatus.PARTIALLY_REFUNDED,
        PaymentStatus.AUTHORIZED,
    ):
        return
    amount = Decimal("0")
    for line in lines:
        units = cancelled.get(line.pk, 0)
        if units:
            amount += line.line_total * units / line.quantity
    amount = min(quantize(amount, order.currency), order.payment_amount - order.refunded_total)
    if amount <= 0:
        return
    Refund.objects.create(
        order=order,
        amount=amount,
        method=RefundMethod.ORIGINAL_PAYMENT,
        reference=order.payment_reference,
        reason=reason[:255] or "cancellation",
        created_by=state.staff_user(user),
    )
    _book_refund(order, amount)


def _book_refund(order: Order, amount: Decimal) -> None:
    Order.objects.filter(pk=order.pk).update(refunded_total=F("refunded_total") + amount)
    order.refresh_from_db(fields=["refunded_total"])
    order.payment_status = (
        PaymentStatus.REFUNDED
        if order.refunded_total >= order.payment_amount
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    order.save(update_fields=["payment_status", "updated_at"])


@transaction.atomic(durable=True)
def order_cancel(*, order: Order, reason: str = "", user=None, actor: str = "") -> Order:
    """Cancel a whole order before any goods left: releases exactly the units still reserved,
    cancels unfinished fulfilments, releases the voucher, gives back redeemed points and
    records a refund of what was paid. Locks the order, its lines and allocations (pk order)."""
    order = order_for_update(order_id=order.pk)
    state.require(order, state.CANCELLABLE, "cancel")
    Fulfilment.objects.filter(order=order, status__in=OPEN_FULFILMENT).update(
        status=FulfilmentStatus.CANCELLED, cancelled_at=timezone.now()
    )
    lines = lines_for_update(order_id=order.pk)
    cancelled = _release_lines(order, lines, user)
    _refund_cancelled(order, lines, cancelled, user, reason)
    if order.voucher_code:
        voucher_release(order_reference=order.number)
    if order.loyalty_points_redeemed:
        loyalty_reverse(
            idempotency_key=f"order:{order.number}:redeem:reverse",
            reference=order.number,
            original_idempotency_key=f"order:{order.number}:redeem",
        )
    state.transition(
        order,
        OrderStatus.CANCELLED,
        user=user,
        actor=actor,
        message=f"Cancelled{': ' + reason if reason else ''}",
        data={"released": {str(k): v for k, v in cancelled.items()}, "reason": reason},
    )
    return order


@transaction.atomic(durable=True)
def order_lines_cancel(
    *, order: Order, line_ids: Sequence[int], reason: str = "", user=None, actor: str = ""
) -> Order:
    """Cancel the open units of some lines (not yet fulfilled), releasing their reservations.
    Cancelling every open line cancels the order (nothing left) or marks it fulfilled (the
    rest already left). Locks the order, the lines and their allocations."""
    order = order_for_update(order_id=order.pk)
    state.require(order, state.LINE_CANCELLABLE, "cancel lines")
    if not line_ids:
        raise InvalidInput("Name the lines to cancel.", code="required", field="lines")
    lines = lines_for_update(order_id=order.pk, line_ids=line_ids)
    if len(lines) != len(set(line_ids)):
        raise InvalidInput("Unknown line for this order.", code="unknown_line", field="lines")
    if not any(line.quantity_open for line in lines):
        raise OrderError("Those lines have nothing left to cancel.", code="nothing_to_cancel")
    cancelled = _release_lines(order, lines, user)
    _refund_cancelled(order, lines, cancelled, user, reason)
    state.record(
        order,
        kind="lines_cancelled",
        message=f"Cancelled {sum(cancelled.values())} units on {len(cancelled)} lines",
        user=user,
        actor=actor,
        data={"lines": {str(k): v for k, v in cancelled.items()}, "reason": reason},
    )
    totals = OrderLine.objects.filter(order=order).aggregate(
        quantity=Sum("quantity"),
        fulfilled=Sum("quantity_fulfilled"),
        cancelled=Sum("quantity_cancelled"),
    )
    if totals["cancelled"] == totals["quantity"]:
        if order.voucher_code:
            voucher_release(order_reference=order.number)
        if order.loyalty_points_redeemed:
            loyalty_reverse(
                idempotency_key=f"order:{order.number}:redeem:reverse",
                reference=order.number,
                original_idempotency_key=f"order:{order.number}:redeem",
            )
        state.transition(order, OrderStatus.CANCELLED, user=user, actor=actor)
    elif totals["fulfilled"] + totals["cancelled"] == totals["quantity"]:
        state.transition(order, OrderStatus.FULFILLED, user=user, actor=actor)
    return order


@transaction.atomic(durable=True)
def allocation_move(
    *, order: Order, allocation_id: int, location_code: str, reason: str = "", user=None
) -> Allocation:
    """Move the still-reserved units of an allocation to another location (e.g. the store
    cannot find the item). Inventory checks the destination's availability in this same
    transaction; the old allocation keeps its history and a new one records the move.
    Locks the order and the allocation."""
    order = order_for_update(order_id=order.pk)
    state.require(order, state.REALLOCATABLE, "re-allocate")
    allocation = next(
        (
            a
            for a in allocations_for_update(
                line_ids=OrderLine.objects.filter(order=order).values_list("pk", flat=True)
            )
            if a.pk == allocation_id
        ),
        None,
    )
    if allocation is None:
        raise InvalidInput(
            "Unknown allocation for this order.", code="unknown_allocation", field="allocation"
        )
    if allocation.reservation_id is None or allocation.quantity_open == 0:
        raise OrderError("Nothing is reserved on this allocation.", code="nothing_reserved")
    line = allocation.line
    if line.fulfilment_method == FulfilmentMethod.PICKUP:
        raise OrderError(
            "Pickup lines are reserved at the pickup store only.", code="pickup_location_fixed"
        )
    if FulfilmentLine.objects.filter(
        allocation=allocation, fulfilment__status__in=OPEN_FULFILMENT
    ).exists():
        raise OrderError(
            "These units are being picked; cancel the fulfilment first.",
            code="line_in_fulfilment",
        )
    destination = StockLocation.objects.filter(code=location_code, active=True).first()
    if destination is None:
        raise InvalidInput(
            f"Unknown location {location_code}.", code="unknown_location", field="location"
        )
    if destination.pk == allocation.location_id:
        raise InvalidInput(
            "The units are already reserved there.", code="same_location", field="location"
        )
    moved = reservation_move(
        reservation=allocation.reservation,
        location_id=destination.pk,
        user=state.staff_user(user),
    )
    units = allocation.quantity_open
    Allocation.objects.filter(pk=allocation.pk).update(
        quantity_released=F("quantity_released") + units, reservation=None
    )
    new = Allocation.objects.create(
        line=line,
        location=destination,
        quantity=units,
        reservation=moved,
        strategy="manual",
        reason=(reason or f"moved from location {allocation.location_id} by staff")[:255],
    )
    state.record(
        order,
        kind="reallocated",
        message=f"{units} x {line.sku} moved to {destination.code}",
        user=user,
        data={"from_allocation": allocation.pk, "to_allocation": new.pk, "reason": reason},
    )
    return new


@transaction.atomic(durable=True)
def order_complete(*, order: Order, user=None, actor: str = "") -> Order:
    """Close a fulfilled order (the return window passed, or staff say so) and credit the
    customer's loyalty points for what they kept (idempotent by the order number)."""
    order = order_for_update(order_id=order.pk)
    state.require(order, state.COMPLETABLE, "complete")
    state.transition(order, OrderStatus.COMPLETED, user=user, actor=actor)
    _earn(order)
    return order


def _earn(order: Order) -> None:
    kept = order.total - order.refunded_total
    if order.customer_id is None or kept <= 0:
        return
    entry = loyalty_earn(
        customer=order.customer,
        channel=order.channel,
        amount=kept,
        idempotency_key=f"order:{order.number}:earn",
        reference=order.number,
    )
    if entry.points > 0:
        order.loyalty_points_earned = entry.points
        order.save(update_fields=["loyalty_points_earned", "updated_at"])


def orders_complete_due(*, now=None, batch_size: int = 200) -> int:
    """Complete fulfilled orders whose return window (`OMNI_ORDER_RETURN_WINDOW_DAYS`) has
    passed, earning their loyalty points. Each order is its own transaction through
    `order_complete`; an order that moved on meanwhile is skipped. Returns how many completed."""
    due = (now or timezone.now()) - timedelta(days=settings.OMNI_ORDER_RETURN_WINDOW_DAYS)
    ids = list(
        Order.objects.filter(
            status__in=[OrderStatus.FULFILLED, OrderStatus.PARTIALLY_RETURNED],
            updated_at__lt=due,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    done = 0
    for order in Order.objects.filter(pk__in=ids).order_by("pk"):
        try:
            order_complete(order=order, actor="system:return-window")
        except DomainError:
            continue
        done += 1
    return done
