"""Order placement throughput over real HTTP (gunicorn + PostgreSQL) against a bare endpoint.

Starts gunicorn on 127.0.0.1 (default: 3 sync workers, the Dockerfile setting; see --workers
and --threads) serving the project plus one bare endpoint defined here (a DRF
view with the same Api-Key authentication, scope permission and throttle that parses the JSON
body and returns a constant JSON answer: the whole HTTP/Django/DRF stack without the order).
16 concurrent clients hit the bare endpoint and place 3-line orders (`POST /api/v1/orders/`
with an Idempotency-Key, some lines on "hot" SKUs with little stock so concurrent checkouts
compete for the last units) in alternating short windows, so both see the same host load.
Prints requests per second and p50/p95 of both, their ratio, and checks that nothing was
oversold (every hot SKU's units ordered stay within its stock, `reserved` equals the open
reservations, the ledger reconciles).

Target: order placements per second >= 0.2 x the bare endpoint's requests per second, zero
oversell. Uses its own database (`omni_orders_bench`, or ORDERS_BENCH_DB, on the server of
BENCH_DATABASE_URL, else DATABASE_URL), dropped, created and migrated at each run; the server
queues its after-commit tasks on BENCH_BROKER_URL (emptied afterwards) and each gunicorn worker
caches in its own memory.
Usage: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/omni_bench \
    python bench/orders_http.py [--quick]
This module is also the WSGI entry point gunicorn serves (`orders_http:application`).
"""

import argparse
import http.client
import json
import os
import random
import secrets
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    ROOT,
    broker_url,
    database_url_named,
    drop_queued_tasks,
    free_port,
    median,
    oversell_problems,
    percentile,
    recreate_database,
    result,
    setup_django,
    start_gunicorn,
    stop_server,
)

BENCH_DB = os.environ.get("ORDERS_BENCH_DB", "omni_orders_bench")
CLIENTS = 16
HOT_SKUS = 4
HOT_STOCK = 60
NORMAL_SKUS = 40
SEED = 7


# --- the WSGI app gunicorn serves -------------------------------------------------------------

_app = None


def _bench_urls() -> str:
    import types

    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from omni.permissions import IsChannelOrStaff

    class BareView(APIView):
        """Same auth, permission, throttle and JSON parsing as the order endpoint."""

        permission_classes = [IsChannelOrStaff]
        required_scope = "orders"

        def post(self, request):
            lines = request.data.get("lines", [])
            return Response({"ok": True, "channel": request.user.channel.code, "n": len(lines)})

    module = types.ModuleType("orders_http_urls")
    module.urlpatterns = [path("bench/bare/", BareView.as_view()), path("", include("omni.urls"))]
    sys.modules[module.__name__] = module
    return module.__name__


def application(environ, start_response):
    global _app
    if _app is None:
        sys.path.insert(0, str(ROOT))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application

        handler = get_wsgi_application()
        settings.ROOT_URLCONF = _bench_urls()
        _app = handler
    return _app(environ, start_response)


# --- the driver -------------------------------------------------------------------------------


def seed() -> tuple[str, list[str], list[str], dict[str, int]]:
    """Fresh bench data: a web channel selling from a warehouse and a store, listed SKUs with
    plenty of stock and a few hot SKUs with little. Returns (api key, normal, hot, stock)."""
    from decimal import Decimal

    from catalog.models import Category, Listing, Product, Variant
    from inventory.models import ChannelLocation, StockLocation
    from inventory.services import StockLine, stock_receive
    from omni.models import Channel
    from omni.services import api_key_create

    channel = Channel.objects.create(code="bench-web", name="Bench web", kind="web", currency="USD")
    warehouse = StockLocation.objects.create(code="bench-wh", name="Bench WH", kind="warehouse")
    store = StockLocation.objects.create(
        code="bench-store", name="Bench store", kind="store", pickup_enabled=True
    )
    ChannelLocation.objects.create(channel=channel, location=warehouse, priority=1)
    ChannelLocation.objects.create(channel=channel, location=store, priority=2)
    category = Category.objects.create(name="Bench", slug="bench", path="bench/")
    rng = random.Random(SEED)
    normal, hot, stock = [], [], {}
    for n in range(NORMAL_SKUS + HOT_SKUS):
        product = Product.objects.create(name=f"Bench {n}", slug=f"bench-{n}", category=category)
        sku = f"BENCH-{n:03d}" if n < NORMAL_SKUS else f"HOT-{n:03d}"
        variant = Variant.objects.create(product=product, sku=sku)
        Listing.objects.create(
            variant=variant,
            channel=channel,
            price=Decimal(rng.randrange(500, 5000)) / 100,
            currency="USD",
        )
        if n < NORMAL_SKUS:
            normal.append(sku)
            stock_receive(
                location_id=warehouse.pk,
                lines=[StockLine(variant.pk, 100_000)],
                reference="bench",
            )
            stock[sku] = 100_000
        else:
            hot.append(sku)
            # Split over both locations so hot lines also exercise splitting.
            stock_receive(
                location_id=warehouse.pk,
                lines=[StockLine(variant.pk, HOT_STOCK // 2)],
                reference="b",
            )
            stock_receive(
                location_id=store.pk, lines=[StockLine(variant.pk, HOT_STOCK // 2)], reference="b"
            )
            stock[sku] = HOT_STOCK
    _, secret = api_key_create(channel=channel, name="bench", scopes=["orders"])
    return secret, normal, hot, stock


def post(port: int, path: str, body: dict, headers: dict) -> tuple[int, float, dict]:
    payload = json.dumps(body)
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST", path, body=payload, headers={"Content-Type": "application/json", **headers}
    )
    response = conn.getresponse()
    data = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    conn.close()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = {}
    return response.status, elapsed, parsed


def run_phase(seconds: float, make_request) -> tuple[list[float], dict[int, int], float, list]:
    """CLIENTS threads call make_request(rng) in a loop for `seconds`; returns the latencies
    (ms), status counts, wall time and the bodies of successful answers."""
    stop = time.monotonic() + seconds
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    bodies: list = []
    lock = threading.Lock()

    def client(index: int) -> None:
        rng = random.Random(SEED * 100 + index)
        while time.monotonic() < stop:
            status, ms, body = make_request(rng)
            with lock:
                latencies.append(ms)
                statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 201):
                    bodies.append(body)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, statuses, time.perf_counter() - started, bodies


def order_body(rng: random.Random, normal: list[str], hot: list[str]) -> dict:
    skus = rng.sample(normal, 3)
    if rng.random() < 0.3:
        skus[0] = rng.choice(hot)
    return {
        "customer": {"email": f"shopper{rng.randrange(500)}@example.com"},
        "lines": [{"sku": sku, "quantity": rng.choice([1, 1, 2])} for sku in skus],
        "fulfilment": {
            "method": "ship",
            "address": {"line1": "1 Bench St", "city": "Testville", "country": "US"},
        },
        "payment": {"status": "authorized", "reference": "bench"},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases (under a minute)")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("BENCH_WORKERS", 3)),
        help="gunicorn workers (default: the Dockerfile's production setting, 3 sync workers)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=int(os.environ.get("BENCH_THREADS", 1)),
        help="threads per worker (gthread when > 1): handlers overlap their database waits",
    )
    args = parser.parse_args()
    source = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL", "")
    if not source.startswith("postgres"):
        sys.exit("bench scripts run against PostgreSQL: set BENCH_DATABASE_URL or DATABASE_URL")
    db_url = database_url_named(source, BENCH_DB)
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

    call_command("migrate", interactive=False, verbosity=0)
    secret, normal, hot, stock = seed()
    connection.close()
    port = free_port()
    server = start_gunicorn(
        "orders_http:application",
        db_url=db_url,
        port=port,
        workers=args.workers,
        threads=args.threads,
        # As in production: after-commit work (inventory's outbox drain, analytics' refresh)
        # goes to the broker. Each worker keeps its own in-memory cache, as before.
        broker=broker_url(),
        env={"CACHE_URL": ""},
        pythonpath=f"{ROOT / 'bench'},{ROOT}",
    )
    auth = {"Authorization": f"Api-Key {secret}"}
    # Short alternating windows, so both endpoints see the same background load on the host.
    rounds, window = (4, 2.5) if args.quick else (10, 4.0)
    bare_req = lambda rng: post(port, "/bench/bare/", order_body(rng, normal, hot), auth)  # noqa: E731

    def place(rng):
        headers = {**auth, "Idempotency-Key": uuid.uuid4().hex}
        return post(port, "/api/v1/orders/", order_body(rng, normal, hot), headers)

    bare, orders, bodies = [], [], []
    bare_status: dict[int, int] = {}
    order_status: dict[int, int] = {}
    bare_wall = order_wall = 0.0
    try:
        # Warm every worker (imports, connections, the promotion snapshot cache).
        run_phase(1.5, bare_req)
        run_phase(1.5, place)
        for _ in range(rounds):
            lat, st, wall, _ = run_phase(window, bare_req)
            bare += lat
            bare_wall += wall
            for k, v in st.items():
                bare_status[k] = bare_status.get(k, 0) + v
            lat, st, wall, got = run_phase(window, place)
            orders += lat
            order_wall += wall
            bodies += got
            for k, v in st.items():
                order_status[k] = order_status.get(k, 0) + v
    finally:
        stop_server(server)
        drop_queued_tasks(broker_url())

    from orders.models import Order

    bare_rps = bare_status.get(200, 0) / bare_wall
    placed = order_status.get(201, 0)
    orders_ps = placed / order_wall
    attempts_ps = len(orders) / order_wall
    refused = order_status.get(409, 0)
    errors = {k: v for k, v in order_status.items() if k not in (201, 409)}
    numbers = {b.get("number") for b in bodies}
    problems = oversell_problems({sku: stock[sku] for sku in hot})
    if len(numbers) != len(bodies):
        problems.append("two answers carried the same order number")
    if Order.objects.count() < placed:
        problems.append("fewer orders stored than 201 answers")
    ratio = orders_ps / bare_rps if bare_rps else 0.0
    print(
        f"gunicorn: {args.workers} workers x {args.threads} threads, {CLIENTS} concurrent "
        f"clients, PostgreSQL; "
        f"{rounds} alternating rounds of {window}s per endpoint"
    )
    print(
        f"bare endpoint (DRF + Api-Key + throttle, JSON in/out): {bare_rps:8.1f} req/s  "
        f"p50 {median(bare):6.1f} ms  p95 {percentile(bare, 95):6.1f} ms  "
        f"({len(bare)} requests, statuses {bare_status})  (baseline)"
    )
    print(
        f"place 3-line order:                                 {orders_ps:8.1f} orders/s  "
        f"p50 {median(orders):6.1f} ms  p95 {percentile(orders, 95):6.1f} ms  "
        f"({placed} placed, {refused} refused 409 insufficient_stock, "
        f"{attempts_ps:.1f} attempts/s, other statuses {errors or 'none'})"
    )
    print(f"ratio orders/s to bare req/s: {ratio:.3f} (target >= 0.2)")
    print(f"oversell check: {'none' if not problems else '; '.join(problems)}")
    met = ratio >= 0.2 and not problems and not errors
    print(f"BASELINE orders_http {orders_ps:.1f} {bare_rps:.1f} req/s")
    result("orders_http", ratio, ">=0.2,zero-oversell", met)
    return 0


if __name__ == "__main__":
    sys.exit(main())
