"""Concurrent checkouts on PostgreSQL: real threads, each with its own connection."""

import itertools
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import OperationalError, connection

from inventory.errors import InsufficientStock, ReservationNotFound
from inventory.events import register_availability_listener, unregister_availability_listener
from inventory.models import (
    AvailabilityChange,
    AvailabilityMark,
    MovementReason,
    Reservation,
    Stock,
    StockMovement,
)
from inventory.selectors import available_to_sell, ledger_drift
from inventory.services import (
    StockLine,
    StockRequest,
    availability_outbox_drain,
    reservation_commit,
    reservation_release,
    stock_receive,
    stock_reserve,
)
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import ChannelLocationFactory, StockLocationFactory
from tests.omni.factories import ChannelFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(workers: int, job):
    """Start `workers` threads at once on `job(index)`; return each outcome or exception."""
    barrier = threading.Barrier(workers)

    def wrapped(index):
        try:
            barrier.wait()
            return job(index)
        except Exception as exc:
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(wrapped, range(workers)))


def test_fifty_checkouts_on_twenty_units_reserve_exactly_twenty():
    channel = ChannelFactory(code="web")
    location = StockLocationFactory(code="wh")
    ChannelLocationFactory(channel=channel, location=location)
    variant = VariantFactory(sku="HOT")
    stock_receive(location_id=location.pk, lines=[StockLine(variant.pk, 20)], reference="PO")

    def checkout(index):
        return stock_reserve(
            channel=channel,
            requests=[StockRequest(variant.pk, location.pk, 1)],
            reference=f"ORD-{index}",
        )

    outcomes = run_concurrently(50, checkout)
    won = [o for o in outcomes if isinstance(o, list)]
    refused = [o for o in outcomes if isinstance(o, InsufficientStock)]
    assert len(won) == 20
    assert len(refused) == 30
    assert all(r.shortfalls[0]["available"] == 0 for r in refused)
    stock = Stock.objects.get(variant=variant, location=location)
    assert (stock.on_hand, stock.reserved) == (20, 20)
    assert Reservation.objects.count() == 20


def test_buffer_holds_under_concurrency_across_two_locations():
    channel = ChannelFactory(code="market", safety_stock=5)
    first = StockLocationFactory(code="wh-1")
    second = StockLocationFactory(code="wh-2")
    ChannelLocationFactory(channel=channel, location=first, priority=1)
    ChannelLocationFactory(channel=channel, location=second, priority=2)
    variant = VariantFactory(sku="BUF")
    for location in (first, second):
        stock_receive(location_id=location.pk, lines=[StockLine(variant.pk, 10)], reference="PO")

    def checkout(index):
        location = first if index % 2 else second
        return stock_reserve(
            channel=channel,
            requests=[StockRequest(variant.pk, location.pk, 1)],
            reference=f"ORD-{index}",
        )

    outcomes = run_concurrently(24, checkout)
    assert sum(isinstance(o, list) for o in outcomes) == 15
    assert sum(isinstance(o, InsufficientStock) for o in outcomes) == 9
    assert sum(Stock.objects.filter(variant=variant).values_list("reserved", flat=True)) == 15


def test_multi_line_orders_in_random_order_never_deadlock():
    channel = ChannelFactory(code="web")
    stores = [StockLocationFactory(code=f"loc-{i}") for i in range(2)]
    for priority, location in enumerate(stores):
        ChannelLocationFactory(channel=channel, location=location, priority=priority)
    variants = [VariantFactory(sku=f"MULTI-{i}") for i in range(10)]
    for location in stores:
        stock_receive(
            location_id=location.pk,
            lines=[StockLine(v.pk, 100) for v in variants],
            reference="PO",
        )
    rng = random.Random(20261123)
    orders = []
    for _ in range(20):
        lines = [
            StockRequest(v.pk, rng.choice(stores).pk, rng.randint(1, 3))
            for v in rng.sample(variants, len(variants))
        ]
        orders.append(lines)

    def place(index):
        reservations = stock_reserve(
            channel=channel, requests=orders[index], reference=f"ORD-{index}"
        )
        # Commit half of each order in the same run: the goods-leave path locks too.
        for reservation in reservations[::2]:
            reservation_commit(
                reservation=reservation, quantity=reservation.quantity, reference=f"SHIP-{index}"
            )
        return reservations

    outcomes = run_concurrently(20, place)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert not [e for e in errors if isinstance(e, OperationalError)], errors
    assert errors == []
    committed: dict[tuple[int, int], int] = {}
    reserved: dict[tuple[int, int], int] = {}
    for lines in orders:
        for position, line in enumerate(lines):
            key = (line.variant_id, line.location_id)
            target = committed if position % 2 == 0 else reserved
            target[key] = target.get(key, 0) + line.quantity
    for stock in Stock.objects.all():
        key = (stock.variant_id, stock.location_id)
        assert stock.on_hand == 100 - committed.get(key, 0)
        assert stock.reserved == reserved.get(key, 0)
    assert ledger_drift() == []


def test_a_reservation_is_committed_or_released_once_under_a_race():
    """The commit reads the reservation under the stock row lock in the same statement that
    writes: of racing commits and releases of one reservation exactly one takes effect, even
    though the losers' statements started before the winner committed."""
    channel = ChannelFactory(code="web")
    location = StockLocationFactory(code="wh")
    ChannelLocationFactory(channel=channel, location=location)
    variant = VariantFactory(sku="RACE")
    stock_receive(location_id=location.pk, lines=[StockLine(variant.pk, 10)], reference="PO")
    (reservation,) = stock_reserve(
        channel=channel, requests=[StockRequest(variant.pk, location.pk, 3)], reference="ORD"
    )

    # Each racer holds its own copy, loaded before any of them starts.
    copies = [Reservation.objects.get(pk=reservation.pk) for _ in range(12)]

    def race(index):
        mine = copies[index]
        if index % 4 == 3:
            reservation_release(reservations=[mine])
            return "released"
        return reservation_commit(reservation=mine, quantity=3, reference=f"SHIP-{index}")

    outcomes = run_concurrently(12, race)
    committed = [o for o in outcomes if isinstance(o, StockMovement)]
    unexpected = [o for o in outcomes if isinstance(o, Exception)]
    unexpected = [o for o in unexpected if not isinstance(o, ReservationNotFound)]
    assert unexpected == []
    stock = Stock.objects.get(variant=variant, location=location)
    assert stock.reserved == 0
    assert not Reservation.objects.exists()
    sales = StockMovement.objects.filter(reason=MovementReason.SALE)
    assert sales.count() == len(committed) <= 1
    assert stock.on_hand == 10 - 3 * len(committed)
    assert ledger_drift() == []


def test_events_under_concurrent_checkouts_and_drains_end_at_the_true_value():
    """Checkouts at two locations of one SKU commit concurrently, each kicking a drain (eager
    here, so the drains race too): every event for the pair is a change, and the last one
    published is the channel's real available-to-sell once all committed."""
    channel = ChannelFactory(code="web")
    locations = [StockLocationFactory(code=f"wh-{i}") for i in range(2)]
    for location in locations:
        ChannelLocationFactory(channel=channel, location=location)
    variant = VariantFactory(sku="HOT")
    for location in locations:
        stock_receive(location_id=location.pk, lines=[StockLine(variant.pk, 30)], reference="PO")
    events, lock = [], threading.Lock()

    def listener(latest):
        with lock:
            events.append(latest.get((variant.pk, channel.pk)))

    register_availability_listener(listener)
    try:
        outcomes = run_concurrently(
            20,
            lambda index: stock_reserve(
                channel=channel,
                requests=[StockRequest(variant.pk, locations[index % 2].pk, 1)],
                reference=f"ORD-{index}",
            ),
        )
        assert all(isinstance(o, list) for o in outcomes), outcomes
        availability_outbox_drain()
    finally:
        unregister_availability_listener(listener)
    values = [v for v in events if v is not None]
    assert values and values[-1] == 40
    assert all(a != b for a, b in itertools.pairwise(values))
    assert available_to_sell(channel=channel, variant_ids=[variant.pk]) == {variant.pk: 40}
    last = AvailabilityChange.objects.filter(variant=variant, channel=channel).last()
    assert last.available == 40
    assert not AvailabilityMark.objects.exists()
