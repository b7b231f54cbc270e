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

from django.db import connection

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
    """Replace every fact with a fresh extraction of every order; returns the order count.

    On PostgreSQL the extraction runs as INSERT ... SELECT statements over ranges of order
    ids (the same definitions as `order_facts_extract`, which the consistency test holds
    against it); elsewhere it runs through `order_facts_extract` in batches.
    """
    for model in (OrderFact, OrderLineFact, ReturnFact):
        model.objects.all().delete()
    if connection.vendor == "postgresql":
        return _rebuild_all_sql()
    count = 0
    for batch in all_order_id_batches():
        extracted = order_facts_extract(order_ids=batch)
        facts_insert(extracted)
        count += len(extracted.orders)
    return count


SQL_RANGE = 250_000


def _rebuild_all_sql() -> int:
    from catalog.models import Variant
    from orders.models import Allocation, Fulfilment, Order, OrderLine, Return, ReturnLine

    t = {
        model.__name__: connection.ops.quote_name(model._meta.db_table)
        for model in (Order, OrderLine, Allocation, Fulfilment, Return, ReturnLine, Variant,
                      Channel, OrderFact, OrderLineFact, ReturnFact)
    }  # fmt: skip
    fulfilled = ", ".join(f"'{s}'" for s in sorted(FULFILLED_STATUSES))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), -1) FROM {t['Order']}")
        low, high = cursor.fetchone()
        start = low
        while start <= high:
            bounds = {"low": start, "high": start + SQL_RANGE - 1}
            orders = f"""
                SELECT o.id, o.channel_id, o.customer_id, o.created_at, o.status,
                    o.fulfilment_method, o.currency, o.status = 'cancelled' AS cancelled,
                    (o.created_at AT TIME ZONE COALESCE(NULLIF(c.timezone, ''), 'UTC'))::date
                        AS day,
                    COALESCE(NULLIF(c.timezone, ''), 'UTC') AS tz
                FROM {t["Order"]} o JOIN {t["Channel"]} c ON c.id = o.channel_id
                WHERE o.id BETWEEN %(low)s AND %(high)s
            """
            cursor.execute(
                f"""
                WITH ord AS ({orders}),
                lines AS (
                    SELECT l.id, l.order_id, l.variant_id, v.product_id, l.quantity,
                        l.unit_price, l.discount_total, l.pickup_location_id, ord.channel_id,
                        ord.customer_id, ord.day, ord.cancelled,
                        CASE WHEN ord.cancelled THEN l.quantity
                            ELSE l.quantity - l.quantity_cancelled END AS live
                    FROM {t["OrderLine"]} l
                    JOIN ord ON ord.id = l.order_id
                    JOIN {t["Variant"]} v ON v.id = l.variant_id
                ),
                allocs AS (
                    SELECT a.id, a.line_id, a.location_id,
                        CASE WHEN lines.cancelled THEN a.quantity
                            ELSE a.quantity - a.quantity_released END AS q
                    FROM {t["Allocation"]} a JOIN lines ON lines.id = a.line_id
                ),
                booked AS (
                    SELECT line_id, SUM(q) AS booked,
                        (ARRAY_AGG(location_id ORDER BY id))[1] AS first_location
                    FROM allocs WHERE q > 0 GROUP BY line_id
                ),
                pieces AS (
                    SELECT lines.*, a.location_id AS piece_location, a.q AS piece_q
                    FROM lines JOIN allocs a ON a.line_id = lines.id AND a.q > 0
                    JOIN booked b ON b.line_id = lines.id
                    WHERE lines.live > 0 AND b.booked <= lines.live
                    UNION ALL
                    SELECT lines.*, lines.pickup_location_id,
                        lines.live - COALESCE(b.booked, 0)
                    FROM lines LEFT JOIN booked b ON b.line_id = lines.id
                    WHERE lines.live > 0 AND COALESCE(b.booked, 0) < lines.live
                    UNION ALL
                    SELECT lines.*, b.first_location, lines.live
                    FROM lines JOIN booked b ON b.line_id = lines.id
                    WHERE lines.live > 0 AND b.booked > lines.live
                )
                INSERT INTO {t["OrderLineFact"]} (
                    line_id, order_id, channel_id, customer_id, variant_id, product_id,
                    location_id, day, cancelled, quantity, gross, discount, net
                )
                SELECT id, order_id, channel_id, customer_id, variant_id, product_id,
                    piece_location, day, cancelled, piece_q,
                    ROUND(unit_price * piece_q, 3),
                    ROUND(discount_total * piece_q / quantity, 3),
                    ROUND(unit_price * piece_q, 3) - ROUND(discount_total * piece_q / quantity, 3)
                FROM pieces
                """,
                bounds,
            )
            cursor.execute(
                f"""
                WITH ord AS ({orders}),
                sums AS (
                    SELECT order_id, SUM(quantity) AS units, SUM(gross) AS gross,
                        SUM(discount) AS discount
                    FROM {t["OrderLineFact"]}
                    WHERE order_id BETWEEN %(low)s AND %(high)s GROUP BY order_id
                ),
                fulfil AS (
                    SELECT f.order_id,
                        MAX(COALESCE(f.shipped_at, f.ready_at, f.collected_at))
                            FILTER (WHERE f.status <> 'cancelled') AS left_at,
                        BOOL_OR(f.status = 'collected') AS collected
                    FROM {t["Fulfilment"]} f
                    WHERE f.order_id BETWEEN %(low)s AND %(high)s GROUP BY f.order_id
                )
                INSERT INTO {t["OrderFact"]} (
                    order_id, channel_id, customer_id, placed_at, day, month, status, cancelled,
                    first_order, pickup, collected, fulfil_hours, currency, units, gross,
                    discount, net
                )
                SELECT ord.id, ord.channel_id, ord.customer_id, ord.created_at, ord.day,
                    DATE_TRUNC('month', ord.day)::date, ord.status, ord.cancelled, FALSE,
                    ord.fulfilment_method = 'pickup', COALESCE(fulfil.collected, FALSE),
                    CASE WHEN ord.status IN ({fulfilled})
                        AND ord.fulfilment_method <> 'in_store' AND fulfil.left_at IS NOT NULL
                        THEN GREATEST(0, FLOOR(
                            EXTRACT(EPOCH FROM fulfil.left_at - ord.created_at) / 3600))::int
                    END,
                    ord.currency, COALESCE(sums.units, 0), COALESCE(sums.gross, 0),
                    COALESCE(sums.discount, 0),
                    COALESCE(sums.gross, 0) - COALESCE(sums.discount, 0)
                FROM ord
                LEFT JOIN sums ON sums.order_id = ord.id
                LEFT JOIN fulfil ON fulfil.order_id = ord.id
                """,
                bounds,
            )
            cursor.execute(
                f"""
                WITH ord AS ({orders})
                INSERT INTO {t["ReturnFact"]} (
                    return_line_id, order_id, channel_id, variant_id, product_id, location_id,
                    day, quantity, amount
                )
                SELECT rl.id, r.order_id, ord.channel_id, l.variant_id, v.product_id,
                    r.location_id, (r.created_at AT TIME ZONE ord.tz)::date, rl.quantity,
                    rl.refund_amount
                FROM {t["ReturnLine"]} rl
                JOIN {t["Return"]} r ON r.id = rl.return_record_id
                JOIN ord ON ord.id = r.order_id
                JOIN {t["OrderLine"]} l ON l.id = rl.line_id
                JOIN {t["Variant"]} v ON v.id = l.variant_id
                """,
                bounds,
            )
            start += SQL_RANGE
    return OrderFact.objects.count()
