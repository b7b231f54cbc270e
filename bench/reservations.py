"""Reservations under contention: 16 worker processes reserve and commit single units on a hot
set of 10 SKUs for a fixed time, through the service layer (`stock_reserve` +
`reservation_commit` in one transaction, with locks, channel rule, reservation rows, ledger and
availability outbox) and through a raw psycopg2 baseline doing the same conditional UPDATE plus
ledger INSERT in one transaction. Both run in the same invocation on the same data.

Afterwards every run is checked: no deadlock, stock never oversold (a scarce phase offers fewer
units than workers want and must sell exactly them), and the ledger reconciles. For context, a
single worker per side then reports the CPU (worker and PostgreSQL backend) and the WAL bytes
each operation costs: the WAL is counted by the server, so load elsewhere on the machine, which
moves every rate, does not move it (full-page images after a checkpoint and the outbox drain's
writes still vary it a little).

Per iteration the two sides do different amounts of work, and the output says so: the
service does what an order does over its life, reserve (`stock_reserve`: lock, conditional
UPDATE of `reserved`, reservation row, availability outbox mark) then commit
(`reservation_commit`: lock, UPDATE of `on_hand` and `reserved`, reservation row deleted, SALE
ledger row), here in one transaction (orders do them in two, at placement and at fulfilment);
the baseline does one conditional UPDATE of `on_hand` and one ledger INSERT. Inventory offers no
reserve-and-commit-at-once service (a POS sale after the fact, `stock_record_sale`, is never
refused, so it is not the same operation), so none is benchmarked.

Two floors run in the same rounds and say where the rest of the gap lies. The SQL floor runs
the service's own two statements, prepared, through a bare psycopg2 connection: the writes the
design requires, with no Python layer. The Django floor runs the same statements inside
`transaction.atomic()` on Django's connection (its psycopg2 cursor, no service code): what any
service called from Django code costs at least. The last lines give the ratio as a product:
SQL floor/raw x Django floor/SQL floor x service/Django floor.

The outbox is drained as in production: checkouts kick the drain task at most once a second per
process (`inventory.services.outbox`), and this process drains the outbox once a second during
every phase, as a Celery worker would. Without CELERY_BROKER_URL the kicks go to Celery's
in-process memory transport (with no broker Celery would otherwise run the drain eagerly after
every checkout, which is the development set-up, not production).

Usage: DATABASE_URL=postgres://.../omni_inventory python bench/reservations.py [--quick]
The bench uses its own database, `<name>_bench` (created and migrated here), unless the URL
already names a `_bench` database.
"""

import argparse
import multiprocessing as mp
import os
import random
import secrets
import sys
import time
import weakref
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median, result, vacuum_analyze

WORKERS = 16
# Per worker process: its database connections, kept across phases.
_own_connection: dict = {}
_prepared_sessions: "weakref.WeakSet" = weakref.WeakSet()
HOT_SKUS = 10
TARGET = 0.5
# The two floors: the service's own statements with nothing around them, and inside Django's
# transaction with no service code.
SQL_FLOOR = "SQL floor"
DJANGO_FLOOR = "Django floor"


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("bench scripts run against PostgreSQL: set DATABASE_URL")
    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    if not name.endswith("_bench"):
        name = f"{name}_bench"
    import psycopg2

    admin = psycopg2.connect(urlunparse(parsed._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    return urlunparse(parsed._replace(path=f"/{name}"))


def setup(url: str) -> dict:
    os.environ["DATABASE_URL"] = url
    # Measure the service layer as it runs in production: with DEBUG on, Django's debug cursor
    # times, formats and keeps every query, work the raw baseline does not do.
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    if not os.environ.get("CELERY_BROKER_URL"):
        os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
        os.environ.setdefault("CELERY_RESULT_BACKEND", "cache+memory://")
    from bench.common import setup_django

    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from catalog.models import Category, Product, Variant
    from inventory.models import ChannelLocation, StockLocation
    from omni.models import Channel

    channel, _ = Channel.objects.get_or_create(
        code="bench-web", defaults={"name": "Bench web", "kind": "web", "currency": "USD"}
    )
    locations = []
    for index in range(2):
        location, _ = StockLocation.objects.get_or_create(
            code=f"bench-wh-{index}", defaults={"name": f"Bench {index}", "kind": "warehouse"}
        )
        ChannelLocation.objects.get_or_create(
            channel=channel, location=location, defaults={"priority": index}
        )
        locations.append(location)
    category, _ = Category.objects.get_or_create(
        slug="bench", defaults={"name": "Bench", "path": "bench/"}
    )
    product, _ = Product.objects.get_or_create(
        slug="bench-product", defaults={"name": "Bench product", "category": category}
    )
    variants = [
        Variant.objects.get_or_create(product=product, sku=f"BENCH-HOT-{i}")[0]
        for i in range(HOT_SKUS)
    ]
    return {
        "channel_id": channel.pk,
        "location_ids": [loc.pk for loc in locations],
        "variant_ids": [v.pk for v in variants],
    }


def restock(ctx: dict, units: int) -> list[int]:
    """Put exactly `units` available on every hot (variant, location); return the stock ids."""
    from inventory.models import Reservation, Stock
    from inventory.services import StockLine, stock_adjust, stock_receive

    Reservation.objects.filter(stock__variant_id__in=ctx["variant_ids"]).delete()
    Stock.objects.filter(variant_id__in=ctx["variant_ids"]).update(reserved=0)
    for location_id in ctx["location_ids"]:
        stock_receive(
            location_id=location_id,
            lines=[StockLine(v, 1) for v in ctx["variant_ids"]],
            reference="BENCH-RESTOCK",
        )
    for stock in Stock.objects.filter(variant_id__in=ctx["variant_ids"]):
        if stock.on_hand != units:
            stock_adjust(
                variant_id=stock.variant_id,
                location_id=stock.location_id,
                quantity=units - stock.on_hand,
                note="bench restock",
                reference="BENCH-RESTOCK",
            )
    # What autovacuum does on a live server between phases (it may be off on a bench server):
    # without it every phase leaves the hot stock rows' dead versions, the deleted
    # reservations and the drained marks behind, and later rounds of both sides run on a
    # bloated table with stale statistics (seen: ratios falling round after round).
    vacuum_analyze(
        "inventory_stock",
        "inventory_reservation",
        "inventory_availabilitymark",
        "inventory_stockmovement",
    )
    return list(
        Stock.objects.filter(variant_id__in=ctx["variant_ids"]).values_list("pk", flat=True)
    )


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds used so far by a PostgreSQL backend, when the server runs on this machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_used(pid: int, client_start: float, server_start: float | None) -> dict:
    server_end = _backend_cpu(pid)
    server = None if server_start is None or server_end is None else server_end - server_start
    return {"client_cpu": time.process_time() - client_start, "server_cpu": server}


def service_worker(args) -> dict:
    ctx, seconds, seed, until_refused = args
    from django.db import OperationalError, transaction

    from inventory.errors import InsufficientStock
    from inventory.services import StockRequest, reservation_commit, stock_reserve
    from omni.models import Channel

    pid = _django_connection()
    channel = Channel.objects.get(pk=ctx["channel_id"])
    rng = random.Random(seed)
    done = refused = deadlocks = 0
    latencies = []
    client_start, server_start = time.process_time(), _backend_cpu(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        variant_id = rng.choice(ctx["variant_ids"])
        location_id = rng.choice(ctx["location_ids"])
        started = time.perf_counter()
        try:
            with transaction.atomic():
                (reservation,) = stock_reserve(
                    channel=channel,
                    requests=[StockRequest(variant_id, location_id, 1)],
                    reference=f"B{seed}",
                )
                reservation_commit(reservation=reservation, quantity=1, reference=f"B{seed}")
            done += 1
            latencies.append(time.perf_counter() - started)
        except InsufficientStock:
            refused += 1
            if until_refused and refused > 50:
                break
        except OperationalError as exc:
            if "deadlock" in str(exc):
                deadlocks += 1
            else:
                raise
    cpu = _cpu_used(pid, client_start, server_start)
    return {"done": done, "refused": refused, "deadlocks": deadlocks, "latencies": latencies, **cpu}


def _django_connection() -> int:
    """Open this worker process's Django connection (kept across phases) and return its
    backend's pid."""
    from django.db import connection

    if _own_connection.get("django") != os.getpid():
        # The pool's processes are forked: drop the parent's connection once, then keep this
        # process's own across phases, as a production worker does (CONN_MAX_AGE), so its
        # prepared statements and caches are warm.
        connection.close()
        _own_connection["django"] = os.getpid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return pid


def _psycopg2_connection(key: str):
    """This worker process's own psycopg2 connection for `key` (kept across phases) and its
    backend's pid."""
    import psycopg2

    if _own_connection.get(key, (None,))[0] != os.getpid():
        _own_connection[key] = (os.getpid(), psycopg2.connect(os.environ["DATABASE_URL"]))
    conn = _own_connection[key][1]
    with conn.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    conn.rollback()
    return conn, pid


def raw_worker(args) -> dict:
    ctx, seconds, seed, until_refused = args
    from psycopg2 import errors

    conn, pid = _psycopg2_connection("raw")
    rng = random.Random(seed)
    done = refused = deadlocks = 0
    latencies = []
    client_start, server_start = time.process_time(), _backend_cpu(pid)
    end = time.monotonic() + seconds
    stock_ids = ctx["stock_ids"]
    with conn.cursor() as cursor:
        while time.monotonic() < end:
            stock_id = rng.choice(stock_ids)
            started = time.perf_counter()
            try:
                cursor.execute(
                    "UPDATE inventory_stock SET on_hand = on_hand - 1, updated_at = now() "
                    "WHERE id = %s AND on_hand - reserved >= 1",
                    [stock_id],
                )
                if cursor.rowcount == 1:
                    cursor.execute(
                        "INSERT INTO inventory_stockmovement "
                        "(stock_id, reason, quantity, reference, note, created_at) "
                        "VALUES (%s, 'sale', -1, %s, '', now())",
                        [stock_id, f"R{seed}"],
                    )
                    conn.commit()
                    done += 1
                    latencies.append(time.perf_counter() - started)
                else:
                    conn.rollback()
                    refused += 1
                    if until_refused and refused > 50:
                        break
            except errors.DeadlockDetected:
                conn.rollback()
                deadlocks += 1
    cpu = _cpu_used(pid, client_start, server_start)
    return {"done": done, "refused": refused, "deadlocks": deadlocks, "latencies": latencies, **cpu}


def _service_statements() -> tuple[str, str]:
    """The two statements the service runs for a single-line reserve and a whole commit,
    in PostgreSQL's numbered-parameter form, as `omni.sql` prepares them."""
    from inventory import sql
    from inventory.services.reservations import _RESERVE_OUTBOX_SQL

    return sql._reserve_one_text(_RESERVE_OUTBOX_SQL), sql._COMMIT_WHOLE_TEXT


# EXECUTE texts of the statements the floors prepare on their session (see `_prepare`).
_FLOOR_RESERVE = "EXECUTE bench_reserve (%s, %s, %s, %s, %s, %s, %s, %s)"
_FLOOR_COMMIT = "EXECUTE bench_commit (%s, %s, %s, %s, %s, %s, %s, %s)"


def _prepare(raw_connection) -> None:
    """Prepare the service's two statements once on this psycopg2 session."""
    if raw_connection in _prepared_sessions:
        return
    reserve, commit = _service_statements()
    with raw_connection.cursor() as cursor:
        cursor.execute(f"PREPARE bench_reserve AS {reserve}")
        cursor.execute(f"PREPARE bench_commit AS {commit}")
    if not raw_connection.autocommit:
        raw_connection.commit()
    _prepared_sessions.add(raw_connection)


def _floor_operation(cursor, ctx: dict, rng, seed: int) -> bool:
    """One reserve + commit with the service's own statements and nothing around them: the
    same rows locked, checked and written, the same outbox mark and ledger row. Returns False
    on a refusal (the caller rolls back)."""
    variant_id = rng.choice(ctx["variant_ids"])
    location_id = rng.choice(ctx["location_ids"])
    now = datetime.now(UTC)
    reference = f"F{seed}"
    cursor.execute(
        _FLOOR_RESERVE,
        [now, 1, variant_id, location_id, ctx["channel_id"], reference, None, "order"],
    )
    row = cursor.fetchone()
    if row is None:
        return False
    reservation_id, stock_id = row[0], row[1]
    cursor.execute(_FLOOR_COMMIT, [stock_id, 1, reservation_id, now, "sale", reference, "", None])
    cursor.fetchall()
    return True


def sql_floor_worker(args) -> dict:
    """The service's two statements, prepared, through a bare psycopg2 connection: what the
    writes the design requires cost with no Python layer at all."""
    ctx, seconds, seed, _until_refused = args
    conn, pid = _psycopg2_connection("floor")
    _prepare(conn)
    rng = random.Random(seed)
    done = refused = 0
    latencies = []
    client_start, server_start = time.process_time(), _backend_cpu(pid)
    end = time.monotonic() + seconds
    with conn.cursor() as cursor:
        while time.monotonic() < end:
            started = time.perf_counter()
            if _floor_operation(cursor, ctx, rng, seed):
                conn.commit()
                done += 1
                latencies.append(time.perf_counter() - started)
            else:
                conn.rollback()
                refused += 1
    cpu = _cpu_used(pid, client_start, server_start)
    return {"done": done, "refused": refused, "deadlocks": 0, "latencies": latencies, **cpu}


def django_floor_worker(args) -> dict:
    """The same two statements inside `transaction.atomic()` on Django's connection (run on
    its psycopg2 cursor, so no service code and no cursor wrapper): what any service called
    from Django code costs at least, whatever its own Python does."""
    ctx, seconds, seed, _until_refused = args
    from django.db import connection, transaction

    pid = _django_connection()
    _prepare(connection.connection)
    rng = random.Random(seed)
    done = refused = 0
    latencies = []
    client_start, server_start = time.process_time(), _backend_cpu(pid)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        with transaction.atomic():
            with connection.connection.cursor() as cursor:
                sold = _floor_operation(cursor, ctx, rng, seed)
            if not sold:
                transaction.set_rollback(True)
        if sold:
            done += 1
            latencies.append(time.perf_counter() - started)
        else:
            refused += 1
    cpu = _cpu_used(pid, client_start, server_start)
    return {"done": done, "refused": refused, "deadlocks": 0, "latencies": latencies, **cpu}


def run(
    pool, worker, ctx: dict, seconds: float, until_refused: bool = False, workers: int = WORKERS
) -> dict:
    from django.db import connection

    from inventory.services import availability_outbox_drain

    jobs = [(ctx, seconds, 1000 + i, until_refused) for i in range(workers)]
    wal_start = _wal_position()
    started = time.perf_counter()
    pending = pool.map_async(worker, jobs)
    # The drain a Celery worker would run on the kicks: once a second while the phase runs.
    while not pending.ready():
        pending.wait(1.0)
        availability_outbox_drain()
    outcomes = pending.get()
    elapsed = time.perf_counter() - started
    wal_bytes = _wal_position() - wal_start
    connection.close()
    total = {key: sum(o[key] for o in outcomes) for key in ("done", "refused", "deadlocks")}
    latencies = [lat for o in outcomes for lat in o["latencies"]]
    total["rate"] = total["done"] / seconds
    total["elapsed"] = elapsed
    total["p50_ms"] = median(latencies) * 1000 if latencies else float("nan")
    done = max(total["done"], 1)
    total["client_ms"] = sum(o["client_cpu"] for o in outcomes) / done * 1000
    servers = [o["server_cpu"] for o in outcomes]
    total["server_ms"] = None if None in servers else sum(servers) / done * 1000
    total["wal_bytes"] = wal_bytes / done
    return total


def _wal_position() -> int:
    """The server's WAL insert position in bytes: its growth over a phase is the WAL every
    write of the phase produced, the outbox drain's included."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def stock_state(ctx: dict) -> tuple[int, int, int]:
    from django.db.models import Sum

    from inventory.models import Stock

    agg = Stock.objects.filter(variant_id__in=ctx["variant_ids"]).aggregate(
        on_hand=Sum("on_hand"), reserved=Sum("reserved")
    )
    negative = Stock.objects.filter(variant_id__in=ctx["variant_ids"], on_hand__lt=0).count()
    return agg["on_hand"], agg["reserved"], negative


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (under a minute)")
    parser.add_argument("--rounds", type=int, help="alternating raw/service rounds")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 8.0
    rounds = args.rounds or (3 if args.quick else 5)
    ctx = setup(bench_database_url())
    from django.core.management import call_command
    from django.db import connection

    plenty = 1_000_000
    scarce = 10
    rows = HOT_SKUS * len(ctx["location_ids"])
    print(f"{WORKERS} worker processes, {HOT_SKUS} hot SKUs x {len(ctx['location_ids'])} "
          f"locations, {rounds} rounds of raw, service and floor phases, "
          f"{seconds:.0f} s each")  # fmt: skip

    from django.conf import settings

    print(f"DEBUG {'on' if settings.DEBUG else 'off'}; Celery broker "
          f"{settings.CELERY_BROKER_URL.split('@')[-1]}, outbox drained once a second")  # fmt: skip
    print("per iteration: service = stock_reserve + reservation_commit in one transaction "
          "(2 statements: 2 UPDATEs of the stock row, reservation INSERT + DELETE, outbox "
          "INSERT, ledger INSERT); raw = 1 conditional UPDATE + 1 ledger INSERT in one "
          "transaction")  # fmt: skip
    ctx["stock_ids"] = restock(ctx, plenty)
    connection.close()
    ok = True
    phases = (
        ("raw psycopg2", raw_worker),
        ("service layer", service_worker),
        (SQL_FLOOR, sql_floor_worker),
        (DJANGO_FLOOR, django_floor_worker),
    )
    figures: dict[str, list[float]] = {name: [] for name, _ in phases}
    ratios = []
    with mp.get_context("fork").Pool(WORKERS) as pool:
        # The machine is shared: alternate short phases of both (swapping which goes first each
        # round) so that load from elsewhere hits both alike, and report the spread.
        # Untimed warm-up: every worker process opens its connections and the server plans
        # the statements of both paths before anything is measured.
        for _name, worker in phases:
            run(pool, worker, ctx, 1.0)
        for round_no in range(rounds):
            ctx["stock_ids"] = restock(ctx, plenty)
            connection.close()
            rates = {}
            for name, worker in phases if round_no % 2 == 0 else phases[::-1]:
                before = stock_state(ctx)[0]
                connection.close()
                outcome = run(pool, worker, ctx, seconds)
                on_hand, reserved, negative = stock_state(ctx)
                connection.close()
                sold_right = before - on_hand == outcome["done"] and reserved == 0 and not negative
                ok &= sold_right and outcome["deadlocks"] == 0
                rates[name] = outcome["rate"]
                figures[name].append(outcome["rate"])
                print(f"round {round_no + 1} {name:>14}: {outcome['rate']:8.1f} "
                      f"reservations+commits/s  p50 {outcome['p50_ms']:.2f} ms  "
                      f"deadlocks {outcome['deadlocks']}  units sold {outcome['done']} = "
                      f"on_hand drop {before - on_hand}: "
                      f"{'ok' if sold_right else 'MISMATCH'}")  # fmt: skip
            ratios.append(rates["service layer"] / rates["raw psycopg2"])
            print(f"round {round_no + 1} ratio service/raw: {ratios[-1]:.2f} "
                  f"({SQL_FLOOR}/raw {rates[SQL_FLOOR] / rates['raw psycopg2']:.2f}, "
                  f"{DJANGO_FLOOR}/raw "
                  f"{rates[DJANGO_FLOOR] / rates['raw psycopg2']:.2f})")  # fmt: skip
        for name, rates in figures.items():
            print(f"{name:>14}: median {median(rates):8.1f}/s  "
                  f"(min {min(rates):.1f}, max {max(rates):.1f}) over {rounds} rounds")  # fmt: skip

        # Context, not the target: one worker alone, no contention, same operations.
        solo = {}
        for name, worker in phases:
            ctx["stock_ids"] = restock(ctx, plenty)
            connection.close()
            solo[name] = run(pool, worker, ctx, seconds / 2, workers=1)
        raw_ms, service_ms = solo["raw psycopg2"]["p50_ms"], solo["service layer"]["p50_ms"]
        print(f"single worker, uncontended: raw {raw_ms:.2f} ms/op, service {service_ms:.2f} "
              f"ms/op (p50, mostly the wait for the WAL flush at commit); "
              f"ratio {raw_ms / service_ms:.2f}")  # fmt: skip
        # Under contention on a small machine the phases are CPU-bound, so the ratio follows
        # the CPU each operation costs, in the worker and in its PostgreSQL backend.
        costs = {}
        for name, outcome in solo.items():
            server = outcome["server_ms"]
            costs[name] = outcome["client_ms"] + (server or 0.0)
            shown = "n/a (server not local)" if server is None else f"{server:.3f}"
            print(f"{name:>14} CPU per op: client {outcome['client_ms']:.3f} ms + "
                  f"PostgreSQL backend {shown} ms")  # fmt: skip
        if all(o["server_ms"] is not None for o in solo.values()):
            print(f"CPU ratio raw/service: "
                  f"{costs['raw psycopg2'] / costs['service layer']:.2f}")  # fmt: skip
        # What every operation writes, counted by the server, not timed: the service (and the
        # floors, running its statements) write about twice what raw does.
        wal = {name: outcome["wal_bytes"] for name, outcome in solo.items()}
        print("WAL per op: " + ", ".join(f"{name} {size:.0f} bytes" for name, size in wal.items())
              + f"; raw/service {wal['raw psycopg2'] / wal['service layer']:.2f}")  # fmt: skip

        # Scarce phase: far more demand than stock; exactly the stock may be sold.
        for name, worker in (("raw psycopg2", raw_worker), ("service layer", service_worker)):
            ctx["stock_ids"] = restock(ctx, scarce)
            connection.close()
            # Until every worker has been refused repeatedly (a time cap guards a hang).
            outcome = run(pool, worker, ctx, 120.0, until_refused=True)
            on_hand, reserved, negative = stock_state(ctx)
            exact = outcome["done"] == scarce * rows and on_hand == 0 and not negative
            ok &= exact and outcome["deadlocks"] == 0
            verdict = "exact, no oversell" if exact else "MISMATCH"
            print(f"{name:>14} scarce: {scarce * rows} units offered, {outcome['done']} sold, "
                  f"{outcome['refused']} refused, on_hand left {on_hand}, "
                  f"deadlocks {outcome['deadlocks']}: {verdict}")  # fmt: skip
            connection.close()

    try:
        call_command("inventory_reconcile", stdout=open(os.devnull, "w"))  # noqa: SIM115
        print("inventory_reconcile: zero drift")
    except Exception as exc:
        ok = False
        print(f"inventory_reconcile: {exc}")
    ratio = median(ratios)
    rate = {name: median(rates) for name, rates in figures.items()}
    print(f"what the ratio is made of (median rates): the statements the design requires, "
          f"bare ({SQL_FLOOR}/raw) {rate[SQL_FLOOR] / rate['raw psycopg2']:.2f} x Django's "
          f"transaction around them ({DJANGO_FLOOR}/{SQL_FLOOR}) "
          f"{rate[DJANGO_FLOOR] / rate[SQL_FLOOR]:.2f} x the services' own Python "
          f"(service/{DJANGO_FLOOR}) {rate['service layer'] / rate[DJANGO_FLOOR]:.2f}")  # fmt: skip
    print(f"ratio service/raw per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
          f"median {ratio:.2f} (target >= {TARGET}); "
          f"checks {'ok' if ok else 'FAILED'}")  # fmt: skip
    service, raw = median(figures["service layer"]), median(figures["raw psycopg2"])
    print(f"BASELINE reservations {service:.1f} {raw:.1f} ops/s")
    result("reservations", ratio, f">={TARGET}", ratio >= TARGET and ok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
