"""Stock count snapshots "as of time t" from outside systems (store systems, ERPs, 3PLs).

A count taken at `t` knows nothing of what Omni booked after `t`: sales in flight, receipts,
returns. So the new `on_hand` is the count plus the movements booked after `t`, and the
difference to the current `on_hand` is booked as one count correction. Reservations are not
touched: they are part of `on_hand` both in the count and in Omni, so nothing is counted twice.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from inventory.models import MovementReason, Stock, StockMovement
from inventory.services.outbox import record_availability_changes

# Corrections booked by snapshots carry this reference prefix. A later snapshot supersedes
# them (its count already reflects whatever they corrected), so they are left out of the
# "movements after t" a later snapshot adds back.
SNAPSHOT_REFERENCE_PREFIX = "snapshot@"


@dataclass(frozen=True)
class SnapshotCount:
    variant_id: int
    location_id: int
    quantity: int
    as_of: datetime


@dataclass(frozen=True)
class SnapshotResult:
    variant_id: int
    location_id: int
    counted: int
    # What Omni believed was on hand at `as_of` (current on_hand less movements since then).
    expected: int
    on_hand_before: int
    on_hand_after: int

    @property
    def drift(self) -> int:
        return self.counted - self.expected

    @property
    def changed(self) -> bool:
        return self.on_hand_after != self.on_hand_before


def snapshot_reference(as_of: datetime) -> str:
    return f"{SNAPSHOT_REFERENCE_PREFIX}{as_of.astimezone(UTC).isoformat()}"


CHUNK = 2000


@dataclass
class _Row:
    pk: int
    on_hand: int
    reserved: int
    needs_count: bool


def _execute_values(sql: str, template: str, rows: Sequence[tuple]) -> None:
    """Run `sql` (holding one `{values}` slot) over `rows` in chunks, as a VALUES list: one
    statement per CHUNK rows, no model instances (Django's bulk_update builds a CASE per
    row and bulk_create an object per row, both far slower for thousands of rows)."""
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        params = [value for row in chunk for value in row]
        with connection.cursor() as cursor:
            cursor.execute(sql.format(values=", ".join([template] * len(chunk))), params)


def _lock_stocks(pairs: set[tuple[int, int]]) -> dict[tuple[int, int], _Row]:
    """Create the missing stock rows, then lock all of them in primary-key order."""
    variant_ids = {v for v, _ in pairs}
    location_ids = {loc for _, loc in pairs}
    scope = Stock.objects.filter(variant_id__in=variant_ids, location_id__in=location_ids)
    missing = pairs - set(scope.values_list("variant_id", "location_id"))
    if missing:
        # A concurrent creator of the same row wins the race harmlessly.
        _execute_values(
            f"INSERT INTO {Stock._meta.db_table} (variant_id, location_id, on_hand, reserved, "
            "incoming, reorder_point, needs_count, updated_at) VALUES {values} "
            "ON CONFLICT (variant_id, location_id) DO NOTHING",
            "(%s, %s, 0, 0, 0, 0, %s, %s)",
            [(v, loc, False, timezone.now()) for v, loc in sorted(missing)],
        )
    locked = (
        scope.order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", "variant_id", "location_id", "on_hand", "reserved", "needs_count")
    )
    rows = {
        (variant_id, location_id): _Row(pk, on_hand, reserved, needs_count)
        for pk, variant_id, location_id, on_hand, reserved, needs_count in locked
    }
    return {pair: rows[pair] for pair in pairs}


@transaction.atomic
def stock_snapshots_apply(
    *, counts: Sequence[SnapshotCount], reference: str = "", user=None
) -> list[SnapshotResult]:
    """Set `on_hand` of each counted (variant, location) to count + movements booked after the
    count's `as_of`, booking the difference as one COUNT_CORRECTION movement per row (its
    reference is `snapshot@<as_of>`; the caller's `reference` goes in the note).

    Invariants: the ledger still sums to `on_hand`; `on_hand` never goes below 0 nor below
    `reserved` (when the count says less, the row is set to the floor and flagged
    `needs_count`, and the drift is still reported in full). One count per (variant,
    location) per call. Locks: the stock rows, in primary-key order (missing rows are created
    first). A fixed number of queries per CHUNK (2,000) counts. Marks the changed rows in
    inventory's availability outbox (the drain publishes the channels' new values). Nests in
    the caller's transaction, so a caller can keep its own bookkeeping atomic with the counts.
    """
    if not counts:
        return []
    pairs = {(c.variant_id, c.location_id) for c in counts}
    if len(pairs) != len(counts):
        raise ValueError("one count per (variant, location) per call")
    stocks = _lock_stocks(pairs)
    earliest = min(c.as_of for c in counts)
    since: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    movements_after = (
        StockMovement.objects.filter(
            stock_id__in=[s.pk for s in stocks.values()], created_at__gt=earliest
        )
        .exclude(
            Q(reason=MovementReason.COUNT_CORRECTION)
            & Q(reference__startswith=SNAPSHOT_REFERENCE_PREFIX)
        )
        .values_list("stock_id", "created_at", "quantity")
    )
    for stock_id, created_at, quantity in movements_after:
        since[stock_id].append((created_at, quantity))

    now = timezone.now()
    results: list[SnapshotResult] = []
    changed: list[tuple] = []
    movements: list[tuple] = []
    user_id = getattr(user, "pk", None)
    for count in counts:
        stock = stocks[(count.variant_id, count.location_id)]
        after = sum(q for at, q in since.get(stock.pk, ()) if at > count.as_of)
        before = stock.on_hand
        target = count.quantity + after
        floor = max(0, stock.reserved)
        new = max(target, floor)
        results.append(
            SnapshotResult(
                variant_id=count.variant_id,
                location_id=count.location_id,
                counted=count.quantity,
                expected=before - after,
                on_hand_before=before,
                on_hand_after=new,
            )
        )
        if new == before and target == new:
            continue
        changed.append((stock.pk, new, stock.needs_count or target < floor, now))
        if new != before:
            movements.append(
                (
                    stock.pk,
                    MovementReason.COUNT_CORRECTION.value,
                    new - before,
                    snapshot_reference(count.as_of),
                    f"count {count.quantity} {reference}".strip()[:255],
                    user_id,
                    now,
                )
            )

    if changed:
        # The rows are locked: writing the computed values back cannot lose a change.
        table = Stock._meta.db_table
        _execute_values(
            "WITH v(id, on_hand, needs_count, updated_at) AS (VALUES {values}) "
            f"UPDATE {table} SET on_hand = v.on_hand, needs_count = v.needs_count, "
            f"updated_at = v.updated_at FROM v WHERE {table}.id = v.id",
            "(%s, %s, %s, %s)",
            changed,
        )
    if movements:
        _execute_values(
            f"INSERT INTO {StockMovement._meta.db_table} (stock_id, reason, quantity, "
            "reference, note, user_id, created_at) VALUES {values}",
            "(%s, %s, %s, %s, %s, %s, %s)",
            movements,
        )
        # Reservations are untouched, so available moves exactly as on_hand did.
        record_availability_changes(
            {
                (r.variant_id, r.location_id): r.on_hand_after - r.on_hand_before
                for r in results
                if r.changed
            }
        )
    return results
