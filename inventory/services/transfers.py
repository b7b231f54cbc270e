"""Transfers between locations: created, shipped (units leave the source and are in transit as
the destination's `incoming`), received in one or several parts, or closed short."""

from collections import defaultdict
from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from inventory import locks
from inventory.errors import InvalidQuantity, InvalidTransferState, SameLocation
from inventory.models import MovementReason, Transfer, TransferLine, TransferStatus
from inventory.services.base import (
    StockChange,
    StockLine,
    apply_stock_changes,
    locations_by_id,
    validate_lines,
)

RECEIVABLE = (TransferStatus.IN_TRANSIT, TransferStatus.PARTIALLY_RECEIVED)


def _reference(transfer: Transfer) -> str:
    return transfer.reference or f"TR-{transfer.pk}"


def _locked(transfer: Transfer, allowed: Sequence[str], action: str) -> Transfer:
    locked = locks.transfer_for_update(transfer_id=transfer.pk)
    if locked is None or locked.status not in allowed:
        status = locked.status if locked else "missing"
        raise InvalidTransferState(f"Cannot {action} a transfer that is {status}.")
    return locked


def transfer_create(
    *,
    source_id: int,
    destination_id: int,
    lines: Sequence[StockLine],
    reference: str = "",
    note: str = "",
    user=None,
) -> Transfer:
    """A draft transfer; nothing moves until it is shipped. Lines of the same variant merge."""
    if source_id == destination_id:
        raise SameLocation()
    validate_lines(lines)
    with transaction.atomic():
        locations_by_id([source_id, destination_id])
        merged: dict[int, int] = defaultdict(int)
        for line in lines:
            merged[line.variant_id] += line.quantity
        transfer = Transfer.objects.create(
            source_id=source_id,
            destination_id=destination_id,
            reference=reference[:120],
            note=note[:255],
            created_by=user if getattr(user, "pk", None) else None,
        )
        TransferLine.objects.bulk_create(
            [TransferLine(transfer=transfer, variant_id=v, quantity=q) for v, q in merged.items()]
        )
        return transfer


def transfer_ship(*, transfer: Transfer, user=None) -> Transfer:
    """The goods leave the source: its `on_hand` drops (TRANSFER_OUT, refused beyond what is
    available there) and the destination's `incoming` rises. Locks the transfer, then the stock
    rows in pk order."""
    with transaction.atomic():
        locked = _locked(transfer, [TransferStatus.DRAFT], "ship")
        lines = list(locked.lines.all())
        changes = []
        for line in lines:
            changes.append(
                StockChange(
                    line.variant_id,
                    locked.source_id,
                    on_hand=-line.quantity,
                    reason=MovementReason.TRANSFER_OUT,
                )
            )
            changes.append(
                StockChange(line.variant_id, locked.destination_id, incoming=line.quantity)
            )
        apply_stock_changes(changes, reference=_reference(locked), user=user)
        locked.status = TransferStatus.IN_TRANSIT
        locked.shipped_at = timezone.now()
        locked.save(update_fields=["status", "shipped_at"])
        return locked


def transfer_receive(
    *, transfer: Transfer, lines: Sequence[StockLine] | None = None, user=None
) -> Transfer:
    """Units arrive at the destination: `on_hand` rises (TRANSFER_IN) and `incoming` drops.
    `lines` may receive part of what is outstanding; without lines everything outstanding is
    received. The transfer is received once nothing is outstanding."""
    with transaction.atomic():
        locked = _locked(transfer, RECEIVABLE, "receive")
        by_variant = {line.variant_id: line for line in locked.lines.all()}
        if lines is None:
            wanted = {v: line.outstanding for v, line in by_variant.items() if line.outstanding}
        else:
            validate_lines(lines)
            wanted = defaultdict(int)
            for line in lines:
                wanted[line.variant_id] += line.quantity
        for index, (variant_id, quantity) in enumerate(wanted.items()):
            line = by_variant.get(variant_id)
            if line is None:
                raise InvalidQuantity(
                    "That variant is not on this transfer.",
                    field=f"lines.{index}.sku",
                    code="not_on_transfer",
                )
            if quantity > line.outstanding:
                raise InvalidQuantity(
                    f"Only {line.outstanding} outstanding for this line.",
                    field=f"lines.{index}.quantity",
                    code="exceeds_outstanding",
                )
        apply_stock_changes(
            [
                StockChange(
                    v,
                    locked.destination_id,
                    on_hand=q,
                    incoming=-q,
                    reason=MovementReason.TRANSFER_IN,
                )
                for v, q in wanted.items()
            ],
            reference=_reference(locked),
            user=user,
        )
        for variant_id, quantity in wanted.items():
            by_variant[variant_id].quantity_received += quantity
        TransferLine.objects.bulk_update(
            [by_variant[v] for v in wanted], ["quantity_received"], batch_size=1000
        )
        done = all(line.outstanding == 0 for line in by_variant.values())
        locked.status = TransferStatus.RECEIVED if done else TransferStatus.PARTIALLY_RECEIVED
        if done:
            locked.received_at = timezone.now()
        locked.save(update_fields=["status", "received_at"])
        return locked


def transfer_close(*, transfer: Transfer, user=None) -> Transfer:
    """Close a transfer short: what is still outstanding is lost in transit, so the
    destination's `incoming` drops (the source booked the TRANSFER_OUT when it shipped)."""
    with transaction.atomic():
        locked = _locked(transfer, RECEIVABLE, "close")
        changes = [
            StockChange(line.variant_id, locked.destination_id, incoming=-line.outstanding)
            for line in locked.lines.all()
            if line.outstanding
        ]
        apply_stock_changes(changes, reference=_reference(locked), user=user)
        locked.status = TransferStatus.CLOSED
        locked.received_at = timezone.now()
        locked.save(update_fields=["status", "received_at"])
        return locked


def transfer_cancel(*, transfer: Transfer, user=None) -> Transfer:
    """Cancel a draft; nothing had moved."""
    with transaction.atomic():
        locked = _locked(transfer, [TransferStatus.DRAFT], "cancel")
        locked.status = TransferStatus.CANCELLED
        locked.save(update_fields=["status"])
        return locked
