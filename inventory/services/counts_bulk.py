"""Stock count snapshots applied set-based (PostgreSQL): the rule of `inventory.snapshots`
(`on_hand` := count + movements booked after the count's time, the difference booked as a
count correction, never below `reserved`) run as a few statements over a table of counts,
for feeds of hundreds of thousands of rows. Same semantics, same ledger, same outbox."""

from django.db import connection, transaction
from django.utils import timezone

from inventory.models import (
    AvailabilityChange,
    ChannelLocation,
    MovementReason,
    Stock,
    StockLocation,
    StockMovement,
)
from inventory.services.outbox import _rule_sql, schedule_drain
from inventory.snapshots import SNAPSHOT_REFERENCE_PREFIX
from omni.models import Channel

# Filled by `stock_apply_counts_bulk`, read by its caller in the same transaction.
COUNT_RESULTS_TABLE = "inventory_count_results"


def _snapshot_reference_sql(column: str) -> str:
    """`inventory.snapshots.snapshot_reference` in SQL: the prefix and the as-of time in UTC
    as Python's isoformat() writes it (microseconds only when there are any)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"(%s || CASE WHEN EXTRACT(MICROSECONDS FROM {utc})::bigint %% 1000000 = 0 "
        f"THEN to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') "
        f"ELSE to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') END || '+00:00')"
    )


def stock_apply_counts_bulk(*, counts_table: str, reference: str = "") -> tuple[str, int]:
    """Apply the stock counts in the (temporary) table `counts_table`, which has the columns
    `variant_id`, `location_id`, `quantity` (>= 0) and `as_of` (timestamptz), at most one row
    per (variant, location). PostgreSQL only.

    For each count: `on_hand` := count + movements booked after `as_of` (earlier snapshot
    corrections left out, as `stock_snapshots_apply`); the difference is booked as one
    COUNT_CORRECTION movement (reference `snapshot@<as_of>`, note `count <n> <reference>`);
    a count below `reserved` sets the row to the floor (`max(0, reserved)`) and flags
    `needs_count`; available-to-sell changes go to the outbox once per (variant, channel).

    Locks: missing stock rows are created (in (variant, location) order), then all counted
    rows are locked in primary-key order. A fixed number of statements whatever the number
    of counts. Nests in the caller's transaction. Returns (`COUNT_RESULTS_TABLE`, rows
    changed): the results table (temporary, emptied by each call) holds per count
    `variant_id, location_id, stock_id, counted, expected, on_hand_before, on_hand_after`.
    """
    stock = Stock._meta.db_table
    movement = StockMovement._meta.db_table
    results = COUNT_RESULTS_TABLE
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {results} ("
            "variant_id bigint, location_id bigint, stock_id bigint, counted integer, "
            "as_of timestamptz, expected integer, on_hand_before integer, "
            "on_hand_after integer, flag boolean, needs_count boolean) ON COMMIT DELETE ROWS"
        )
        cursor.execute(f"TRUNCATE {results}")
        # A concurrent creator of the same row wins the race harmlessly.
        cursor.execute(
            f"INSERT INTO {stock} (variant_id, location_id, on_hand, reserved, incoming, "
            "reorder_point, needs_count, updated_at) "
            f"SELECT c.variant_id, c.location_id, 0, 0, 0, 0, false, %s FROM {counts_table} c "
            f"WHERE NOT EXISTS (SELECT 1 FROM {stock} s "
            "  WHERE s.variant_id = c.variant_id AND s.location_id = c.location_id) "
            "ORDER BY c.variant_id, c.location_id "
            "ON CONFLICT (variant_id, location_id) DO NOTHING",
            [now],
        )
        cursor.execute(
            "SELECT count(*) FROM ("
            f"  SELECT s.id FROM {stock} s JOIN {counts_table} c "
            "    ON s.variant_id = c.variant_id AND s.location_id = c.location_id "
            "  ORDER BY s.id FOR UPDATE OF s) locked"
        )
        # target = count + movements after t; floor = max(0, reserved); new = max(target, floor)
        # Set-based (a per-count lateral lookup lets the planner walk the created_at index
        # once per count): movements after t summed per counted stock row in one join.
        cursor.execute(
            "WITH cs AS MATERIALIZED ("
            "  SELECT c.variant_id, c.location_id, s.id AS stock_id, c.quantity, c.as_of, "
            "    s.on_hand, GREATEST(0, s.reserved) AS floor_, s.needs_count "
            f"  FROM {counts_table} c JOIN {stock} s "
            "    ON s.variant_id = c.variant_id AND s.location_id = c.location_id), "
            "later AS ("
            "  SELECT cs.stock_id, SUM(m.quantity)::integer AS after_t "
            f"  FROM cs JOIN {movement} m ON m.stock_id = cs.stock_id "
            "  WHERE m.created_at > cs.as_of "
            "    AND NOT (m.reason = %s AND COALESCE(m.reference, '') LIKE %s) "
            "  GROUP BY cs.stock_id) "
            f"INSERT INTO {results} SELECT variant_id, location_id, stock_id, quantity, as_of, "
            "  on_hand - after_t, on_hand, GREATEST(quantity + after_t, floor_), "
            "  quantity + after_t < floor_, needs_count "
            "FROM (SELECT cs.*, COALESCE(later.after_t, 0) AS after_t "
            "      FROM cs LEFT JOIN later ON later.stock_id = cs.stock_id) computed",
            [MovementReason.COUNT_CORRECTION.value, SNAPSHOT_REFERENCE_PREFIX + "%"],
        )
        # The rows are locked: writing the computed values back cannot lose a change.
        cursor.execute(
            f"UPDATE {stock} s SET on_hand = r.on_hand_after, "
            "  needs_count = s.needs_count OR r.flag, updated_at = %s "
            f"FROM {results} r WHERE s.id = r.stock_id "
            "  AND (r.on_hand_after <> r.on_hand_before OR r.flag)",
            [now],
        )
        changed = cursor.rowcount
        note = f" {reference}".rstrip()
        cursor.execute(
            f"INSERT INTO {movement} (stock_id, reason, quantity, reference, note, user_id, "
            "created_at) "
            "SELECT stock_id, %s, on_hand_after - on_hand_before, "
            f"  {_snapshot_reference_sql('as_of')}, "
            "  left('count ' || counted || %s, 255), NULL, %s "
            f"FROM {results} WHERE on_hand_after <> on_hand_before ORDER BY stock_id",
            [MovementReason.COUNT_CORRECTION.value, SNAPSHOT_REFERENCE_PREFIX, note, now],
        )
        if cursor.rowcount:
            _record_availability_changes_bulk(cursor, results)
    return results, changed


def _record_availability_changes_bulk(cursor, results: str) -> int:
    """The outbox rows of `record_availability_changes`, with the deltas read from the
    results table: one row per (variant, channel) whose available-to-sell changed, for every
    active channel selling from a touched active location. Reservations were not touched, so
    available moved exactly as `on_hand` did."""
    cl = ChannelLocation._meta.db_table
    after = _rule_sql("SUM(s.on_hand - s.reserved)")
    before = _rule_sql("SUM(s.on_hand - s.reserved - COALESCE(d.delta, 0))")
    cursor.execute(
        f"""
        WITH d AS (
            SELECT variant_id, location_id, on_hand_after - on_hand_before AS delta
            FROM {results} WHERE on_hand_after <> on_hand_before
        )
        INSERT INTO {AvailabilityChange._meta.db_table}
            (variant_id, channel_id, available, created_at)
        SELECT variant_id, channel_id, after_ats, %s FROM (
            SELECT s.variant_id AS variant_id, cl.channel_id AS channel_id,
                   {after} AS after_ats, {before} AS before_ats
            FROM {cl} cl
            JOIN {StockLocation._meta.db_table} l ON l.id = cl.location_id
            JOIN {Channel._meta.db_table} c ON c.id = cl.channel_id
            JOIN {Stock._meta.db_table} s ON s.location_id = cl.location_id
            LEFT JOIN d ON d.variant_id = s.variant_id AND d.location_id = s.location_id
            WHERE l.active AND c.active
              AND s.variant_id IN (SELECT variant_id FROM d)
              AND cl.channel_id IN (
                  SELECT cl2.channel_id FROM {cl} cl2
                  WHERE cl2.location_id IN (SELECT location_id FROM d))
            GROUP BY s.variant_id, cl.channel_id,
                     c.availability_share, c.safety_stock, c.availability_cap
        ) changed
        WHERE after_ats <> before_ats
        ORDER BY variant_id, channel_id
        """,
        [timezone.now()],
    )
    written = cursor.rowcount
    if written:
        schedule_drain()
    return written
