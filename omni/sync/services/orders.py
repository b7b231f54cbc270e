"""Orders arriving from channel feeds and webhooks, placed through the one order entry point."""

from decimal import Decimal, InvalidOperation

from omni.errors import InvalidInput
from omni.models import Channel


def _payment(data: dict):
    from orders.services import PaymentInput

    payment = data.get("payment")
    if not payment:
        return None
    if not isinstance(payment, dict):
        raise InvalidInput("payment must be an object.", code="invalid", field="payment")
    amount = payment.get("amount")
    try:
        amount = Decimal(str(amount)) if amount not in (None, "") else None
    except InvalidOperation:
        raise InvalidInput(
            "payment.amount is not a number.", code="invalid", field="payment.amount"
        ) from None
    return PaymentInput(
        status=str(payment.get("status") or "pending"),
        reference=str(payment.get("reference") or "")[:120],
        amount=amount,
    )


def order_from_feed(*, channel: Channel, data: dict) -> bool:
    """Place the order a channel sent (feed row or webhook event). Returns True when it was
    created, False when the channel had already sent it (found by `(channel, external_id)`).
    Raises the order's domain errors (unknown SKU, insufficient stock...) unchanged."""
    from orders.services import CustomerInput, LineInput, order_place

    customer = data.get("customer") or None
    if customer is not None and not isinstance(customer, dict):
        raise InvalidInput("customer must be an object.", code="invalid", field="customer")
    fields = ("email", "phone", "account_id", "first_name", "last_name")
    placement = order_place(
        channel=channel,
        external_id=str(data["external_id"]),
        lines=[
            LineInput(
                sku=str(line["sku"]).strip(),
                quantity=int(line["quantity"]),
                fulfilment_method=line.get("fulfilment_method") or None,
                pickup_location_code=str(line.get("pickup_location_code") or ""),
            )
            for line in data["lines"]
        ],
        customer=(
            CustomerInput(**{k: str(customer.get(k) or "") for k in fields}) if customer else None
        ),
        fulfilment_method=str(data.get("fulfilment_method") or "ship"),
        pickup_location_code=str(data.get("pickup_location_code") or ""),
        shipping_address=data.get("shipping_address") or None,
        billing_address=data.get("billing_address") or None,
        payment=_payment(data),
        note=str(data.get("note") or "")[:500],
        actor=f"channel feed {channel.code}",
    )
    return placement.created
