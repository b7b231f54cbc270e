"""Cycle counts: counted quantities replace `on_hand`, the difference booked as a correction."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from inventory import sql
from inventory.errors import CountBelowReserved, InvalidQuantity
from inventory.models import MovementReason, Stock, StockCount, StockCountLine
from inventory.services.base import (
    locations_by_id,
    lock_rows,
    make_movement,
    update_counters,
    variants_by_id,
)
from inventory.services.outbox import record_availability_changes


@dataclass(frozen=True)
class CountLine:
    variant_id: int
    counted: int


def stock_count_record(
    *,
    location_id: int,
    lines: Sequence[CountLine],
    reference: str = "",
    note: str = "",
    user=None,
) -> StockCount:
    """Book a cycle count at one location: each counted variant's `on_hand` becomes the counted
    quantity, the difference is one COUNT_CORRECTION movement, and `needs_count` is cleared. A
    count below the units reserved there is refused (move or release those reservations first);
    nothing is applied then. Locks the stock rows (created if missing) in pk order."""
    if not lines:
        raise InvalidQuantity("At least one counted line is needed.", field="lines")
    seen = set()
    for index, line in enumerate(lines):
        counted = line.counted
        if isinstance(counted, bool) or not isinstance(counted, int) or counted < 0:
            raise InvalidQuantity(
                "A counted quantity is a whole number >= 0.", field=f"lines.{index}.counted"
            )
        if line.variant_id in seen:
            raise InvalidQuantity(
                "Each variant is counted once.", field=f"lines.{index}.sku", code="duplicate_line"
            )
        seen.add(line.variant_id)
    with transaction.atomic():
        variants_by_id(seen)
        locations_by_id([location_id], active=False)
        rows = lock_rows(((line.variant_id, location_id) for line in lines), create=True)
        count = StockCount.objects.create(
            location_id=location_id,
            reference=reference[:120],
            note=note[:255],
            created_by=user if getattr(user, "pk", None) else None,
        )
        deltas: dict[int, int] = {}
        count_lines, movements, availability = [], [], {}
        reference = reference or f"COUNT-{count.pk}"
        for line in lines:
            stock = rows[(line.variant_id, location_id)]
            if line.counted < stock.reserved:
                raise CountBelowReserved(
                    f"{stock.sku}: counted {line.counted} but {stock.reserved} are "
                    "reserved here; move or release those reservations first.",
                    sku=stock.sku,
                    counted=line.counted,
                    reserved=stock.reserved,
                )
            delta = line.counted - stock.on_hand
            count_lines.append(
                StockCountLine(
                    count=count,
                    variant_id=line.variant_id,
                    expected=stock.on_hand,
                    counted=line.counted,
                )
            )
            if delta:
                deltas[stock.pk] = delta
                availability[(line.variant_id, location_id)] = delta
                movements.append(
                    make_movement(stock, MovementReason.COUNT_CORRECTION, delta, reference, user)
                )
        update_counters(on_hand=deltas)
        Stock.objects.filter(pk__in=[s.pk for s in rows.values()], needs_count=True).update(
            needs_count=False
        )
        StockCountLine.objects.bulk_create(count_lines)
        sql.insert_movements(movements)
        record_availability_changes(availability)
        return count
