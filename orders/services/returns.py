"""Returns at any location (not only where the goods were bought), refunds and exchanges."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum

from catalog.money import quantize
from customers.services import loyalty_reverse
from inventory.models import StockLocation
from inventory.services import stock_return
from omni.errors import InvalidInput
from omni.models import Channel
from orders import state
from orders.errors import OrderError
from orders.locks import lines_for_update, order_for_update
from orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    RefundMethod,
    Return,
    ReturnLine,
)
from orders.services.lifecycle import _book_refund
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PaymentInput,
    Placement,
    order_place,
)


@dataclass(frozen=True)
class ReturnLineInput:
    line_id: int
    quantity: int
    restock: bool = True
    reason: str = ""


@dataclass
class ReturnResult:
    return_record: Return
    refund: Refund | None
    created: bool


def return_create(
    *,
    order: Order,
    location_code: str,
    lines: Sequence[ReturnLineInput],
    refund_method: str = RefundMethod.ORIGINAL_PAYMENT,
    refund_reference: str = "",
    reason: str = "",
    channel: Channel | None = None,
    external_id: str | None = None,
    user=None,
    actor: str = "",
) -> ReturnResult:
    """Receive returned units of a fulfilled order at any location: each unit is restocked
    there (a RETURN movement) or written off; a refund record for their share of what was paid
    is created; earned loyalty points are reversed in proportion. At most the fulfilled and not
    yet returned units of a line come back (checked under the order lock). With an
    `external_id` (e.g. the till's return id) a replay returns the first return."""
    if external_id:
        existing = Return.objects.filter(order=order, external_id=external_id).first()
        if existing is not None:
            return ReturnResult(existing, existing.refunds.first(), created=False)
    try:
        with transaction.atomic(durable=True):
            return _return_create(
                order=order,
                location_code=location_code,
                lines=lines,
                refund_method=refund_method,
                refund_reference=refund_reference,
                reason=reason,
                channel=channel,
                external_id=external_id,
                user=user,
                actor=actor,
            )
    except IntegrityError:
        existing = Return.objects.filter(order=order, external_id=external_id).first()
        if not external_id or existing is None:
            raise
        return ReturnResult(existing, existing.refunds.first(), created=False)


def _return_create(
    *,
    order: Order,
    location_code: str,
    lines: Sequence[ReturnLineInput],
    refund_method: str,
    refund_reference: str,
    reason: str,
    channel: Channel | None,
    external_id: str | None,
    user,
    actor: str,
) -> ReturnResult:
    if refund_method not in RefundMethod.values:
        raise InvalidInput("Unknown refund method.", code="invalid_choice", field="refund.method")
    if not lines:
        raise InvalidInput("Name the lines returned.", code="required", field="lines")
    order = order_for_update(order_id=order.pk)
    state.require(order, state.RETURNABLE, "return goods")
    location = StockLocation.objects.filter(code=location_code, active=True).first()
    if location is None:
        raise InvalidInput(
            f"Unknown location {location_code}.", code="unknown_location", field="location"
        )
    wanted: dict[int, int] = {}
    for index, item in enumerate(lines):
        if (
            isinstance(item.quantity, bool)
            or not isinstance(item.quantity, int)
            or item.quantity <= 0
        ):
            raise InvalidInput(
                "Quantity must be a positive integer.",
                code="invalid_quantity",
                field=f"lines.{index}.quantity",
            )
        wanted[item.line_id] = wanted.get(item.line_id, 0) + item.quantity
    order_lines = {
        line.pk: line for line in lines_for_update(order_id=order.pk, line_ids=list(wanted))
    }
    for index, item in enumerate(lines):
        line = order_lines.get(item.line_id)
        if line is None:
            raise InvalidInput(
                "Unknown line for this order.", code="unknown_line", field=f"lines.{index}.line"
            )
        returnable = line.quantity_fulfilled - line.quantity_returned
        if wanted[line.pk] > returnable:
            raise OrderError(
                f"Only {returnable} x {line.sku} can be returned.",
                code="quantity_exceeded",
                field=f"lines.{index}.quantity",
                sku=line.sku,
                requested=wanted[line.pk],
                returnable=returnable,
            )

    record = Return.objects.create(
        order=order,
        location=location,
        channel=channel or order.channel,
        reason=reason[:255],
        external_id=external_id or None,
        received_by=state.staff_user(user),
    )
    rows = []
    refund_total = Decimal("0")
    for item in lines:
        line = order_lines[item.line_id]
        share = quantize(line.line_total * item.quantity / line.quantity, order.currency)
        refund_total += share
        rows.append(
            ReturnLine(
                return_record=record,
                line=line,
                quantity=item.quantity,
                restock=item.restock,
                reason=item.reason[:255],
                refund_amount=share,
            )
        )
        stock_return(
            variant_id=line.variant_id,
            location_id=location.pk,
            quantity=item.quantity,
            reference=f"{order.number}/R{record.pk}",
            restock=item.restock,
            user=state.staff_user(user),
        )
    ReturnLine.objects.bulk_create(rows)
    for line_id, units in wanted.items():
        updated = OrderLine.objects.filter(
            pk=line_id, quantity_returned__lte=F("quantity_fulfilled") - units
        ).update(quantity_returned=F("quantity_returned") + units)
        if updated != 1:
            raise OrderError("Returned more than was fulfilled.", code="quantity_exceeded")

    refund = None
    refundable = order.payment_amount - order.refunded_total
    amount = min(refund_total, refundable) if refundable > 0 else Decimal("0")
    if amount > 0:
        refund = Refund.objects.create(
            order=order,
            return_record=record,
            amount=amount,
            method=refund_method,
            reference=refund_reference[:120],
            reason=reason[:255] or "return",
            created_by=state.staff_user(user),
        )
        _book_refund(order, amount)
    if order.loyalty_points_earned and refund_total > 0:
        loyalty_reverse(
            idempotency_key=f"return:{record.pk}:earn:reverse",
            reference=f"{order.number}/R{record.pk}",
            original_idempotency_key=f"order:{order.number}:earn",
            amount=refund_total,
        )

    totals = OrderLine.objects.filter(order=order).aggregate(
        fulfilled=Sum("quantity_fulfilled"),
        returned=Sum("quantity_returned"),
        quantity=Sum("quantity"),
        cancelled=Sum("quantity_cancelled"),
    )
    everything_back = (
        totals["returned"] == totals["fulfilled"]
        and totals["fulfilled"] + totals["cancelled"] == totals["quantity"]
    )
    restocked = sum(r.quantity for r in rows if r.restock)
    state.record(
        order,
        kind="returned",
        message=(
            f"Return #{record.pk} at {location.code}: {sum(wanted.values())} units, "
            f"{restocked} restocked, refund {amount} {order.currency}"
        ),
        user=user,
        actor=actor,
        data={"return": record.pk, "location": location.code, "refund": str(amount)},
    )
    if order.status != OrderStatus.PARTIALLY_FULFILLED:
        target = OrderStatus.RETURNED if everything_back else OrderStatus.PARTIALLY_RETURNED
        state.transition(order, target, user=user, actor=actor)
    return ReturnResult(record, refund, created=True)


def exchange_create(
    *,
    order: Order,
    location_code: str,
    lines: Sequence[ReturnLineInput],
    new_lines: Sequence[LineInput],
    channel: Channel | None = None,
    reason: str = "",
    user=None,
) -> tuple[ReturnResult, Placement]:
    """An exchange: the returned units come back at `location_code` and a new order for the
    replacement goods, linked to the return, is placed through the same pricing and sourcing
    (picked up at that store). The credit of the return pays for it; one transaction."""
    with transaction.atomic(durable=True):
        result = _return_create(
            order=order,
            location_code=location_code,
            lines=lines,
            refund_method=RefundMethod.EXCHANGE,
            refund_reference="",
            reason=reason or "exchange",
            channel=channel,
            external_id=None,
            user=user,
            actor="",
        )
        credit = result.refund.amount if result.refund else Decimal("0")
        placement = order_place(
            channel=channel or order.channel,
            lines=[
                LineInput(
                    line.sku,
                    line.quantity,
                    line.fulfilment_method or "pickup",
                    line.pickup_location_code or location_code,
                )
                for line in new_lines
            ],
            customer=CustomerInput(
                email=order.customer_email,
                phone=order.customer_phone,
                first_name=order.customer_name.split(" ")[0] if order.customer_name else "",
                last_name=" ".join(order.customer_name.split(" ")[1:]),
            )
            if (order.customer_email or order.customer_phone)
            else None,
            fulfilment_method="pickup",
            pickup_location_code=location_code,
            shipping_address=order.shipping_address,
            payment=PaymentInput(
                status="paid", reference=f"exchange:R{result.return_record.pk}", amount=credit
            ),
            exchange_for=result.return_record,
            note=f"Exchange for return #{result.return_record.pk} of {order.number}",
            user=user,
        )
    return result, placement
