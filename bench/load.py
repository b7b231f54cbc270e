"""Load test: a storefront mix over real HTTP (gunicorn + PostgreSQL + Redis) driven by locust,
headless and bounded in time, on the loopback interface only; then the stock checks.

Loads a dataset into its own database (`omni_load_bench` on the DATABASE_URL server, dropped,
created and migrated at each run; LOAD_BENCH_DB names another): three channels (web, app,
marketplace) selling one catalogue of 400 SKUs from a shared warehouse (web and app also from a
pickup store), and one hot SKU all three sell from little stock. Starts gunicorn (3 sync
workers, the Dockerfile setting) on a free 127.0.0.1 port with after-commit work queued on the
Redis broker (BENCH_BROKER_URL), runs `bench/locustfile.py` headless for the given time
(browse list and product pages, availability, quote, place order with an Idempotency-Key, read
order) and reads locust's CSV statistics.

Prints throughput, p50/p95 latency per request type, the error rate (a `409
insufficient_stock` to an order is an expected answer on the hot SKU, not an error) and the
checks: no SKU oversold (units ordered within stock and equal to the open reservations,
reserved <= on_hand everywhere), `inventory_reconcile` clean, one stored order per 201 answer.
Target: error rate 0%, zero oversell, ledger reconciled.

Usage: DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni python bench/load.py
       [--quick | --seconds 120] [--users 24] [--workers 3] [--threads 1]
`make load` runs it for 2 minutes; `--quick` runs 20 seconds. tests/load/ runs the same
driver (seed_dataset, run_load, store_checks) for 15 seconds in the test suite.
"""

import argparse
import csv
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from common import (  # noqa: E402
    ROOT,
    broker_url,
    database_url_named,
    drop_queued_tasks,
    free_port,
    oversell_problems,
    reconcile,
    recreate_database,
    result,
    setup_django,
    start_gunicorn,
    stop_server,
)

LOAD_DB = os.environ.get("LOAD_BENCH_DB", "omni_load_bench")
PRODUCTS = 200
VARIANTS_PER_PRODUCT = 2
NORMAL_STOCK = 1_000_000
STORE_STOCK = 200
HOT_SKU = "LOAD-HOT-1"
CHANNELS = (("load-web", "web"), ("load-app", "app"), ("load-market", "marketplace"))
BRANDS = ("Acme", "Globex", "Initech", "Umbrella")
WORDS = ("linen", "wool", "cotton", "denim", "silk", "canvas", "leather", "fleece")
SEED = 11


# --- dataset ----------------------------------------------------------------------------------


def seed_dataset(*, hot_stock: int) -> dict:
    """Write the load test's catalogue, stock and channel keys through the ORM and services
    (Django must be set up against the target database). Returns the dataset the locustfile
    reads: per channel its key, SKUs, product ids and pickup store; the hot SKU; categories and
    search words; and `received`, the units put into stock per SKU (for the oversell check)."""
    from catalog.models import Listing, Product, Variant
    from catalog.services import category_create, channel_products_refresh
    from inventory.models import ChannelLocation, StockLocation
    from inventory.services import StockLine, stock_receive
    from omni.models import Channel
    from omni.services import api_key_create

    rng = random.Random(SEED)
    warehouse = StockLocation.objects.create(code="load-wh", name="Load WH", kind="warehouse")
    store = StockLocation.objects.create(
        code="load-store", name="Load store", kind="store", pickup_enabled=True
    )
    channels = []
    for code, kind in CHANNELS:
        channel = Channel.objects.create(code=code, name=code, kind=kind, currency="USD")
        ChannelLocation.objects.create(channel=channel, location=warehouse, priority=1)
        if kind != "marketplace":
            ChannelLocation.objects.create(channel=channel, location=store, priority=2)
        channels.append(channel)
    categories = [category_create(name=f"Load {w}", slug=f"load-{w}") for w in WORDS[:4]]

    products = Product.objects.bulk_create(
        Product(
            name=f"{WORDS[n % len(WORDS)].title()} item {n}",
            slug=f"load-item-{n}",
            description=f"A {WORDS[(n * 3) % len(WORDS)]} piece for the load test.",
            brand=BRANDS[n % len(BRANDS)],
            category=categories[n % len(categories)],
        )
        for n in range(PRODUCTS + 1)
    )
    hot_product = products[-1]
    variants = Variant.objects.bulk_create(
        [
            Variant(product=product, sku=f"LOAD-{n:04d}-{v}", name=f"size {v}")
            for n, product in enumerate(products[:-1])
            for v in range(VARIANTS_PER_PRODUCT)
        ]
        + [Variant(product=hot_product, sku=HOT_SKU, name="the hot one")]
    )
    hot_variant = variants[-1]
    listings = []
    for channel in channels:
        # The marketplace sells three quarters of the catalogue; web and app all of it.
        share = len(variants) * 3 // 4 if channel.kind == "marketplace" else len(variants) - 1
        for variant in [*variants[:share], hot_variant]:
            listings.append(
                Listing(
                    variant=variant,
                    channel=channel,
                    price=Decimal(rng.randrange(500, 9000)) / 100,
                    currency="USD",
                )
            )
    Listing.objects.bulk_create(listings, batch_size=2000)
    channel_products_refresh(product_ids=[p.pk for p in products])

    normal = variants[:-1]
    stock_receive(
        location_id=warehouse.pk,
        lines=[StockLine(v.pk, NORMAL_STOCK) for v in normal],
        reference="load",
    )
    # The pickup store holds some of everything, so pickup baskets are mostly served.
    stock_receive(
        location_id=store.pk,
        lines=[StockLine(v.pk, STORE_STOCK) for v in normal],
        reference="load",
    )
    # The hot SKU's little stock is split over both locations, so orders also split lines.
    half = hot_stock // 2
    stock_receive(location_id=warehouse.pk, lines=[StockLine(hot_variant.pk, half)], reference="h")
    stock_receive(
        location_id=store.pk, lines=[StockLine(hot_variant.pk, hot_stock - half)], reference="h"
    )

    listed = {}
    for listing in Listing.objects.filter(variant__sku__startswith="LOAD-").values_list(
        "channel_id", "variant__sku", "variant__product_id"
    ):
        listed.setdefault(listing[0], []).append(listing[1:])
    dataset = {"channels": [], "hot_sku": HOT_SKU, "hot_stock": hot_stock}
    for channel in channels:
        _, key = api_key_create(channel=channel, name="load", scopes=["catalog", "orders"])
        rows = listed[channel.pk]
        dataset["channels"].append(
            {
                "code": channel.code,
                "key": key,
                "skus": sorted(sku for sku, _ in rows if sku != HOT_SKU),
                "product_ids": sorted({product for _, product in rows}),
                "pickup": store.code if channel.kind != "marketplace" else "",
            }
        )
    dataset["categories"] = [c.slug for c in categories]
    dataset["search_words"] = list(WORDS)
    dataset["received"] = {v.sku: NORMAL_STOCK + STORE_STOCK for v in normal} | {HOT_SKU: hot_stock}
    return dataset


# --- the run ----------------------------------------------------------------------------------


def _float(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def read_stats(prefix: Path) -> dict:
    """Locust's `<prefix>_stats.csv` and `_failures.csv` as figures."""
    rows = list(csv.DictReader(open(f"{prefix}_stats.csv", newline="")))  # noqa: SIM115
    by_name = {}
    total = {}
    for row in rows:
        figures = {
            "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]),
            "rps": _float(row["Requests/s"]),
            "p50_ms": _float(row["50%"]),
            "p95_ms": _float(row["95%"]),
            "p99_ms": _float(row["99%"]),
            "max_ms": _float(row["Max Response Time"]),
        }
        if row["Name"] == "Aggregated":
            total = figures
        else:
            by_name[row["Name"]] = figures
    failures = []
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.exists():
        for row in csv.DictReader(open(failures_csv, newline="")):  # noqa: SIM115
            failures.append(f"{row['Occurrences']}x {row['Name']}: {row['Error'][:160]}")
    return {"total": total, "by_name": by_name, "failures": failures}


def run_load(
    *,
    db_url: str,
    dataset: dict,
    seconds: int,
    users: int,
    workers: int = 3,
    threads: int = 1,
    broker: str = "",
    workdir: Path,
) -> dict:
    """Serve the project with gunicorn on a free loopback port against `db_url` and run the
    locustfile headless for `seconds` with `users` shoppers. Returns locust's figures, the
    order outcomes the shoppers counted, the wall time and the server's exit status."""
    dataset_path = workdir / "dataset.json"
    dataset_path.write_text(json.dumps(dataset))
    outcomes_path = workdir / "outcomes.json"
    prefix = workdir / "locust"
    port = free_port()
    server = start_gunicorn(
        "omni.wsgi:application",
        db_url=db_url,
        port=port,
        workers=workers,
        threads=threads,
        broker=broker,
        # 409s are expected answers here; keep the server's log to real errors.
        env={"LOG_LEVEL": "ERROR", "PYTHONWARNINGS": "ignore::UserWarning"},
    )
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(BENCH / "locustfile.py"),
        "--headless",
        "--host",
        f"http://127.0.0.1:{port}",
        "--users",
        str(users),
        "--spawn-rate",
        str(max(1, users // 2)),
        "--run-time",
        f"{seconds}s",
        "--stop-timeout",
        "10",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
    ]
    env = {
        **os.environ,
        "LOAD_DATASET": str(dataset_path),
        "LOAD_OUTCOMES": str(outcomes_path),
    }
    started = time.perf_counter()
    try:
        locust = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=seconds + 120
        )
    finally:
        stop_server(server)
        drop_queued_tasks(broker)
    wall = time.perf_counter() - started
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust wrote no statistics: {locust.stderr[-2000:]}")
    stats = read_stats(prefix)
    outcomes = json.loads(outcomes_path.read_text()) if outcomes_path.exists() else {}
    return {**stats, "outcomes": outcomes, "wall_s": wall, "seconds": seconds, "users": users}


def store_checks(dataset: dict, outcomes: dict) -> dict:
    """After the run, in the database: oversell problems, `inventory_reconcile`, the hot SKU's
    sales, and that every 201 answer stored exactly one order."""
    from django.db.models import Sum

    from orders.models import Order, OrderLine

    problems = oversell_problems(dataset["received"])
    clean, reconcile_line = reconcile()
    stored = Order.objects.count()
    placed = outcomes.get("placed", 0)
    if stored != placed:
        problems.append(f"{stored} orders stored for {placed} placed (201) answers")
    hot_sold = (
        OrderLine.objects.filter(sku=dataset["hot_sku"]).aggregate(n=Sum("quantity"))["n"] or 0
    )
    return {
        "problems": problems,
        "reconciled": clean,
        "reconcile": reconcile_line,
        "orders_stored": stored,
        "hot_sold": hot_sold,
    }


def summarise(run: dict, checks: dict, dataset: dict) -> tuple[float, bool]:
    """Print the figures and the `LOAD` machine-readable line; return (error rate %, met)."""
    total = run["total"]
    requests, failures = total.get("requests", 0), total.get("failures", 0)
    error_rate = 100.0 * failures / requests if requests else 100.0
    outcomes = run["outcomes"]
    print(
        f"locust: {run['users']} shoppers (50-500 ms think time between calls, so the "
        "throughput is what they offer until the server saturates) over 3 channels for "
        f"{run['seconds']} s "
        f"(wall {run['wall_s']:.0f} s) against gunicorn on 127.0.0.1, PostgreSQL"
    )
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (shared; figures vary with it)")
    for name, row in sorted(run["by_name"].items()):
        print(
            f"  {name:<24} {row['requests']:>6} req  {row['rps']:7.1f} req/s  "
            f"p50 {row['p50_ms']:6.0f} ms  p95 {row['p95_ms']:6.0f} ms  "
            f"failures {row['failures']}"
        )
    print(
        f"all requests: {requests} at {total.get('rps', 0):.1f} req/s, p50 "
        f"{total.get('p50_ms', 0):.0f} ms, p95 {total.get('p95_ms', 0):.0f} ms, "
        f"p99 {total.get('p99_ms', 0):.0f} ms; errors {failures} ({error_rate:.2f}%)"
    )
    for line in run["failures"][:10]:
        print(f"  failure: {line}")
    print(
        f"orders: {outcomes.get('placed', 0)} placed, "
        f"{outcomes.get('refused_insufficient_stock', 0)} refused 409 insufficient_stock "
        f"({outcomes.get('refused_hot', 0)} on the hot SKU), "
        f"{outcomes.get('replays_same_order', 0)} Idempotency-Key replays answered with the "
        f"same order; {checks['orders_stored']} stored"
    )
    print(f"hot SKU {dataset['hot_sku']}: {checks['hot_sold']} of {dataset['hot_stock']} sold")
    print(f"oversell check: {'none' if not checks['problems'] else '; '.join(checks['problems'])}")
    print(f"inventory_reconcile: {checks['reconcile']}")
    met = failures == 0 and requests > 0 and not checks["problems"] and checks["reconciled"]
    print(
        f"LOAD rps={total.get('rps', 0):.2f} p95_ms={total.get('p95_ms', 0):.0f} "
        f"error_rate={error_rate:.2f} requests={requests} "
        f"orders={outcomes.get('placed', 0)} "
        f"refused409={outcomes.get('refused_insufficient_stock', 0)} "
        f"oversell={len(checks['problems'])} "
        f"reconciled={'yes' if checks['reconciled'] else 'no'} seconds={run['seconds']}",
        flush=True,
    )
    return error_rate, met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 seconds instead of 2 minutes")
    parser.add_argument("--seconds", type=int, help="locust run time (default 120, quick 20)")
    parser.add_argument("--users", type=int, default=24, help="concurrent shoppers")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("BENCH_WORKERS", 3)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("BENCH_THREADS", 1)))
    parser.add_argument("--hot-stock", type=int, help="units of the hot SKU (default 150/40)")
    args = parser.parse_args()
    seconds = args.seconds or (20 if args.quick else 120)
    hot_stock = args.hot_stock or (40 if seconds <= 30 else 150)
    source = os.environ.get("DATABASE_URL", "")
    if not source.startswith("postgres"):
        sys.exit("bench scripts run against PostgreSQL: set DATABASE_URL")
    db_url = database_url_named(source, LOAD_DB)
    recreate_database(db_url)
    os.environ["DATABASE_URL"] = db_url
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    # Seeding runs here with eager tasks; the server queues on the broker like production.
    os.environ["CELERY_BROKER_URL"] = ""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    began = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    dataset = seed_dataset(hot_stock=hot_stock)
    connection.close()
    print(f"database {LOAD_DB}: migrated and seeded in {time.perf_counter() - began:.0f} s")
    with tempfile.TemporaryDirectory() as tmp:
        run = run_load(
            db_url=db_url,
            dataset=dataset,
            seconds=seconds,
            users=args.users,
            workers=args.workers,
            threads=args.threads,
            broker=broker_url(),
            workdir=Path(tmp),
        )
    checks = store_checks(dataset, run["outcomes"])
    error_rate, met = summarise(run, checks, dataset)
    result("load", f"{error_rate:.2f}%", "0%err,zero-oversell,reconciled", met)
    return 0


if __name__ == "__main__":
    sys.exit(main())
