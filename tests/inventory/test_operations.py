import pytest

from inventory.errors import (
    CountBelowReserved,
    InsufficientStock,
    InvalidQuantity,
    InvalidTransferState,
    LocationUnavailable,
    SameLocation,
    UnknownLocation,
)
from inventory.models import (
    LowStockAlert,
    MovementReason,
    Stock,
    StockMovement,
    TransferStatus,
)
from inventory.selectors import incoming_drift, ledger_drift
from inventory.services import (
    CountLine,
    StockLine,
    StockRequest,
    low_stock_scan,
    stock_adjust,
    stock_count_record,
    stock_receive,
    stock_reserve,
    stock_write_off,
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from tests.catalog.factories import VariantFactory


def stock_of(variant, location) -> Stock:
    return Stock.objects.get(variant=variant, location=location)


def test_receive_rejects_bad_input(variant, warehouse):
    with pytest.raises(InvalidQuantity) as exc:
        stock_receive(location_id=warehouse.pk, lines=[StockLine(variant.pk, 0)], reference="PO")
    assert exc.value.as_dict()["errors"][0]["field"] == "lines.0.quantity"
    with pytest.raises(UnknownLocation):
        stock_receive(location_id=987654, lines=[StockLine(variant.pk, 1)], reference="PO")
    with pytest.raises(InvalidQuantity):
        stock_receive(location_id=warehouse.pk, lines=[], reference="PO")
    assert not Stock.objects.exists()


def test_receive_is_all_or_nothing_across_lines(variant, warehouse):
    with pytest.raises(InvalidQuantity):
        stock_receive(
            location_id=warehouse.pk,
            lines=[StockLine(variant.pk, 3), StockLine(variant.pk, -1)],
            reference="PO",
        )
    assert not StockMovement.objects.exists()


def test_receive_refuses_inactive_location(variant, warehouse):
    warehouse.active = False
    warehouse.save(update_fields=["active"])
    with pytest.raises(LocationUnavailable):
        stock_receive(location_id=warehouse.pk, lines=[StockLine(variant.pk, 1)], reference="PO")


def test_adjust_needs_a_reason_and_cannot_take_reserved_units(
    selling_channel, variant, store, receive
):
    receive(variant, store, 5)
    stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 4)], reference="O"
    )
    with pytest.raises(InvalidQuantity) as exc:
        stock_adjust(variant_id=variant.pk, location_id=store.pk, quantity=-1, note=" ")
    assert exc.value.code == "reason_required"
    with pytest.raises(InsufficientStock) as exc:
        stock_adjust(variant_id=variant.pk, location_id=store.pk, quantity=-2, note="shrinkage")
    assert exc.value.shortfalls == [{"sku": "TEE-M", "requested": 2, "available": 1}]
    movement = stock_adjust(
        variant_id=variant.pk, location_id=store.pk, quantity=-1, note="shrinkage"
    )
    assert (movement.reason, movement.quantity, movement.note) == (
        MovementReason.ADJUSTMENT,
        -1,
        "shrinkage",
    )
    assert stock_of(variant, store).on_hand == 4


def test_write_off_books_damage(variant, store, receive):
    receive(variant, store, 3)
    movement = stock_write_off(variant_id=variant.pk, location_id=store.pk, quantity=2, note="wet")
    assert (movement.reason, movement.quantity) == (MovementReason.DAMAGE, -2)
    with pytest.raises(InsufficientStock):
        stock_write_off(variant_id=variant.pk, location_id=store.pk, quantity=2)
    assert stock_of(variant, store).on_hand == 1


def test_transfer_to_the_same_location_is_refused(variant, store):
    with pytest.raises(SameLocation) as exc:
        transfer_create(
            source_id=store.pk, destination_id=store.pk, lines=[StockLine(variant.pk, 1)]
        )
    assert exc.value.code == "same_location"
    assert exc.value.status_code == 400


def test_transfer_ships_then_receives_in_parts(variant, warehouse, store, receive):
    receive(variant, warehouse, 10)
    transfer = transfer_create(
        source_id=warehouse.pk,
        destination_id=store.pk,
        lines=[StockLine(variant.pk, 4), StockLine(variant.pk, 2)],
    )
    assert transfer.lines.get().quantity == 6
    transfer_ship(transfer=transfer)
    assert stock_of(variant, warehouse).on_hand == 4
    assert (stock_of(variant, store).on_hand, stock_of(variant, store).incoming) == (0, 6)
    with pytest.raises(InvalidTransferState):
        transfer_ship(transfer=transfer)
    with pytest.raises(InvalidQuantity) as exc:
        transfer_receive(transfer=transfer, lines=[StockLine(variant.pk, 7)])
    assert exc.value.code == "exceeds_outstanding"
    transfer = transfer_receive(transfer=transfer, lines=[StockLine(variant.pk, 2)])
    assert transfer.status == TransferStatus.PARTIALLY_RECEIVED
    assert (stock_of(variant, store).on_hand, stock_of(variant, store).incoming) == (2, 4)
    assert incoming_drift() == []
    transfer = transfer_receive(transfer=transfer)
    assert transfer.status == TransferStatus.RECEIVED
    assert transfer.received_at is not None
    assert (stock_of(variant, store).on_hand, stock_of(variant, store).incoming) == (6, 0)
    reasons = list(
        StockMovement.objects.filter(reference=f"TR-{transfer.pk}")
        .order_by("id")
        .values_list("reason", "quantity")
    )
    assert reasons == [
        (MovementReason.TRANSFER_OUT, -6),
        (MovementReason.TRANSFER_IN, 2),
        (MovementReason.TRANSFER_IN, 4),
    ]
    assert ledger_drift() == []


def test_transfer_ship_refuses_beyond_available_and_moves_nothing(variant, warehouse, store):
    other = VariantFactory(sku="OTHER")
    stock_receive(
        location_id=warehouse.pk,
        lines=[StockLine(variant.pk, 1), StockLine(other.pk, 5)],
        reference="PO",
    )
    transfer = transfer_create(
        source_id=warehouse.pk,
        destination_id=store.pk,
        lines=[StockLine(other.pk, 5), StockLine(variant.pk, 2)],
    )
    with pytest.raises(InsufficientStock):
        transfer_ship(transfer=transfer)
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.DRAFT
    assert stock_of(other, warehouse).on_hand == 5
    assert not Stock.objects.filter(location=store, incoming__gt=0).exists()


def test_transfer_close_drops_what_never_arrived(variant, warehouse, store, receive):
    receive(variant, warehouse, 5)
    transfer = transfer_create(
        source_id=warehouse.pk, destination_id=store.pk, lines=[StockLine(variant.pk, 5)]
    )
    transfer_ship(transfer=transfer)
    transfer_receive(transfer=transfer, lines=[StockLine(variant.pk, 3)])
    transfer = transfer_close(transfer=transfer)
    assert transfer.status == TransferStatus.CLOSED
    assert (stock_of(variant, store).on_hand, stock_of(variant, store).incoming) == (3, 0)
    assert incoming_drift() == []
    with pytest.raises(InvalidTransferState):
        transfer_cancel(transfer=transfer)


def test_count_books_the_difference_and_clears_the_flag(variant, store, receive):
    other = VariantFactory(sku="COUNTED-NEW")
    receive(variant, store, 10)
    Stock.objects.filter(variant=variant).update(needs_count=True)
    count = stock_count_record(
        location_id=store.pk,
        lines=[CountLine(variant.pk, 7), CountLine(other.pk, 2)],
    )
    assert [(line.expected, line.counted, line.difference) for line in count.lines.all()] == [
        (10, 7, -3),
        (0, 2, 2),
    ]
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.needs_count) == (7, False)
    assert stock_of(other, store).on_hand == 2
    assert StockMovement.objects.filter(reason=MovementReason.COUNT_CORRECTION).count() == 2
    assert ledger_drift() == []


def test_count_below_reserved_is_refused_whole(selling_channel, variant, store, receive):
    other = VariantFactory(sku="OK")
    receive(variant, store, 5)
    receive(other, store, 5)
    stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 3)], reference="O"
    )
    with pytest.raises(CountBelowReserved) as exc:
        stock_count_record(
            location_id=store.pk, lines=[CountLine(other.pk, 1), CountLine(variant.pk, 2)]
        )
    assert exc.value.as_dict()["sku"] == "TEE-M"
    assert stock_of(other, store).on_hand == 5


@pytest.mark.parametrize("counted", [-1, 1.5, None])
def test_count_rejects_bad_quantities(variant, store, counted):
    with pytest.raises(InvalidQuantity):
        stock_count_record(location_id=store.pk, lines=[CountLine(variant.pk, counted)])


def test_low_stock_scan_opens_and_resolves_alerts(variant, warehouse, store, receive):
    receive(variant, warehouse, 3)
    receive(variant, store, 10)
    Stock.objects.filter(variant=variant).update(reorder_point=5)
    assert low_stock_scan() == {"open": 1, "created": 1, "resolved": 0}
    assert low_stock_scan() == {"open": 1, "created": 0, "resolved": 0}
    alert = LowStockAlert.objects.get()
    assert (alert.stock.location, alert.available, alert.reorder_point) == (warehouse, 3, 5)
    receive(variant, warehouse, 4)
    assert low_stock_scan() == {"open": 0, "created": 0, "resolved": 1}
    assert LowStockAlert.objects.get().resolved_at is not None


def test_incoming_transfers_keep_a_row_off_the_low_stock_list(variant, warehouse, store, receive):
    receive(variant, warehouse, 10)
    receive(variant, store, 1)
    Stock.objects.filter(variant=variant, location=store).update(reorder_point=3)
    transfer = transfer_create(
        source_id=warehouse.pk, destination_id=store.pk, lines=[StockLine(variant.pk, 5)]
    )
    transfer_ship(transfer=transfer)
    assert low_stock_scan()["open"] == 0


def test_unknown_transfer_location(variant, store):
    with pytest.raises(UnknownLocation):
        transfer_create(source_id=store.pk, destination_id=424242, lines=[StockLine(variant.pk, 1)])
