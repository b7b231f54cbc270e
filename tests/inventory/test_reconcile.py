"""A seeded random walk over every stock operation ends with zero drift; drift is reported."""

import random

import pytest
from django.core.management import CommandError, call_command

from inventory.errors import InsufficientStock, InvalidQuantity, InvalidTransferState
from inventory.models import Reservation, Stock, Transfer, TransferStatus
from inventory.services import (
    CountLine,
    StockLine,
    StockRequest,
    reservation_commit,
    reservation_move,
    reservation_release,
    stock_adjust,
    stock_count_record,
    stock_receive,
    stock_record_sale,
    stock_reserve,
    stock_return,
    stock_write_off,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import ChannelLocationFactory, StockLocationFactory
from tests.omni.factories import ChannelFactory

# Refusals a random step may legitimately meet; anything else fails the test.
EXPECTED = (InsufficientStock, InvalidQuantity, InvalidTransferState)


def _walk(seed: int, steps: int) -> dict[str, int]:
    rng = random.Random(seed)
    channel = ChannelFactory(code=f"walk-{seed}", safety_stock=rng.randint(0, 2))
    locations = [StockLocationFactory(code=f"walk-{seed}-{i}") for i in range(3)]
    for priority, location in enumerate(locations):
        ChannelLocationFactory(channel=channel, location=location, priority=priority)
    variants = [VariantFactory(sku=f"W{seed}-{i}") for i in range(4)]

    def pick():
        return rng.choice(variants).pk, rng.choice(locations).pk

    def receipt():
        v, loc = pick()
        stock_receive(location_id=loc, lines=[StockLine(v, rng.randint(1, 8))], reference="PO")

    def reserve():
        v, loc = pick()
        stock_reserve(
            channel=channel, requests=[StockRequest(v, loc, rng.randint(1, 4))], reference="ORD"
        )

    def commit():
        reservation = Reservation.objects.order_by("?").first()
        if reservation:
            quantity = rng.randint(1, reservation.quantity)
            reservation_commit(reservation=reservation, quantity=quantity, reference="SHIP")

    def release():
        reservation = Reservation.objects.order_by("?").first()
        if reservation:
            reservation_release(reservations=[reservation])

    def move():
        reservation = Reservation.objects.order_by("?").first()
        if reservation:
            target = rng.choice(locations).pk
            if target != reservation.stock.location_id:
                reservation_move(reservation=reservation, location_id=target)

    def pos_sale():
        v, loc = pick()
        stock_record_sale(variant_id=v, location_id=loc, quantity=rng.randint(1, 5), reference="P")

    def give_back():
        v, loc = pick()
        stock_return(
            variant_id=v,
            location_id=loc,
            quantity=rng.randint(1, 3),
            reference="RMA",
            restock=rng.random() < 0.7,
        )

    def adjust():
        v, loc = pick()
        quantity = rng.choice([-3, -2, -1, 1, 2, 3])
        stock_adjust(variant_id=v, location_id=loc, quantity=quantity, note="walk")

    def damage():
        v, loc = pick()
        stock_write_off(variant_id=v, location_id=loc, quantity=rng.randint(1, 2))

    def transfer():
        source, destination = rng.sample(locations, 2)
        shipped = transfer_create(
            source_id=source.pk,
            destination_id=destination.pk,
            lines=[StockLine(rng.choice(variants).pk, rng.randint(1, 4))],
        )
        transfer_ship(transfer=shipped)

    def arrive():
        open_transfer = (
            Transfer.objects.filter(
                status__in=[TransferStatus.IN_TRANSIT, TransferStatus.PARTIALLY_RECEIVED]
            )
            .order_by("?")
            .first()
        )
        if open_transfer is None:
            return
        line = open_transfer.lines.first()
        roll = rng.random()
        if roll < 0.15:
            transfer_close(transfer=open_transfer)
        elif roll < 0.6:
            transfer_receive(transfer=open_transfer)
        else:
            part = rng.randint(1, line.outstanding)
            transfer_receive(transfer=open_transfer, lines=[StockLine(line.variant_id, part)])

    def count():
        loc = rng.choice(locations).pk
        chosen = rng.sample(variants, 2)
        lines = []
        for variant in chosen:
            stock = Stock.objects.filter(variant=variant, location_id=loc).first()
            base = stock.reserved if stock else 0
            lines.append(CountLine(variant.pk, base + rng.randint(0, 6)))
        stock_count_record(location_id=loc, lines=lines)

    operations = [
        receipt, receipt, reserve, reserve, commit, release, move, pos_sale,
        give_back, adjust, damage, transfer, arrive, count,
    ]  # fmt: skip
    outcomes = {"applied": 0, "refused": 0}
    for _ in range(steps):
        try:
            rng.choice(operations)()
            outcomes["applied"] += 1
        except EXPECTED:
            outcomes["refused"] += 1
    return outcomes


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [7, 2026, 99991])
def test_random_walk_ends_with_zero_drift(seed, capsys):
    outcomes = _walk(seed, steps=160)
    assert outcomes["applied"] > 100
    call_command("inventory_reconcile")
    assert "zero drift" in capsys.readouterr().out
    assert Stock.objects.filter(on_hand__lt=0).count() == 0


@pytest.mark.django_db
def test_reconcile_reports_drift_and_fails(variant, store, receive, capsys):
    receive(variant, store, 5)
    # A write that bypassed the services: the ledger no longer explains on_hand.
    Stock.objects.filter(variant=variant).update(on_hand=7, incoming=2)
    with pytest.raises(CommandError, match="1 of 1 stock rows drift"):
        call_command("inventory_reconcile")
    out = capsys.readouterr().out
    assert "DRIFT on_hand TEE-M@store-a" in out
    assert "on_hand 7, ledger 5, drift +2" in out
    assert "DRIFT incoming TEE-M@store-a" in out
