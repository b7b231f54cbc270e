"""Reading orders into analytics facts: the one module that knows the orders tables' shape.

Definitions (what a KPI counts):
- an order counts on its channel's local calendar day of `created_at`; a cancelled order
  counts only as cancelled;
- units are ordered units less cancelled ones, booked at the location their allocation sits at
  (released allocation units do not count); a line without allocations (a till sale) is
  booked at its pickup location, if any;
- gross = unit price x units; discounts = the line's discount prorated by units; net = gross -
  discounts (tax and shipping are not sales);
- a return line counts on its return's local day, at the location it came back to, for the
  channel that sold it, with its refund amount;
- fulfilment time: placement to the moment the last goods left (shipped) or were ready for
  pickup, for fully fulfilled orders that were not sold at the till.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from analytics.bulk import rows_insert
from analytics.models import OrderFact, OrderLineFact, ReturnFact
from omni.models import Channel

MILLI = Decimal("0.001")
FULFILLED_STATUSES = {"fulfilled", "completed", "partially_returned", "returned"}


ORDER_COLUMNS = (
    "order_id", "channel_id", "customer_id", "placed_at", "day", "month", "status", "cancelled",
    "first_order", "pickup", "collected", "fulfil_hours", "currency", "units", "gross",
    "discount", "net",
)  # fmt: skip
LINE_COLUMNS = (
    "line_id", "order_id", "channel_id", "customer_id", "variant_id", "product_id",
    "location_id", "day", "cancelled", "quantity", "gross", "discount", "net",
)  # fmt: skip
RETURN_COLUMNS = (
    "return_line_id", "order_id", "channel_id", "variant_id", "product_id", "location_id",
    "day", "quantity", "amount",
)  # fmt: skip


@dataclass
class ExtractedFacts:
    """Fact rows as tuples in the *_COLUMNS order (inserted by `facts_insert`)."""

    orders: list[tuple] = field(default_factory=list)
    lines: list[tuple] = field(default_factory=list)
    returns: list[tuple] = field(default_factory=list)


def facts_insert(extracted: ExtractedFacts) -> None:
    rows_insert(OrderFact, ORDER_COLUMNS, extracted.orders)
    rows_insert(OrderLineFact, LINE_COLUMNS, extracted.lines)
    rows_insert(ReturnFact, RETURN_COLUMNS, extracted.returns)


def _q(value: Decimal) -> Decimal:
    return value.quantize(MILLI, rounding=ROUND_HALF_UP)


def _zones() -> dict[int, str]:
    return dict(Channel.objects.values_list("id", "timezone"))


def order_facts_extract(*, order_ids: Sequence[int]) -> ExtractedFacts:
    """Facts of the given orders (unknown ids are skipped: a deleted order has no facts).
    Six queries whatever the number of orders."""
    from analytics.services import local_day
    from orders.models import Allocation, Fulfilment, Order, OrderLine, ReturnLine

    out = ExtractedFacts()
    if not order_ids:
        return out
    zones = _zones()
    orders = list(
        Order.objects.filter(id__in=order_ids).values_list(
            "id",
            "channel_id",
            "customer_id",
            "created_at",
            "status",
            "fulfilment_method",
            "currency",
        )
    )
    if not orders:
        return out
    lines_by_order: dict[int, list] = defaultdict(list)
    for row in (
        OrderLine.objects.filter(order_id__in=order_ids)
        .values_list(
            "id",
            "order_id",
            "variant_id",
            "variant__product_id",
            "quantity",
            "quantity_cancelled",
            "unit_price",
            "discount_total",
            "pickup_location_id",
        )
        .order_by("id")
    ):
        lines_by_order[row[1]].append(row)
    allocations: dict[int, list] = defaultdict(list)
    for line_id, location_id, quantity, released in (
        Allocation.objects.filter(line__order_id__in=order_ids)
        .values_list("line_id", "location_id", "quantity", "quantity_released")
        .order_by("id")
    ):
        allocations[line_id].append((location_id, quantity, released))
    left_at: dict[int, object] = {}
    for order_id, shipped, ready, collected in (
        Fulfilment.objects.filter(order_id__in=order_ids)
        .exclude(status="cancelled")
        .values_list("order_id", "shipped_at", "ready_at", "collected_at")
    ):
        moment = shipped or ready or collected
        if moment is not None and (order_id not in left_at or moment > left_at[order_id]):
            left_at[order_id] = moment
    collected_orders = set(
        Fulfilment.objects.filter(order_id__in=order_ids, status="collected").values_list(
            "order_id", flat=True
        )
    )
    order_info: dict[int, tuple] = {}
    for order_id, channel_id, customer_id, created_at, status, method, currency in orders:
        tz = zones.get(channel_id, "UTC")
        day = local_day(created_at, tz)
        cancelled = status == "cancelled"
        order_info[order_id] = (channel_id, tz)
        units, gross, discount = 0, Decimal(0), Decimal(0)
        for (
            line_id,
            _,
            variant_id,
            product_id,
            quantity,
            quantity_cancelled,
            unit_price,
            line_discount,
            pickup_location_id,
        ) in lines_by_order.get(order_id, []):
            live = quantity if cancelled else quantity - quantity_cancelled
            if live <= 0:
                continue
            pieces: list[tuple[int | None, int]] = []
            for location_id, a_quantity, released in allocations.get(line_id, []):
                q = a_quantity if cancelled else a_quantity - released
                if q > 0:
                    pieces.append((location_id, q))
            booked = sum(q for _, q in pieces)
            if booked < live:
                pieces.append((pickup_location_id, live - booked))
            elif booked > live:
                # Allocations can outnumber live units only transiently; trust the line.
                pieces = [(pieces[0][0], live)]
            for location_id, q in pieces:
                piece_gross = _q(unit_price * q)
                piece_discount = _q(line_discount * q / quantity)
                out.lines.append(
                    (
                        line_id, order_id, channel_id, customer_id, variant_id, product_id,
                        location_id, day, cancelled, q, piece_gross, piece_discount,
                        piece_gross - piece_discount,
                    )
                )  # fmt: skip
                units += q
                gross += piece_gross
                discount += piece_discount
        fulfil_hours = None
        if status in FULFILLED_STATUSES and method != "in_store" and order_id in left_at:
            seconds = (left_at[order_id] - created_at).total_seconds()
            fulfil_hours = max(0, int(seconds // 3600))
        out.orders.append(
            (
                order_id, channel_id, customer_id, created_at, day, day.replace(day=1), status,
                cancelled, False, method == "pickup", order_id in collected_orders,
                fulfil_hours, currency, units, gross, discount, gross - discount,
            )
        )  # fmt: skip
    for (
        return_line_id,
        order_id,
        variant_id,
        product_id,
        location_id,
        created_at,
        quantity,
        amount,
    ) in ReturnLine.objects.filter(return_record__order_id__in=order_ids).values_list(
        "id",
        "return_record__order_id",
        "line__variant_id",
        "line__variant__product_id",
        "return_record__location_id",
        "return_record__created_at",
        "quantity",
        "refund_amount",
    ):
        channel_id, tz = order_info[order_id]
        out.returns.append(
            (
                return_line_id, order_id, channel_id, variant_id, product_id, location_id,
                local_day(created_at, tz), quantity, amount,
            )
        )  # fmt: skip
    return out


def all_order_id_batches(size: int = 5000) -> Iterator[list[int]]:
    """Every order id in ascending batches (keyset pagination: constant cost per batch)."""
    from orders.models import Order

    last = 0
    while True:
        batch = list(
            Order.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1]


def order_facts_rebuild_all() -> int:
    """Replace every fact with a fresh extraction of every order; returns the order count."""
    for model in (OrderFact, OrderLineFact, ReturnFact):
        model.objects.all().delete()
    count = 0
    for batch in all_order_id_batches():
        extracted = order_facts_extract(order_ids=batch)
        facts_insert(extracted)
        count += len(extracted.orders)
    return count
