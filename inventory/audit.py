"""Audit entries for stock operations (receipts, adjustments, write-offs) booked by staff."""

from inventory.models import Stock
from omni.audit import AuditAction, audit_record


def audit_stock_movements(user, movements, *, source: str) -> None:
    """Audit stock operations as changes of the stock rows' on_hand (after = the row now,
    before = after minus the movement); one read for all rows."""
    if not movements:
        return
    stocks = Stock.objects.select_related("variant", "location").in_bulk(
        [m.stock_id for m in movements]
    )
    for movement in movements:
        stock = stocks[movement.stock_id]
        audit_record(
            user=user,
            instance=stock,
            object_repr=f"{stock.variant.sku} @ {stock.location.code}",
            action=AuditAction.OPERATION,
            operation=str(movement.reason),
            changes={
                "on_hand": [stock.on_hand - movement.quantity, stock.on_hand],
                "reference": [None, movement.reference],
                "note": [None, movement.note],
            },
            source=source,
        )
