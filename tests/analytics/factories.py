"""Helpers that write analytics facts by hand, for tests that check the rollup arithmetic."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from analytics.models import OrderFact, OrderLineFact, ReturnFact
from inventory.models import StockLocation

_line_ids = iter(range(1, 10_000_000))


def location(code: str, **fields) -> StockLocation:
    return StockLocation.objects.create(code=code, name=code.title(), kind="store", **fields)


def order_fact(
    *,
    order_id: int,
    channel,
    day: date,
    lines: list[tuple],
    customer_id: int | None = None,
    cancelled: bool = False,
    pickup: bool = False,
    collected: bool = False,
    fulfil_hours: int | None = None,
    hour: int = 10,
) -> OrderFact:
    """`lines`: (variant, location, quantity, gross, discount) tuples."""
    gross = sum((Decimal(str(line[3])) for line in lines), Decimal(0))
    discount = sum((Decimal(str(line[4])) for line in lines), Decimal(0))
    fact = OrderFact.objects.create(
        order_id=order_id,
        channel=channel,
        customer_id=customer_id,
        placed_at=datetime.combine(day, time(hour), tzinfo=UTC),
        day=day,
        month=day.replace(day=1),
        status="cancelled" if cancelled else "fulfilled",
        cancelled=cancelled,
        pickup=pickup,
        collected=collected,
        fulfil_hours=fulfil_hours,
        currency="USD",
        units=sum(line[2] for line in lines),
        gross=gross,
        discount=discount,
        net=gross - discount,
    )
    for variant, loc, quantity, line_gross, line_discount in lines:
        OrderLineFact.objects.create(
            line_id=next(_line_ids),
            order_id=order_id,
            channel=channel,
            customer_id=customer_id,
            variant=variant,
            product_id=variant.product_id,
            location=loc,
            day=day,
            cancelled=cancelled,
            quantity=quantity,
            gross=Decimal(str(line_gross)),
            discount=Decimal(str(line_discount)),
            net=Decimal(str(line_gross)) - Decimal(str(line_discount)),
        )
    return fact


def return_fact(*, order_id: int, channel, variant, loc, day: date, quantity: int, amount):
    return ReturnFact.objects.create(
        return_line_id=next(_line_ids),
        order_id=order_id,
        channel=channel,
        variant=variant,
        product_id=variant.product_id,
        location=loc,
        day=day,
        quantity=quantity,
        amount=Decimal(str(amount)),
    )


def days(start: date, count: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(count)]
