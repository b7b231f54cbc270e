"""Set-based apply of stock and price feeds on PostgreSQL.

A chunk of rows is validated in Python by the handlers' own `clean` (the rules the per-row
path applies, remembered per distinct text) while it streams into a temporary staging table
with COPY; every later step is one statement over the whole chunk:

1. resolve SKUs and locations with a join (unknown ones become rejections);
2. stock: keep the newest count per (variant, location) in the chunk, advance the snapshot
   marks (an upsert that moves a mark only forward and returns the pairs it moved, so a
   count no newer than the last applied is skipped), create missing stock rows, lock the
   stock rows in primary-key order, then in one statement set `on_hand` to the count plus
   the movements booked after its time, book each difference as a count correction and
   report each drift (inventory.snapshots states the rules; this is their set form);
3. prices: the last price per variant in the chunk, compared with the channel's listing;
   only different ones are written (existing listings locked in primary-key order, then one
   upsert), and the storefront rows of their products refreshed by the catalog;
4. rejected rows and the run's counters and resume point.

All of it commits together, so a redelivered task resumes after the last committed chunk and
re-reading a feed changes nothing. Memory is bounded by the chunk's few result rows, not by
the feed: the rows themselves go from the feed to the database without being held.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Listing, Variant
from catalog.services import channel_products_refresh
from inventory.models import (
    ChannelLocation,
    MovementReason,
    Stock,
    StockLocation,
    StockMovement,
)
from inventory.services.outbox import record_availability_changes
from inventory.snapshots import SNAPSHOT_REFERENCE_PREFIX
from omni.sync.connectors.base import FeedRow
from omni.sync.errors import RowRejected
from omni.sync.models import StockDrift, StockSnapshotMark, SyncRejection, SyncRun
from omni.sync.services.runs import RAW_LIMIT, BatchOutcome, run_record_progress

STAGE = "sync_feed_stage"
ROWS = "sync_feed_rows"
FRESH = "sync_feed_fresh"
PRICES = "sync_feed_prices"

# Enough for one COPY message to carry a few hundred rows.
READ_SIZE = 1 << 16
# Sorts and hashes of a chunk (tens of thousands of rows) fit in memory instead of spilling.
WORK_MEM = "64MB"

# `snapshot_reference(as_of)` (inventory.snapshots) in SQL: the time in UTC, ISO 8601 as
# Python writes it (microseconds only when there are some).
_REFERENCE_SQL = (
    "%(prefix)s || to_char({t} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN date_part('microseconds', {t})::bigint %% 1000000 <> 0 "
    "THEN to_char({t} AT TIME ZONE 'UTC', '.US') ELSE '' END || '+00:00'"
)


class _StagedRows:
    """The file object COPY reads: pulls feed rows on demand, validates each with the
    handlers' `clean` and writes it as a CSV line (line, raw, sku, location, quantity, as_of,
    price, compare_at, code, reason); a row a rule refused carries its code and reason."""

    def __init__(self, rows: Iterable[FeedRow], handlers):
        self._rows: Iterator[FeedRow] = iter(rows)
        self._handlers = handlers
        self._kinds = [handler.kind for handler in handlers]
        self._buffer = io.StringIO()
        self._write = csv.writer(self._buffer, lineterminator="\n").writerow
        self.count = 0
        self.last_line = 0
        self.error: BaseException | None = None

    def read(self, size: int = -1) -> str:
        try:
            self._fill(size if size and size > 0 else READ_SIZE)
        except BaseException as exc:
            # psycopg2 turns an exception raised here into a cancelled COPY; keep the real
            # one (e.g. the feed's server went away) for the caller to raise.
            self.error = exc
            raise
        text = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        return text

    def _fill(self, size: int) -> None:
        buffer, write, handlers = self._buffer, self._write, self._handlers
        stock = self._kinds.index("stock") if "stock" in self._kinds else None
        prices = self._kinds.index("prices") if "prices" in self._kinds else None
        for row in self._rows:
            self.count += 1
            self.last_line = line = row.line
            if row.data is None:
                write(
                    (line, row.raw, None, None, None, None, None, None, "malformed_row", row.error)
                )
            else:
                try:
                    values = [handler.clean(row.data) for handler in handlers]
                except RowRejected as exc:
                    write(
                        (line, row.raw, None, None, None, None, None, None, exc.code, exc.message)
                    )
                else:
                    count = None if stock is None else values[stock]
                    price = None if prices is None else values[prices]
                    write(
                        (
                            line,
                            row.raw,
                            values[0].sku,
                            *(
                                (None, None, None)
                                if count is None
                                else (count.location_code, count.quantity, count.as_of)
                            ),
                            *(
                                (None, None)
                                if price is None
                                else (price.price, price.compare_at_price)
                            ),
                            None,
                            None,
                        )
                    )
            if buffer.tell() >= size:
                return


def chunk_apply(*, run: SyncRun, handlers: list, rows: Iterable[FeedRow]) -> BatchOutcome:
    """Apply one chunk of a stock and/or price feed (see the module docstring) and record it
    with the run's progress, in one transaction."""
    channel = handlers[0].channel
    kinds = {handler.kind for handler in handlers}
    staged = _StagedRows(rows, handlers)
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        # Temporary tables (no WAL), dropped at commit; dropped first too in case an outer
        # transaction (a test) keeps the previous chunk's.
        cursor.execute(
            f"DROP TABLE IF EXISTS pg_temp.{STAGE}, pg_temp.{ROWS}, pg_temp.{FRESH}, "
            f"pg_temp.{PRICES}"
        )
        cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEM])
        cursor.execute(
            f"CREATE TEMPORARY TABLE {STAGE} (line integer, raw text, sku text, location text, "
            "quantity integer, as_of timestamptz, price numeric(14, 3), "
            "compare_at numeric(14, 3), code text, reason text) ON COMMIT DROP"
        )
        try:
            cursor.copy_expert(f"COPY {STAGE} FROM STDIN WITH (FORMAT csv)", staged, READ_SIZE)
        except Exception:
            if staged.error is not None:
                raise staged.error from None
            raise
        # Autovacuum never sees temporary tables: without statistics the planner takes a
        # chunk for a few hundred rows and joins it by nested loops.
        cursor.execute(f"ANALYZE {STAGE}")
        _resolve(cursor, stock="stock" in kinds)
        changed: set[int] = set()
        if "stock" in kinds:
            changed |= _apply_counts(cursor, run=run, channel=channel, now=now)
        if "prices" in kinds:
            changed |= _apply_prices(cursor, channel=channel, now=now)
        cursor.execute(
            f"INSERT INTO {SyncRejection._meta.db_table} (run_id, line, raw, code, reason) "
            f"SELECT %s, line, left(coalesce(raw, ''), %s), code, left(reason, 500) "
            f"FROM {ROWS} WHERE code IS NOT NULL ORDER BY line",
            [run.pk, RAW_LIMIT],
        )
        rejected = cursor.rowcount
        outcome = BatchOutcome(read=staged.count, applied=len(changed))
        outcome.unchanged = outcome.read - outcome.applied - rejected
        run_record_progress(
            run=run,
            read=outcome.read,
            applied=outcome.applied,
            unchanged=outcome.unchanged,
            rejected=rejected,
            last_line=staged.last_line,
        )
    return outcome


def _resolve(cursor, *, stock: bool) -> None:
    """The staged rows with their variant and location ids; a SKU (or, for counts, a
    location) that does not resolve rejects the row, as the per-row path's `resolve` does."""
    location_rule = "WHEN l.id IS NULL THEN 'unknown_location'" if stock else ""
    location_reason = (
        "WHEN l.id IS NULL THEN 'Unknown location ' || s.location || '.'" if stock else ""
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE {ROWS} ON COMMIT DROP AS "
        "SELECT s.line, s.raw, s.sku, s.location, s.quantity, s.as_of, s.price, s.compare_at, "
        "v.id AS variant_id, v.product_id, l.id AS location_id, "
        "CASE WHEN s.code IS NOT NULL THEN s.code WHEN v.id IS NULL THEN 'unknown_sku' "
        f"{location_rule} END AS code, "
        "CASE WHEN s.code IS NOT NULL THEN s.reason "
        f"WHEN v.id IS NULL THEN 'Unknown SKU ' || s.sku || '.' {location_reason} END AS reason "
        f"FROM {STAGE} s "
        f"LEFT JOIN {Variant._meta.db_table} v ON s.code IS NULL AND v.sku = s.sku "
        f"LEFT JOIN {StockLocation._meta.db_table} l "
        "ON s.code IS NULL AND l.code = s.location AND l.active"
    )
    cursor.execute(f"ANALYZE {ROWS}")


def _apply_counts(cursor, *, run: SyncRun, channel, now) -> set[int]:
    """Stock counts "as of t" (inventory.snapshots): returns the lines that changed stock."""
    stock, movement = Stock._meta.db_table, StockMovement._meta.db_table
    # Newest count per pair in the chunk (a later line wins a tie, as in the per-row path);
    # the marks move forward only, in (variant, location) order so that two feeds counting
    # the same rows serialise on them; FRESH keeps the counts whose mark moved.
    cursor.execute(
        f"CREATE TEMPORARY TABLE {FRESH} ON COMMIT DROP AS "
        "WITH newest AS ("
        "  SELECT DISTINCT ON (variant_id, location_id) line, sku, location, variant_id, "
        "         location_id, quantity, as_of "
        f"  FROM {ROWS} WHERE code IS NULL "
        "  ORDER BY variant_id, location_id, as_of DESC, line DESC), "
        "moved AS ("
        f"  INSERT INTO {StockSnapshotMark._meta.db_table} AS m (variant_id, location_id, as_of) "
        "  SELECT variant_id, location_id, as_of FROM newest ORDER BY variant_id, location_id "
        "  ON CONFLICT (variant_id, location_id) DO UPDATE SET as_of = excluded.as_of "
        "  WHERE m.as_of < excluded.as_of "
        "  RETURNING m.variant_id, m.location_id) "
        "SELECT n.* FROM newest n JOIN moved USING (variant_id, location_id)"
    )
    if not cursor.rowcount:
        return set()
    cursor.execute(f"ANALYZE {FRESH}")
    cursor.execute(
        f"INSERT INTO {stock} (variant_id, location_id, on_hand, reserved, incoming, "
        "reorder_point, needs_count, updated_at) "
        f"SELECT f.variant_id, f.location_id, 0, 0, 0, 0, false, %s FROM {FRESH} f "
        f"WHERE NOT EXISTS (SELECT 1 FROM {stock} s "
        "  WHERE s.variant_id = f.variant_id AND s.location_id = f.location_id) "
        "ORDER BY f.variant_id, f.location_id "
        "ON CONFLICT (variant_id, location_id) DO NOTHING",
        [now],
    )
    # The stock rows, locked in primary-key order like every other stock writer; the
    # movements are read afterwards, so a sale committed while we waited is counted.
    cursor.execute(
        f"SELECT count(*) FROM (SELECT s.id FROM {stock} s JOIN {FRESH} f "
        "ON s.variant_id = f.variant_id AND s.location_id = f.location_id "
        "ORDER BY s.id FOR UPDATE OF s) locked"
    )
    reference = _REFERENCE_SQL.format(t="r.as_of")
    cursor.execute(
        "WITH counted AS ("
        "  SELECT f.line, f.sku, f.location, f.variant_id, f.location_id, f.quantity, f.as_of, "
        "         s.id AS stock_id, s.on_hand AS before, s.needs_count, "
        "         greatest(s.reserved, 0) AS floor, coalesce(a.after, 0) AS after "
        f"  FROM {FRESH} f JOIN {stock} s "
        "    ON s.variant_id = f.variant_id AND s.location_id = f.location_id "
        "  LEFT JOIN ("
        "    SELECT m.stock_id, sum(m.quantity) AS after "
        f"    FROM {movement} m JOIN {stock} s2 ON s2.id = m.stock_id "
        f"    JOIN {FRESH} f2 ON f2.variant_id = s2.variant_id AND f2.location_id = s2.location_id "
        f"    WHERE m.created_at > (SELECT min(as_of) FROM {FRESH}) AND m.created_at > f2.as_of "
        "      AND NOT (m.reason = %(correction)s AND m.reference LIKE %(prefix_like)s) "
        "    GROUP BY m.stock_id) a ON a.stock_id = s.id), "
        "r AS ("
        "  SELECT counted.*, quantity + after AS target, "
        "         greatest(quantity + after, floor) AS new FROM counted), "
        "updated AS ("
        f"  UPDATE {stock} s SET on_hand = r.new, "
        "    needs_count = r.needs_count OR r.quantity + r.after < r.floor, "
        "    updated_at = %(now)s "
        "  FROM r WHERE s.id = r.stock_id AND (r.new <> r.before OR r.target <> r.new) "
        "  RETURNING s.id), "
        "booked AS ("
        f"  INSERT INTO {movement} (stock_id, reason, quantity, reference, note, user_id, "
        "    created_at) "
        f"  SELECT r.stock_id, %(correction)s, r.new - r.before, {reference}, "
        "    left('count ' || r.quantity || ' ' || %(note)s, 255), NULL, %(now)s "
        "  FROM r WHERE r.new <> r.before ORDER BY r.stock_id "
        "  RETURNING 1), "
        "drifts AS ("
        f"  INSERT INTO {StockDrift._meta.db_table} "
        "    (run_id, sku, location, counted, expected, drift) "
        "  SELECT %(run)s, r.sku, r.location, r.quantity, r.before - r.after, "
        "    r.quantity - (r.before - r.after) "
        "  FROM r WHERE r.quantity <> r.before - r.after ORDER BY r.line "
        "  RETURNING 1) "
        "SELECT line, variant_id, location_id, new - before FROM r WHERE new <> before",
        {
            "correction": MovementReason.COUNT_CORRECTION.value,
            "prefix": SNAPSHOT_REFERENCE_PREFIX,
            "prefix_like": SNAPSHOT_REFERENCE_PREFIX + "%",
            "note": f"feed {channel.code}",
            "now": now,
            "run": run.pk,
        },
    )
    changes = cursor.fetchall()
    # Reservations are untouched, so available moved exactly as on_hand did. Only a location
    # some active channel sells from can change an available-to-sell (inventory's outbox
    # examines exactly those): the others are left out of its statement.
    sold_from = set(
        ChannelLocation.objects.filter(
            location_id__in={loc for _, _, loc, _ in changes},
            location__active=True,
            channel__active=True,
        ).values_list("location_id", flat=True)
    )
    if sold_from:
        record_availability_changes(
            {(v, loc): delta for _, v, loc, delta in changes if loc in sold_from}
        )
    return {line for line, *_ in changes}


def _apply_prices(cursor, *, channel, now) -> set[int]:
    """The last price per variant in the chunk, written where it differs from the channel's
    listing (new listings published, existing ones keep their flag, as the catalog's bulk
    upsert does); returns the lines written."""
    listing = Listing._meta.db_table
    cursor.execute(
        f"CREATE TEMPORARY TABLE {PRICES} ON COMMIT DROP AS "
        "SELECT p.variant_id, p.product_id, p.line, p.price, p.compare_at FROM ("
        "  SELECT DISTINCT ON (variant_id) variant_id, product_id, line, price, compare_at "
        f"  FROM {ROWS} WHERE code IS NULL ORDER BY variant_id, line DESC) p "
        f"LEFT JOIN {listing} l ON l.variant_id = p.variant_id AND l.channel_id = %s "
        "WHERE l.id IS NULL OR l.price <> p.price "
        "   OR l.compare_at_price IS DISTINCT FROM p.compare_at",
        [channel.pk],
    )
    if not cursor.rowcount:
        return set()
    cursor.execute(f"ANALYZE {PRICES}")
    # Existing listings locked in primary-key order (as the catalog's services do), then
    # one upsert in variant order.
    cursor.execute(
        f"SELECT count(*) FROM (SELECT l.id FROM {listing} l JOIN {PRICES} p "
        "ON l.variant_id = p.variant_id AND l.channel_id = %s ORDER BY l.id FOR UPDATE OF l) x",
        [channel.pk],
    )
    cursor.execute(
        f"INSERT INTO {listing} AS l (variant_id, channel_id, published, price, "
        "compare_at_price, currency, updated_at) "
        f"SELECT variant_id, %s, true, price, compare_at, %s, %s FROM {PRICES} "
        "ORDER BY variant_id "
        "ON CONFLICT (variant_id, channel_id) DO UPDATE SET price = excluded.price, "
        "compare_at_price = excluded.compare_at_price, currency = excluded.currency, "
        "updated_at = excluded.updated_at",
        [channel.pk, channel.currency, now],
    )
    cursor.execute(f"SELECT line, product_id FROM {PRICES}")
    written = cursor.fetchall()
    channel_products_refresh(product_ids={product_id for _, product_id in written})
    return {line for line, _ in written}
