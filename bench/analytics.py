"""Analytics benchmark: KPIs from rollups against the same KPIs by GROUP BY over raw orders.

1. Generates orders (1,000,000 with about 3,000,000 lines; `--quick`: 50,000) over a year
   into PostgreSQL with COPY: orders, lines, allocations, fulfilments, returns.
2. Builds the facts and rollups (the nightly full rebuild).
3. Times the staff KPI endpoint (`GET /api/v1/analytics/kpis/`, 90 days with the previous 90)
   and the same figures computed by GROUP BY over the raw order tables, in the same run.
4. Copies 1,000 new orders in and times their incremental rollup refresh.

Runs in its own database (`omni_analytics_bench`, or `omni_analytics_bench_quick` with
`--quick`, on the DATABASE_URL server), created and migrated here.
Usage: DATABASE_URL=postgres://... python bench/analytics.py [--quick]
Targets: endpoint >= 50x faster than raw, endpoint p50 < 100 ms, 1,000 orders < 2 s.
"""

import argparse
import csv
import io
import os
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# `--quick` keeps its smaller data set apart, so switching modes never rebuilds the other.
BENCH_DB = "omni_analytics_bench_quick" if "--quick" in sys.argv else "omni_analytics_bench"
DAYS = 365
SEED = 42


def use_bench_database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench scripts run against PostgreSQL: set DATABASE_URL")
    parts = urlparse(url)
    import psycopg2

    admin = psycopg2.connect(urlunparse(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{BENCH_DB}"')
    admin.close()
    os.environ["DATABASE_URL"] = urlunparse(parts._replace(path=f"/{BENCH_DB}"))


use_bench_database()

from bench.common import median, percentile, result, setup_django  # noqa: E402

setup_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

# --- COPY -------------------------------------------------------------------------------------


def _csv_value(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        import json

        return json.dumps(value)
    return value


class Copier:
    """COPY rows ({attname: value} dicts; other columns take the model default) in chunks."""

    def __init__(self, model, chunk: int = 100_000):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.names = [f.attname for f in self.fields]
        proto = model()
        self.base = {n: getattr(proto, n) for n in self.names}
        self.chunk = chunk
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)
        self.pending = 0
        self.total = 0

    def add(self, row: dict) -> None:
        values = {**self.base, **row}
        out = []
        for name in self.names:
            v = _csv_value(values[name])
            out.append("\\N" if v is None else v)
        self.writer.writerow(out)
        self.pending += 1
        if self.pending >= self.chunk:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        self.buffer.seek(0)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        table = connection.ops.quote_name(self.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", self.buffer
            )
        self.total += self.pending
        self.pending = 0
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer)


# --- the world the orders live in ----------------------------------------------------------------


def world_ensure(customers: int):
    from catalog.models import Category, Listing, Product, Variant
    from customers.models import Customer
    from inventory.models import StockLocation
    from omni.models import Channel

    kinds = ["store", "store", "web", "app", "marketplace", "social", "callcenter"]
    channels = []
    for i, kind in enumerate(kinds):
        channel, _ = Channel.objects.get_or_create(
            code=f"bench-{i}", defaults={"name": f"Bench {i}", "kind": kind, "currency": "USD"}
        )
        channels.append(channel)
    locations = []
    for i in range(5):
        loc, _ = StockLocation.objects.get_or_create(
            code=f"bench-loc-{i}",
            defaults={"name": f"Bench {i}", "kind": "store" if i else "warehouse",
                      "pickup_enabled": bool(i)},
        )  # fmt: skip
        locations.append(loc)
    if not Variant.objects.filter(sku__startswith="BENCH-").exists():
        category, _ = Category.objects.get_or_create(
            slug="bench", defaults={"name": "Bench", "path": "bench/"}
        )
        products = Product.objects.bulk_create(
            [Product(name=f"Bench {i}", slug=f"bench-{i}", category=category) for i in range(500)]
        )
        variants = Variant.objects.bulk_create(
            [
                Variant(product=p, sku=f"BENCH-{p.pk}-{j}", name=f"Bench {p.pk}/{j}")
                for p in products
                for j in range(4)
            ]
        )
        Listing.objects.bulk_create(
            [
                Listing(variant=v, channel=c, price=Decimal(10 + v.pk % 90), currency="USD")
                for v in variants
                for c in channels
            ],
            batch_size=5000,
        )
    variants = list(
        Variant.objects.filter(sku__startswith="BENCH-").values_list("id", "product_id", "sku")
    )
    have = Customer.objects.filter(tags__contains=["bench"]).count()
    if have < customers:
        Customer.objects.bulk_create(
            [Customer(first_name="Bench", tags=["bench"]) for _ in range(customers - have)],
            batch_size=10_000,
        )
    customer_ids = list(
        Customer.objects.filter(tags__contains=["bench"]).values_list("id", flat=True)
    )
    return channels, locations, variants, customer_ids


# --- orders ------------------------------------------------------------------------------------


def orders_copy(count: int, world, rng: random.Random, *, start: datetime, span_days: int):
    """COPY `count` orders (about 3 lines each) placed over `span_days` from `start`; returns
    their ids."""
    from orders.models import (
        Allocation,
        Fulfilment,
        Order,
        OrderLine,
        Return,
        ReturnLine,
    )

    channels, locations, variants, customers = world

    def next_id(model):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {model._meta.db_table}")
            return cursor.fetchone()[0] + 1

    ids = {m: next_id(m) for m in (Order, OrderLine, Allocation, Fulfilment, Return, ReturnLine)}
    copiers = {m: Copier(m) for m in ids}
    order_ids = []
    seconds = span_days * 86400
    now = datetime.now(UTC)
    for _ in range(count):
        order_id = ids[Order]
        ids[Order] += 1
        order_ids.append(order_id)
        channel = rng.choice(channels)
        placed = start + timedelta(seconds=rng.randrange(seconds))
        method = rng.choice(["ship", "ship", "pickup", "in_store"])
        location = rng.choice(locations)
        cancelled = method != "in_store" and rng.random() < 0.03
        status = "cancelled" if cancelled else "completed"
        subtotal = discount_total = Decimal(0)
        lines = []
        for _ in range(rng.choice([1, 2, 3, 3, 4, 5])):
            variant_id, _, sku = rng.choice(variants)
            quantity = rng.choice([1, 1, 1, 2, 3])
            price = Decimal(10 + variant_id % 90)
            discount = Decimal("1.50") if rng.random() < 0.2 else Decimal(0)
            line_id = ids[OrderLine]
            ids[OrderLine] += 1
            copiers[OrderLine].add(
                {"id": line_id, "order_id": order_id, "variant_id": variant_id, "sku": sku,
                 "quantity": quantity, "quantity_fulfilled": 0 if cancelled else quantity,
                 "quantity_cancelled": quantity if cancelled else 0, "unit_price": price,
                 "discount_total": discount, "line_total": price * quantity - discount,
                 "fulfilment_method": method,
                 "pickup_location_id": location.id if method == "pickup" else None}
            )  # fmt: skip
            copiers[Allocation].add(
                {"id": ids[Allocation], "line_id": line_id, "location_id": location.id,
                 "quantity": quantity, "quantity_fulfilled": 0 if cancelled else quantity,
                 "quantity_released": quantity if cancelled else 0, "strategy": "bench",
                 "created_at": placed}
            )  # fmt: skip
            ids[Allocation] += 1
            lines.append((line_id, quantity))
            subtotal += price * quantity
            discount_total += discount
        left = placed + timedelta(hours=rng.randint(1, 96))
        if not cancelled:
            copiers[Fulfilment].add(
                {"id": ids[Fulfilment], "order_id": order_id, "location_id": location.id,
                 "method": method, "status": "shipped" if method == "ship" else "collected",
                 "created_at": placed, "shipped_at": left if method == "ship" else None,
                 "ready_at": left if method == "pickup" else None,
                 "collected_at": left if method != "ship" else None}
            )  # fmt: skip
            ids[Fulfilment] += 1
            back = left + timedelta(days=rng.randint(2, 20))
            if rng.random() < 0.05 and back < now:
                line_id, quantity = lines[0]
                copiers[Return].add(
                    {"id": ids[Return], "order_id": order_id, "location_id": location.id,
                     "channel_id": channel.id, "created_at": back}
                )  # fmt: skip
                copiers[ReturnLine].add(
                    {"id": ids[ReturnLine], "return_record_id": ids[Return], "line_id": line_id,
                     "quantity": 1, "refund_amount": Decimal("10.00")}
                )  # fmt: skip
                ids[Return] += 1
                ids[ReturnLine] += 1
                status = "partially_returned"
        copiers[Order].add(
            {"id": order_id, "number": f"B-{order_id}", "channel_id": channel.id,
             "status": status, "customer_id": rng.choice(customers) if rng.random() < 0.8
             else None, "fulfilment_method": method,
             "pickup_location_id": location.id if method == "pickup" else None,
             "currency": "USD", "subtotal": subtotal, "discount_total": discount_total,
             "total": subtotal - discount_total, "payment_status": "paid",
             "created_at": placed, "updated_at": placed,
             "cancelled_at": placed + timedelta(hours=1) if cancelled else None}
        )  # fmt: skip
    # Orders first: lines and the rest reference them.
    for model in (Order, OrderLine, Allocation, Fulfilment, Return, ReturnLine):
        copiers[model].flush()
    from analytics.bulk import sequences_reset

    sequences_reset(*ids)
    return order_ids


# --- the raw GROUP BY baseline -------------------------------------------------------------------

RAW_SQL = """
WITH o AS (
    SELECT id, channel_id, customer_id, status, fulfilment_method, created_at
    FROM orders_order WHERE created_at >= %(start)s AND created_at < %(end)s
),
first_orders AS (
    SELECT customer_id, MIN(created_at) AS first_at FROM orders_order
    WHERE status <> 'cancelled' AND customer_id IS NOT NULL
      AND customer_id IN (SELECT customer_id FROM o WHERE customer_id IS NOT NULL)
    GROUP BY customer_id
),
lines AS (
    SELECT l.order_id,
        SUM(l.quantity - l.quantity_cancelled) AS units,
        SUM(l.unit_price * (l.quantity - l.quantity_cancelled)) AS gross,
        SUM(l.discount_total * (l.quantity - l.quantity_cancelled) / l.quantity) AS discount
    FROM orders_orderline l JOIN o ON o.id = l.order_id GROUP BY l.order_id
),
fulfil AS (
    SELECT f.order_id, MAX(COALESCE(f.shipped_at, f.ready_at, f.collected_at)) AS left_at,
        BOOL_OR(f.status = 'collected') AS collected
    FROM orders_fulfilment f JOIN o ON o.id = f.order_id
    WHERE f.status <> 'cancelled' GROUP BY f.order_id
)
SELECT
    COUNT(*) FILTER (WHERE o.status <> 'cancelled') AS orders,
    COUNT(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
    SUM(lines.units) FILTER (WHERE o.status <> 'cancelled') AS units,
    SUM(lines.gross) FILTER (WHERE o.status <> 'cancelled') AS gross,
    SUM(lines.discount) FILTER (WHERE o.status <> 'cancelled') AS discounts,
    COUNT(*) FILTER (WHERE o.status <> 'cancelled' AND fo.first_at = o.created_at) AS new_orders,
    COUNT(*) FILTER (WHERE o.status <> 'cancelled' AND fo.first_at < o.created_at) AS returning,
    COUNT(*) FILTER (WHERE o.fulfilment_method = 'pickup') AS pickups,
    COUNT(*) FILTER (WHERE o.fulfilment_method = 'pickup' AND fulfil.collected) AS collected,
    PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM fulfil.left_at - o.created_at))
        FILTER (WHERE o.fulfilment_method <> 'in_store') AS fulfil_p50,
    PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM fulfil.left_at - o.created_at))
        FILTER (WHERE o.fulfilment_method <> 'in_store') AS fulfil_p90,
    (SELECT COALESCE(SUM(rl.quantity), 0) FROM orders_returnline rl
        JOIN orders_return r ON r.id = rl.return_record_id
        WHERE r.created_at >= %(start)s AND r.created_at < %(end)s) AS returned_units
FROM o
LEFT JOIN lines ON lines.order_id = o.id
LEFT JOIN fulfil ON fulfil.order_id = o.id
LEFT JOIN first_orders fo ON fo.customer_id = o.customer_id
"""


def raw_kpis(start: date, end: date) -> list:
    """The endpoint's sales KPIs for a period and the previous one, straight from the orders."""
    out = []
    days = (end - start).days + 1
    for first in (start, start - timedelta(days=days)):
        bounds = {
            "start": datetime.combine(first, datetime.min.time(), UTC),
            "end": datetime.combine(first + timedelta(days=days), datetime.min.time(), UTC),
        }
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, bounds)
            out.append(cursor.fetchone())
    return out


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 orders instead of 1M")
    parser.add_argument("--orders", type=int, help="orders to generate (overrides --quick)")
    args = parser.parse_args()
    total = args.orders or (50_000 if args.quick else 1_000_000)
    call_command("migrate", verbosity=0)
    from analytics.services import rollup_refresh_for_orders, rollups_rebuild
    from orders.models import Order

    rng = random.Random(SEED)
    world = world_ensure(customers=max(1000, total // 5))
    today = datetime.now(UTC).date()
    start = datetime.combine(today - timedelta(days=DAYS), datetime.min.time(), UTC)
    existing = Order.objects.filter(number__startswith="B-").count()
    if existing < total:
        began = time.perf_counter()
        with transaction.atomic():
            orders_copy(total - existing, world, rng, start=start, span_days=DAYS - 1)
        print(f"COPY {total - existing:,} orders: {time.perf_counter() - began:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT COUNT(*) FROM orders_orderline")
        lines = cursor.fetchone()[0]
    print(f"orders {Order.objects.count():,}, lines {lines:,}", flush=True)

    began = time.perf_counter()
    rollups_rebuild()
    print(f"full rollup rebuild: {time.perf_counter() - began:.1f} s", flush=True)
    # What autovacuum does after a bulk rewrite: statistics and the visibility map (which
    # lets the fulfilment histogram be read from its covering index alone).
    from analytics.models import ChannelDay, FulfilmentDay, OrderFact, VariantLocationDay

    with connection.cursor() as cursor:
        for model in (ChannelDay, FulfilmentDay, VariantLocationDay, OrderFact):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    user, _ = get_user_model().objects.get_or_create(
        username="bench-analyst", defaults={"is_staff": True}
    )
    user.user_permissions.add(Permission.objects.get(codename="view_kpis"))
    client = APIClient()
    client.force_authenticate(user)
    end = today - timedelta(days=1)
    first = end - timedelta(days=89)
    url = f"/api/v1/analytics/kpis/?start={first}&end={end}"
    response = client.get(url)
    assert response.status_code == 200, response.content
    body = response.json()["kpis"]
    raw = raw_kpis(first, end)
    print(
        f"check: endpoint orders {body['orders']['value']} / raw {raw[0][0]}; "
        f"previous {body['orders']['previous']} / raw {raw[1][0]}",
        flush=True,
    )
    endpoint_ms = timed(lambda: client.get(url), 30 if args.quick else 50)
    raw_ms = timed(lambda: raw_kpis(first, end), 3 if args.quick else 5)
    endpoint_p50, raw_p50 = median(endpoint_ms), median(raw_ms)
    ratio = raw_p50 / endpoint_p50
    print(
        f"KPI endpoint, 90 days + previous 90: p50 {endpoint_p50:.1f} ms, "
        f"p90 {percentile(endpoint_ms, 90):.1f} ms ({len(endpoint_ms)} runs)",
        flush=True,
    )
    print(f"raw GROUP BY over orders, same KPIs: p50 {raw_p50:.1f} ms ({len(raw_ms)} runs)")
    print(f"speed-up: {ratio:.1f}x (target >= 50x); endpoint p50 target < 100 ms")

    runs = []
    for _ in range(3):
        with transaction.atomic():
            new_ids = orders_copy(
                1000, world, rng, start=datetime.now(UTC) - timedelta(days=1), span_days=1
            )
        began = time.perf_counter()
        rollup_refresh_for_orders(order_ids=new_ids)
        runs.append(time.perf_counter() - began)
    incremental = median(runs)
    shown = ", ".join(f"{r * 1000:.0f}" for r in runs)
    print(
        f"incremental rollup of 1,000 new orders: median {incremental * 1000:.0f} ms "
        f"(3 batches: {shown} ms; target < 2 s)"
    )
    met = ratio >= 50 and endpoint_p50 < 100 and incremental < 2
    print(f"BASELINE analytics_kpi_speedup {endpoint_p50:.1f} {raw_p50:.1f} ms")
    result("analytics_kpi_speedup", ratio, ">=50x,p50<100ms,incr<2s", met)


if __name__ == "__main__":
    main()
