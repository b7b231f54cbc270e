"""Receipts, adjustments, write-offs, POS sales after the fact and returns."""

from collections.abc import Sequence

from django.db import transaction

from inventory import sql
from inventory.errors import (
    InvalidQuantity,
)
from inventory.models import (
    MovementReason,
    Stock,
    StockMovement,
)
from inventory.services.base import (
    StockChange,
    StockLine,
    apply_stock_changes,
    locations_by_id,
    lock_rows,
    make_movement,
    require_positive,
    update_counters,
    validate_lines,
    variants_by_id,
)
from inventory.services.outbox import record_availability_changes

# --- receipts, adjustments, write-offs ------------------------------------------------------


def stock_receive(
    *,
    location_id: int,
    lines: Sequence[StockLine],
    reference: str,
    user=None,
    note: str = "",
) -> list[StockMovement]:
    """Goods arrive at a location: `on_hand` rises by each line's quantity, one RECEIPT movement
    per line. Locks the stock rows (created if missing) in pk order."""
    with transaction.atomic():
        validate_lines(lines)
        locations_by_id([location_id])
        return apply_stock_changes(
            [
                StockChange(
                    line.variant_id,
                    location_id,
                    on_hand=line.quantity,
                    reason=MovementReason.RECEIPT,
                    note=note,
                )
                for line in lines
            ],
            reference=reference,
            user=user,
        )


def stock_adjust(
    *, variant_id: int, location_id: int, quantity: int, note: str, reference: str = "", user=None
) -> StockMovement:
    """Correct `on_hand` by a signed, non-zero `quantity` with a stated reason (`note`). A
    decrease is refused beyond the available units (reserved units stay backed)."""
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
        raise InvalidQuantity("An adjustment is a non-zero whole number.")
    if not note.strip():
        raise InvalidQuantity("An adjustment needs a reason.", field="note", code="reason_required")
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        (movement,) = apply_stock_changes(
            [
                StockChange(
                    variant_id,
                    location_id,
                    on_hand=quantity,
                    reason=MovementReason.ADJUSTMENT,
                    note=note,
                )
            ],
            reference=reference,
            user=user,
        )
        return movement


def stock_write_off(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    note: str = "",
    reference: str = "",
    user=None,
) -> StockMovement:
    """Remove damaged units: `on_hand` drops by `quantity` (at most the available units), one
    DAMAGE movement."""
    require_positive(quantity)
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        (movement,) = apply_stock_changes(
            [
                StockChange(
                    variant_id,
                    location_id,
                    on_hand=-quantity,
                    reason=MovementReason.DAMAGE,
                    note=note,
                )
            ],
            reference=reference,
            user=user,
        )
        return movement


# --- sales after the fact and returns ---------------------------------------------------------


def stock_record_sale(
    *, variant_id: int, location_id: int, quantity: int, reference: str, user=None
) -> list[StockMovement]:
    """Book a sale that already happened (POS). Never refused: it takes what is available there;
    a shortfall means the books were wrong, so it is booked first as a positive DISCREPANCY
    movement, the SALE then removes the full quantity, and the row is flagged `needs_count`.
    `on_hand` never goes negative, reserved units stay backed and the ledger still sums to
    `on_hand`. Locks the stock row."""
    require_positive(quantity)
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        stock = lock_rows([(variant_id, location_id)], create=True)[(variant_id, location_id)]
        taken = min(quantity, max(0, stock.available))
        shortfall = quantity - taken
        movements = []
        if shortfall:
            movements.append(
                make_movement(
                    stock,
                    MovementReason.DISCREPANCY,
                    shortfall,
                    reference,
                    user,
                    note=f"sold {quantity} with {taken} available",
                )
            )
        movements.append(make_movement(stock, MovementReason.SALE, -quantity, reference, user))
        if taken:
            update_counters(on_hand={stock.pk: -taken})
        if shortfall:
            Stock.objects.filter(pk=stock.pk).update(needs_count=True)
        sql.insert_movements(movements)
        record_availability_changes({(variant_id, location_id): -taken})
        return movements


def stock_return(
    *,
    variant_id: int,
    location_id: int,
    quantity: int,
    reference: str,
    restock: bool,
    user=None,
) -> list[StockMovement]:
    """Goods come back at a location. Restocked: `on_hand` rises, one RETURN movement. Not
    restocked (damaged): a RETURN and a DAMAGE movement of the same size, so the ledger shows the
    write-off and `on_hand` does not change. Locks the stock row."""
    require_positive(quantity)
    with transaction.atomic():
        variants_by_id([variant_id])
        locations_by_id([location_id], active=False)
        changes = [
            StockChange(variant_id, location_id, on_hand=quantity, reason=MovementReason.RETURN)
        ]
        if not restock:
            changes.append(
                StockChange(
                    variant_id,
                    location_id,
                    on_hand=-quantity,
                    reason=MovementReason.DAMAGE,
                    note="returned damaged",
                )
            )
        return apply_stock_changes(changes, reference=reference, user=user)


def stock_flag_for_count(*, stock_ids: Sequence[int]) -> int:
    """Ask for a cycle count of these stock rows (the next count at the location clears it)."""
    return Stock.objects.filter(pk__in=list(stock_ids), needs_count=False).update(needs_count=True)
