"""Feed ingest: a generated stock-and-price feed applied through the file-feed connector,
against COPY of the same file into an unlogged staging table (the physical limit), same run.

Also prints, for reference, the floor any ingest stands on: the same file COPYed into a
temporary table and the three writes every row needs (stock upserted, one ledger row, listing
upserted) done by bare set-based SQL with no validation, events or run record, then rolled back.
Its ratio to COPY shows how much of the target the writes alone take.

Prints rows/s of both, their ratio, and the peak memory (VmHWM, the high-water mark of the
resident set, of the child process that runs the ingest) for two feed sizes, to show memory
does not grow with the file.
Usage: DATABASE_URL=postgres://.../omni_sync_bench python bench/feed_ingest.py [--quick]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import result, setup_django

TARGET_RATIO = 4.0
TARGET_MB = 300
CHANNEL = "bench-feed"
LOCATION = "bench-wh"


def prepare(total: int) -> None:
    """Migrate, then make sure the channel, location and `total` SKUs exist."""
    from django.core.management import call_command
    from django.db import connection

    from catalog.models import Category, Variant
    from inventory.models import StockLocation
    from omni.models import Channel
    from omni.sync.models import ConnectorSettings

    call_command("migrate", verbosity=0)
    reset()
    channel, _ = Channel.objects.get_or_create(
        code=CHANNEL, defaults={"name": "Bench feed", "kind": "marketplace", "currency": "USD"}
    )
    ConnectorSettings.objects.get_or_create(
        channel=channel,
        defaults={"kind": "file_feed", "pull_kinds": ["stock", "prices"], "push_kinds": []},
    )
    StockLocation.objects.get_or_create(
        code=LOCATION, defaults={"name": "Bench", "kind": "warehouse"}
    )
    category, _ = Category.objects.get_or_create(
        slug="bench-feed", defaults={"name": "Bench", "path": "bench-feed/"}
    )
    have = Variant.objects.filter(sku__startswith="FEED-").count()
    if have < total:
        create_variants(category, total)
    # Statistics, as a live database has them (a freshly bulk-loaded one has none until
    # autovacuum comes by, and the planner then takes the catalog for a few rows).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def create_variants(category, total: int) -> None:
    from catalog.models import Product, Variant

    # Ten variants per product, as in a real catalog (one product with 400,000 variants would
    # make the catalog's per-product refresh, not the feed, the thing measured).
    products = {p.slug: p for p in Product.objects.filter(slug__startswith="bench-feed-")}
    Product.objects.bulk_create(
        [
            Product(name=f"Bench product {n}", slug=f"bench-feed-{n}", category=category)
            for n in range(total // 10 + 1)
            if f"bench-feed-{n}" not in products
        ],
        batch_size=5000,
    )
    products = {p.slug: p for p in Product.objects.filter(slug__startswith="bench-feed-")}
    existing = set(Variant.objects.filter(sku__startswith="FEED-").values_list("sku", flat=True))
    Variant.objects.bulk_create(
        [
            Variant(product=products[f"bench-feed-{n // 10}"], sku=sku(n), name=sku(n))
            for n in range(total)
            if sku(n) not in existing
        ],
        batch_size=5000,
    )


def reset() -> None:
    """Start from no stock, no ledger, no marks and no listings (this is the bench's own
    database), so every size is measured applying real changes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE inventory_stockmovement, inventory_stock, inventory_availabilitychange, "
            "sync_stocksnapshotmark, sync_stockdrift, sync_syncrejection, sync_syncrun, "
            "catalog_listing CASCADE"
        )


def sku(n: int) -> str:
    return f"FEED-{n:07d}"


def write_feed(path: Path, rows: int, as_of: datetime) -> None:
    stamp = as_of.isoformat()
    with path.open("w") as out:
        out.write("sku,location,quantity,price,as_of\n")
        for n in range(rows):
            quantity = (n * 7 + as_of.minute) % 500
            price = f"{10 + n % 90}.{n % 100:02d}"
            out.write(f"{sku(n)},{LOCATION},{quantity},{price},{stamp}\n")


def copy_baseline(path: Path) -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_feed_staging")
        cursor.execute(
            "CREATE UNLOGGED TABLE bench_feed_staging "
            "(sku text, location text, quantity integer, price numeric(14,3), as_of timestamptz)"
        )
    started = time.perf_counter()
    with connection.cursor() as cursor, path.open() as feed:
        cursor.copy_expert(
            "COPY bench_feed_staging FROM STDIN WITH (FORMAT csv, HEADER true)", feed
        )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_feed_staging")
    return elapsed


FLOOR_STATEMENTS = [
    "CREATE TEMPORARY TABLE bench_floor "
    "(sku text, location text, quantity integer, price numeric(14,3), as_of timestamptz)",
    None,  # the COPY
    """CREATE TEMPORARY TABLE bench_floor_rows AS
       SELECT v.id AS variant_id, l.id AS location_id, f.quantity, f.price
       FROM bench_floor f JOIN catalog_variant v ON v.sku = f.sku
       JOIN inventory_stocklocation l ON l.code = f.location""",
    """WITH up AS (
         INSERT INTO inventory_stock (variant_id, location_id, on_hand, reserved, incoming,
             reorder_point, needs_count, updated_at)
         SELECT variant_id, location_id, quantity, 0, 0, 0, false, now() FROM bench_floor_rows
         ON CONFLICT (variant_id, location_id) DO UPDATE SET on_hand = EXCLUDED.on_hand,
             updated_at = EXCLUDED.updated_at
         RETURNING id, on_hand)
       INSERT INTO inventory_stockmovement (stock_id, reason, quantity, reference, note,
           created_at)
       SELECT id, 'count_correction', on_hand, 'bench-floor', '', now()
       FROM up WHERE on_hand <> 0""",
    """INSERT INTO catalog_listing (variant_id, channel_id, published, price, currency,
           updated_at)
       SELECT r.variant_id, c.id, true, r.price, c.currency, now()
       FROM bench_floor_rows r CROSS JOIN omni_channel c WHERE c.code = %s
       ON CONFLICT (variant_id, channel_id) DO UPDATE SET price = EXCLUDED.price,
           updated_at = EXCLUDED.updated_at""",
]


def floor_baseline(path: Path) -> float:
    """Seconds for the bare writes every feed row needs (see the module docstring), with the
    deferred foreign-key checks run before the clock stops; everything is rolled back."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        started = time.perf_counter()
        for statement in FLOOR_STATEMENTS:
            if statement is None:
                with path.open() as feed:
                    cursor.copy_expert(
                        "COPY bench_floor FROM STDIN WITH (FORMAT csv, HEADER true)", feed
                    )
            else:
                cursor.execute(statement, [CHANNEL] if "%s" in statement else None)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    return elapsed


def peak_rss_mb() -> float:
    """This process's resident-set high-water mark (VmHWM) in MB; ru_maxrss where there is no
    /proc (it is the same figure on Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(path: str, kinds: list[str]) -> None:
    """Runs in a fresh process: ingest the feed through the connector, report as JSON."""
    setup_django()
    from omni.models import Channel
    from omni.sync.services.feeds import feed_pull

    channel = Channel.objects.get(code=CHANNEL)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run = feed_pull(channel=channel, kinds=kinds, source=path)
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - cpu_before.ru_utime) + (usage.ru_stime - cpu_before.ru_stime)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "peak_mb": peak_rss_mb(),
                "status": run.status,
                "read": run.rows_read,
                "applied": run.rows_applied,
                "unchanged": run.rows_unchanged,
                "rejected": run.rows_rejected,
            }
        )
    )


def ingest(path: Path, kinds: str) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(path), "--kinds", kinds],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"ingest child failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--kinds", default="stock,prices", help="what the connector applies")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.kinds.split(","))
        return
    setup_django()
    sizes = [20_000, 80_000] if args.quick else [100_000, 400_000]
    prepare(max(sizes))
    print(f"feed ingest: stock-and-price CSV, connector applies {args.kinds}; sizes {sizes}")
    ratios, peaks = [], []
    base = datetime.now(UTC) - timedelta(hours=1)
    with tempfile.TemporaryDirectory() as tmp:
        for index, size in enumerate(sizes):
            path = Path(tmp) / f"feed-{size}.csv"
            # Each size counts newer than the one before, so every row is really applied.
            write_feed(path, size, base + timedelta(minutes=10 * index))
            copy_seconds = copy_baseline(path)
            floor_seconds = floor_baseline(path)
            figures = ingest(path, args.kinds)
            copy_rate = size / copy_seconds
            ingest_rate = size / figures["seconds"]
            ratio = copy_rate / ingest_rate
            ratios.append(ratio)
            peaks.append(figures["peak_mb"])
            print(
                f"{size:>7} rows  COPY {copy_rate:>10,.0f} rows/s ({copy_seconds:.2f} s)  "
                f"connector {ingest_rate:>9,.0f} rows/s ({figures['seconds']:.2f} s)  "
                f"ratio {ratio:.2f}x  peak {figures['peak_mb']:.0f} MB  "
                f"ingest CPU {figures['cpu_seconds']:.1f} s  "
                f"[{figures['status']}: applied {figures['applied']}, unchanged "
                f"{figures['unchanged']}, rejected {figures['rejected']}]",
                flush=True,
            )
            print(
                f"{'':>7}       floor (bare SQL of the writes) {size / floor_seconds:>9,.0f} "
                f"rows/s ({floor_seconds:.2f} s) = {floor_seconds / copy_seconds:.2f}x COPY; "
                f"connector = {figures['seconds'] / floor_seconds:.2f}x the floor",
                flush=True,
            )
    growth = peaks[-1] / peaks[0]
    print(f"peak memory {peaks[0]:.0f} MB -> {peaks[-1]:.0f} MB for {sizes[-1] // sizes[0]}x rows")
    met = max(ratios) <= TARGET_RATIO and max(peaks) < TARGET_MB and growth < 1.5
    print(f"BASELINE feed_ingest_vs_copy {ingest_rate:.0f} {copy_rate:.0f} rows/s")
    result("feed_ingest_vs_copy", max(ratios), f"<={TARGET_RATIO}x,<{TARGET_MB}MB,flat", met)


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    main()
