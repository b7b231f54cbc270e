"""Rollup builders: turn the fact tables into the daily rollups the KPIs read.

One set of INSERT ... SELECT statements serves both the nightly full rebuild (no filter) and
the incremental refresh (restricted to the affected days, variants and customers), so the two
cannot drift apart: an incremental refresh rewrites every rollup row its orders touched, with
the same SQL the full rebuild uses for all rows.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from analytics.models import (
    ChannelDay,
    CustomerChannel,
    CustomerMonth,
    FulfilmentDay,
    OrderFact,
    OrderLineFact,
    ReturnFact,
    VariantLocationDay,
)

# SQLite's default limit is 32766 bound parameters; keep IN lists well under it.
CHUNK = 5000
# Up to this many affected days, variant rollups are rewritten for whole days.
WHOLE_DAYS = 7


@dataclass
class AffectedKeys:
    """What an incremental refresh must rewrite."""

    days: set[date] = field(default_factory=set)
    variant_ids: set[int] = field(default_factory=set)
    customer_ids: set[int] = field(default_factory=set)

    def update(self, other: "AffectedKeys") -> None:
        self.days |= other.days
        self.variant_ids |= other.variant_ids
        self.customer_ids |= other.customer_ids

    def __bool__(self) -> bool:
        return bool(self.days or self.variant_ids or self.customer_ids)


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _in(column: str, values: Collection) -> tuple[str, list]:
    values = list(values)
    return f"{column} IN ({', '.join(['%s'] * len(values))})", values


def _chunks(values: Iterable, size: int = CHUNK) -> Iterable[list]:
    batch: list = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _execute(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def first_orders_recompute(*, customer_ids: Collection[int] | None) -> None:
    """Mark each customer's first non-cancelled order (earliest placed_at, then lowest id)."""
    facts = _t(OrderFact)
    batches = [None] if customer_ids is None else list(_chunks(sorted(customer_ids)))
    for batch in batches:
        where, params = ("1=1", []) if batch is None else _in("customer_id", batch)
        _execute(
            f"UPDATE {facts} SET first_order = %s WHERE first_order AND {where}", [False, *params]
        )
        _execute(
            f"""
            UPDATE {facts} SET first_order = %s WHERE order_id IN (
                SELECT order_id FROM (
                    SELECT order_id, ROW_NUMBER() OVER (
                        PARTITION BY customer_id ORDER BY placed_at, order_id
                    ) AS rn
                    FROM {facts}
                    WHERE customer_id IS NOT NULL AND NOT cancelled AND {where}
                ) ranked WHERE rn = 1
            )
            """,
            [True, *params],
        )


def channel_days_rebuild(*, days: Collection[date] | None) -> None:
    """Rewrite ChannelDay rows of `days` (all rows when None) from the facts."""
    batches = [None] if days is None else list(_chunks(sorted(days)))
    for batch in batches:
        if batch is None:
            where, params = "1=1", []
            ChannelDay.objects.all().delete()
        else:
            where, params = _in("day", batch)
            ChannelDay.objects.filter(day__in=batch).delete()
        _execute(
            f"""
            INSERT INTO {_t(ChannelDay)} (
                channel_id, day, orders, cancelled_orders, units, gross_sales, discounts,
                net_sales, returned_units, returns_amount, new_customer_orders,
                returning_customer_orders, guest_orders, pickup_orders, pickups_collected,
                fulfilled_orders
            )
            SELECT channel_id, day, SUM(orders), SUM(cancelled_orders), SUM(units),
                SUM(gross), SUM(discount), SUM(net), SUM(returned_units), SUM(returns_amount),
                SUM(new_orders), SUM(returning_orders), SUM(guest_orders), SUM(pickup_orders),
                SUM(collected), SUM(fulfilled)
            FROM (
                SELECT channel_id, day,
                    SUM(CASE WHEN cancelled THEN 0 ELSE 1 END) AS orders,
                    SUM(CASE WHEN cancelled THEN 1 ELSE 0 END) AS cancelled_orders,
                    SUM(CASE WHEN cancelled THEN 0 ELSE units END) AS units,
                    SUM(CASE WHEN cancelled THEN 0 ELSE gross END) AS gross,
                    SUM(CASE WHEN cancelled THEN 0 ELSE discount END) AS discount,
                    SUM(CASE WHEN cancelled THEN 0 ELSE net END) AS net,
                    0 AS returned_units, 0 AS returns_amount,
                    SUM(CASE WHEN NOT cancelled AND first_order THEN 1 ELSE 0 END)
                        AS new_orders,
                    SUM(CASE WHEN NOT cancelled AND customer_id IS NOT NULL AND NOT first_order
                        THEN 1 ELSE 0 END) AS returning_orders,
                    SUM(CASE WHEN NOT cancelled AND customer_id IS NULL THEN 1 ELSE 0 END)
                        AS guest_orders,
                    SUM(CASE WHEN pickup THEN 1 ELSE 0 END) AS pickup_orders,
                    SUM(CASE WHEN pickup AND collected THEN 1 ELSE 0 END) AS collected,
                    SUM(CASE WHEN NOT cancelled AND fulfil_hours IS NOT NULL THEN 1 ELSE 0 END)
                        AS fulfilled
                FROM {_t(OrderFact)} WHERE {where}
                GROUP BY channel_id, day
                UNION ALL
                SELECT channel_id, day, 0, 0, 0, 0, 0, 0, SUM(quantity), SUM(amount),
                    0, 0, 0, 0, 0, 0
                FROM {_t(ReturnFact)} WHERE {where}
                GROUP BY channel_id, day
            ) parts
            GROUP BY channel_id, day
            """,
            params + params,
        )


def variant_days_rebuild(
    *, days: Collection[date] | None, variant_ids: Collection[int] | None
) -> None:
    """Rewrite VariantLocationDay rows for `days` x `variant_ids` (all rows when both None)."""
    if days is None and variant_ids is None:
        blocks: list[tuple[str, list, str, list]] = [("1=1", [], "1=1", [])]
        VariantLocationDay.objects.all().delete()
    else:
        if not days or not variant_ids:
            return
        blocks = []
        day_list = sorted(days)
        day_sql, day_params = _in("{p}day", day_list)
        # The order facts are filtered by day too, so the join reads them by index instead of
        # scanning every order (a line's day is its order's day).
        orders_sql = day_sql.replace("{p}", "o.")
        if len(day_list) <= WHOLE_DAYS:
            # A few days: rewriting every variant of those days is cheaper than probing the
            # variant list, and still covers every affected row.
            blocks.append((day_sql, day_params, orders_sql, day_params))
            VariantLocationDay.objects.filter(day__in=day_list).delete()
        else:
            for batch in _chunks(sorted(variant_ids), CHUNK - len(day_list)):
                var_sql, var_params = _in("{p}variant_id", batch)
                blocks.append(
                    (f"{day_sql} AND {var_sql}", day_params + var_params, orders_sql, day_params)
                )
                VariantLocationDay.objects.filter(day__in=day_list, variant_id__in=batch).delete()
    for where, params, orders_where, orders_params in blocks:
        lines_where = where.replace("{p}", "l.")
        returns_where = where.replace("{p}", "")
        _execute(
            f"""
            INSERT INTO {_t(VariantLocationDay)} (
                variant_id, product_id, location_id, day, orders, units, gross_sales,
                discounts, net_sales, returned_units, returns_amount, new_customer_orders,
                returning_customer_orders
            )
            SELECT variant_id, MIN(product_id), location_id, day, SUM(orders), SUM(units),
                SUM(gross), SUM(discount), SUM(net), SUM(returned_units),
                SUM(returns_amount), SUM(new_orders), SUM(returning_orders)
            FROM (
                SELECT l.variant_id, MIN(l.product_id) AS product_id, l.location_id, l.day,
                    COUNT(DISTINCT l.order_id) AS orders, SUM(l.quantity) AS units,
                    SUM(l.gross) AS gross, SUM(l.discount) AS discount, SUM(l.net) AS net,
                    0 AS returned_units, 0 AS returns_amount,
                    COUNT(DISTINCT CASE WHEN o.first_order THEN l.order_id END) AS new_orders,
                    COUNT(DISTINCT CASE WHEN o.customer_id IS NOT NULL AND NOT o.first_order
                        THEN l.order_id END) AS returning_orders
                FROM {_t(OrderLineFact)} l
                JOIN {_t(OrderFact)} o ON o.order_id = l.order_id
                WHERE NOT l.cancelled AND {lines_where} AND {orders_where}
                GROUP BY l.variant_id, l.location_id, l.day
                UNION ALL
                SELECT variant_id, MIN(product_id), location_id, day, 0, 0, 0, 0, 0,
                    SUM(quantity), SUM(amount), 0, 0
                FROM {_t(ReturnFact)} WHERE {returns_where}
                GROUP BY variant_id, location_id, day
            ) parts
            GROUP BY variant_id, location_id, day
            """,
            params + orders_params + params,
        )


def fulfilment_days_rebuild(*, days: Collection[date] | None) -> None:
    """Rewrite the order-to-fulfilment histogram rows of `days` (all when None)."""
    batches = [None] if days is None else list(_chunks(sorted(days)))
    for batch in batches:
        if batch is None:
            where, params = "1=1", []
            FulfilmentDay.objects.all().delete()
        else:
            where, params = _in("day", batch)
            FulfilmentDay.objects.filter(day__in=batch).delete()
        _execute(
            f"""
            INSERT INTO {_t(FulfilmentDay)} (channel_id, day, hours, orders)
            SELECT channel_id, day, fulfil_hours, COUNT(*)
            FROM {_t(OrderFact)}
            WHERE NOT cancelled AND fulfil_hours IS NOT NULL AND {where}
            GROUP BY channel_id, day, fulfil_hours
            """,
            params,
        )


def customers_rebuild(*, customer_ids: Collection[int] | None) -> None:
    """Rewrite CustomerChannel and CustomerMonth rows of the customers (all when None)."""
    batches = [None] if customer_ids is None else list(_chunks(sorted(customer_ids)))
    for batch in batches:
        if batch is None:
            where, params = "1=1", []
            CustomerChannel.objects.all().delete()
            CustomerMonth.objects.all().delete()
        else:
            where, params = _in("customer_id", batch)
            CustomerChannel.objects.filter(customer_id__in=batch).delete()
            CustomerMonth.objects.filter(customer_id__in=batch).delete()
        _execute(
            f"""
            INSERT INTO {_t(CustomerChannel)} (
                customer_id, channel_id, first_day, first_placed_at, last_day, orders, net_sales
            )
            SELECT customer_id, channel_id, MIN(day), MIN(placed_at), MAX(day), COUNT(*),
                SUM(net)
            FROM {_t(OrderFact)}
            WHERE customer_id IS NOT NULL AND NOT cancelled AND {where}
            GROUP BY customer_id, channel_id
            """,
            params,
        )
        _execute(
            f"""
            INSERT INTO {_t(CustomerMonth)} (customer_id, month, orders, net_sales)
            SELECT customer_id, month, COUNT(*), SUM(net)
            FROM {_t(OrderFact)}
            WHERE customer_id IS NOT NULL AND NOT cancelled AND {where}
            GROUP BY customer_id, month
            """,
            params,
        )


def rollups_rebuild_all() -> None:
    """Every rollup from every fact. The caller holds the rollup lock in a transaction."""
    first_orders_recompute(customer_ids=None)
    channel_days_rebuild(days=None)
    variant_days_rebuild(days=None, variant_ids=None)
    fulfilment_days_rebuild(days=None)
    customers_rebuild(customer_ids=None)


def keys_of_orders(order_ids: Collection[int]) -> AffectedKeys:
    """The rollup keys the current facts of these orders contribute to (3 queries per chunk)."""
    keys = AffectedKeys()
    for batch in _chunks(sorted(order_ids)):
        for day, customer_id in OrderFact.objects.filter(order_id__in=batch).values_list(
            "day", "customer_id"
        ):
            keys.days.add(day)
            if customer_id is not None:
                keys.customer_ids.add(customer_id)
        for model in (OrderLineFact, ReturnFact):
            for day, variant_id in (
                model.objects.filter(order_id__in=batch).values_list("day", "variant_id").distinct()
            ):
                keys.days.add(day)
                keys.variant_ids.add(variant_id)
    return keys


def rollups_rebuild_keys(keys: AffectedKeys) -> None:
    """Rewrite the rollup rows behind `keys` after the facts changed.

    Re-ranks the affected customers' first orders first; an order whose first-order flag
    flips changes the new-vs-returning counts of its day, so that day (and its variants) joins
    the rewrite. The caller holds the rollup lock in a transaction.
    """
    if not keys:
        return
    keys = AffectedKeys(set(keys.days), set(keys.variant_ids), set(keys.customer_ids))
    if keys.customer_ids:
        changed: set[int] = set()
        for batch in _chunks(sorted(keys.customer_ids)):
            facts = OrderFact.objects.filter(customer_id__in=batch)
            before = dict(facts.values_list("order_id", "first_order"))
            first_orders_recompute(customer_ids=batch)
            for order_id, first, day in facts.values_list("order_id", "first_order", "day"):
                if before.get(order_id) != first:
                    changed.add(order_id)
                    keys.days.add(day)
        # Only orders whose new-vs-returning flag flipped drag their days along: a repeat
        # order leaves the customer's earlier days untouched.
        for batch in _chunks(sorted(changed)):
            for day, variant_id in (
                OrderLineFact.objects.filter(order_id__in=batch)
                .values_list("day", "variant_id")
                .distinct()
            ):
                keys.days.add(day)
                keys.variant_ids.add(variant_id)
    channel_days_rebuild(days=keys.days)
    variant_days_rebuild(days=keys.days, variant_ids=keys.variant_ids)
    fulfilment_days_rebuild(days=keys.days)
    if keys.customer_ids:
        customers_rebuild(customer_ids=keys.customer_ids)
