import pytest
from django.db import connection, transaction

from inventory.errors import (
    InsufficientStock,
    InvalidQuantity,
    LocationUnavailable,
    ReservationNotFound,
    SameLocation,
    UnknownVariant,
)
from inventory.models import (
    AvailabilityChange,
    MovementReason,
    Reservation,
    ReservationKind,
    Stock,
    StockMovement,
)
from inventory.selectors import available_to_sell, ledger_drift
from inventory.services import (
    StockRequest,
    availability_outbox_drain,
    reservation_commit,
    reservation_move,
    reservation_release,
    reservations_commit,
    stock_record_sale,
    stock_reserve,
    stock_return,
)
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import ChannelLocationFactory, StockLocationFactory


def stock_of(variant, location) -> Stock:
    return Stock.objects.get(variant=variant, location=location)


def test_reserve_holds_units_at_the_location(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 3)],
        reference="ORD-1",
    )
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.reserved) == (5, 3)
    assert reservation.quantity == 3
    assert reservation.kind == ReservationKind.ORDER
    assert reservation.channel == selling_channel
    assert available_to_sell(channel=selling_channel, variant_ids=[variant.pk]) == {variant.pk: 2}


def test_reserve_refuses_more_than_available_and_names_the_sku(
    selling_channel, variant, store, warehouse, receive
):
    other = VariantFactory(sku="CAP")
    receive(variant, store, 2)
    receive(other, warehouse, 10)
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[
                StockRequest(other.pk, warehouse.pk, 4),
                StockRequest(variant.pk, store.pk, 3),
            ],
            reference="ORD-2",
        )
    assert exc.value.code == "insufficient_stock"
    assert exc.value.status_code == 409
    assert exc.value.as_dict()["shortfalls"] == [{"sku": "TEE-M", "requested": 3, "available": 2}]
    # All or nothing: the satisfiable line reserved nothing either.
    assert Reservation.objects.count() == 0
    assert stock_of(other, warehouse).reserved == 0


def test_reserve_refuses_per_location_even_when_the_pool_has_enough(
    selling_channel, variant, store, warehouse, receive
):
    receive(variant, store, 1)
    receive(variant, warehouse, 10)
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, store.pk, 2)],
            reference="ORD-3",
        )
    assert exc.value.shortfalls == [{"sku": "TEE-M", "requested": 2, "available": 1}]


def test_reserve_with_no_stock_row_reports_zero_available(selling_channel, variant, store):
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, store.pk, 1)],
            reference="ORD-4",
        )
    assert exc.value.shortfalls == [{"sku": "TEE-M", "requested": 1, "available": 0}]


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True])
def test_reserve_rejects_non_positive_or_fractional_quantities(
    selling_channel, variant, store, receive, quantity
):
    receive(variant, store, 5)
    with pytest.raises(InvalidQuantity) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, store.pk, quantity)],
            reference="ORD-5",
        )
    assert exc.value.code == "invalid_quantity"
    assert exc.value.as_dict()["errors"][0]["field"] == "lines.0.quantity"
    assert stock_of(variant, store).reserved == 0


def test_reserve_rejects_unknown_variant(selling_channel, store):
    with pytest.raises(UnknownVariant) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(999_999, store.pk, 1)],
            reference="ORD-6",
        )
    assert exc.value.code == "unknown_sku"


def test_reserve_refuses_a_location_the_channel_does_not_sell_from(
    selling_channel, variant, receive
):
    elsewhere = StockLocationFactory(code="elsewhere")
    receive(variant, elsewhere, 5)
    with pytest.raises(LocationUnavailable) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, elsewhere.pk, 1)],
            reference="ORD-7",
        )
    assert exc.value.code == "location_unavailable"


def test_inactive_location_neither_counts_nor_reserves(
    selling_channel, variant, store, warehouse, receive
):
    receive(variant, store, 4)
    receive(variant, warehouse, 6)
    assert available_to_sell(channel=selling_channel, variant_ids=[variant.pk])[variant.pk] == 10
    warehouse.active = False
    warehouse.save(update_fields=["active"])
    assert available_to_sell(channel=selling_channel, variant_ids=[variant.pk])[variant.pk] == 4
    with pytest.raises(LocationUnavailable):
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, warehouse.pk, 1)],
            reference="ORD-8",
        )


def test_channel_safety_buffer_binds_orders(selling_channel, variant, store, warehouse, receive):
    selling_channel.safety_stock = 3
    selling_channel.save(update_fields=["safety_stock"])
    receive(variant, store, 2)
    receive(variant, warehouse, 6)
    assert available_to_sell(channel=selling_channel, variant_ids=[variant.pk])[variant.pk] == 5
    with pytest.raises(InsufficientStock) as exc:
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, warehouse.pk, 6)],
            reference="ORD-9",
        )
    assert exc.value.shortfalls == [{"sku": "TEE-M", "requested": 6, "available": 5}]
    stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, warehouse.pk, 4), StockRequest(variant.pk, store.pk, 1)],
        reference="ORD-10",
    )
    assert available_to_sell(channel=selling_channel, variant_ids=[variant.pk])[variant.pk] == 0


@pytest.mark.parametrize(
    ("cap", "share", "expected"),
    [(None, 100, 10), (4, 100, 4), (None, 50, 5), (3, 50, 3), (None, 0, 0), (0, 100, 0)],
)
def test_channel_cap_and_share_shape_available_to_sell(
    selling_channel, variant, warehouse, receive, cap, share, expected
):
    selling_channel.availability_cap = cap
    selling_channel.availability_share = share
    selling_channel.save(update_fields=["availability_cap", "availability_share"])
    receive(variant, warehouse, 10)
    assert available_to_sell(channel=selling_channel, variant_ids=[variant.pk]) == {
        variant.pk: expected
    }
    if expected < 10:
        with pytest.raises(InsufficientStock):
            stock_reserve(
                channel=selling_channel,
                requests=[StockRequest(variant.pk, warehouse.pk, expected + 1)],
                reference="ORD-11",
            )


def test_one_channels_reservation_lowers_every_channel_sharing_the_location(
    selling_channel, make_channel, variant, warehouse, receive
):
    other = make_channel("marketplace", safety_stock=2)
    ChannelLocationFactory(channel=other, location=warehouse)
    receive(variant, warehouse, 10)
    stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, warehouse.pk, 7)],
        reference="ORD-12",
    )
    assert available_to_sell(channel=other, variant_ids=[variant.pk])[variant.pk] == 1


def on_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.parametrize("safety_stock", [0, 2])
def test_reserve_costs_the_same_queries_for_one_and_twenty_lines(
    selling_channel, warehouse, store, receive, django_assert_num_queries, safety_stock
):
    selling_channel.safety_stock = safety_stock
    selling_channel.save(update_fields=["safety_stock"])
    variants = [VariantFactory() for _ in range(21)]
    for v in variants:
        receive(v, warehouse, 5)
        receive(v, store, 5)
    # PostgreSQL, identity rule: one statement locks, checks, updates and inserts the
    # reservations and the outbox. Otherwise a locking SELECT (with a buffer) or the conditional
    # UPDATE (SQLite), then the UPDATE, then the reservations INSERT and the outbox INSERT
    # (one statement on PostgreSQL).
    expected = {(True, False): 1, (True, True): 3, (False, False): 3, (False, True): 4}[
        (on_postgres(), bool(safety_stock))
    ]
    with django_assert_num_queries(expected):
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variants[0].pk, warehouse.pk, 1)],
            reference="ORD-13",
        )
    with django_assert_num_queries(expected):
        reservations = stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(v.pk, store.pk, 2) for v in variants[1:]],
            reference="ORD-14",
        )
    assert Reservation.objects.filter(reference="ORD-14").count() == 20
    with django_assert_num_queries(0):
        assert {(r.stock.variant_id, r.stock.location_id) for r in reservations} == {
            (v.pk, store.pk) for v in variants[1:]
        }
    with django_assert_num_queries(1):
        assert reservations[0].stock.reserved == 2  # other fields load when read
    stocks = Stock.objects.filter(location=store, variant__in=variants[1:])
    assert sorted(set(stocks.values_list("reserved", flat=True))) == [2]


def test_commit_and_release_cost_fixed_queries(
    selling_channel, warehouse, receive, django_assert_num_queries
):
    variants = [VariantFactory() for _ in range(20)]
    for v in variants:
        receive(v, warehouse, 5)
    reservations = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(v.pk, warehouse.pk, 2) for v in variants],
        reference="ORD-F",
    )
    # PostgreSQL: one statement locks, checks and writes everything. Elsewhere the locking
    # UPDATE, a read of the reservations, then the SALE rows, the DELETE and the shrink.
    with django_assert_num_queries(1 if on_postgres() else 5):
        reservations_commit(
            items=[(r, 1 + i % 2) for i, r in enumerate(reservations[:10])], reference="SHIP"
        )
    with django_assert_num_queries(1 if on_postgres() else 4):
        reservations_commit(items=[(reservations[10], 1)], reference="SHIP")
    # Lock, read, DELETE, UPDATE, outbox: the same for eight as for one.
    with django_assert_num_queries(5):
        reservation_release(reservations=reservations[11:12])
    with django_assert_num_queries(5):
        reservation_release(reservations=reservations[12:])
    assert sum(Stock.objects.values_list("reserved", flat=True)) == 5 + 1


def test_a_refusal_leaves_the_callers_transaction_usable(selling_channel, variant, store, receive):
    receive(variant, store, 2)
    with transaction.atomic():
        with pytest.raises(InsufficientStock):
            stock_reserve(
                channel=selling_channel,
                requests=[StockRequest(variant.pk, store.pk, 3)],
                reference="ORD-X",
            )
        # The caller falls back to what is there, in the same transaction.
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, store.pk, 2)],
            reference="ORD-X",
        )
    assert stock_of(variant, store).reserved == 2


def test_reservations_commit_is_all_or_nothing(selling_channel, variant, store, receive):
    other = VariantFactory(sku="OTHER")
    receive(variant, store, 5)
    receive(other, store, 5)
    first, second = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2), StockRequest(other.pk, store.pk, 1)],
        reference="ORD-Y",
    )
    with pytest.raises(InvalidQuantity):
        reservations_commit(items=[(first, 2), (second, 2)], reference="SHIP")
    assert StockMovement.objects.filter(reason=MovementReason.SALE).count() == 0
    movements = reservations_commit(items=[(first, 2), (second, 1)], reference="SHIP")
    assert [m.quantity for m in movements] == [-2, -1]
    assert not Reservation.objects.exists()
    assert (stock_of(variant, store).on_hand, stock_of(other, store).on_hand) == (3, 4)


def test_release_returns_units_and_is_harmless_twice(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    reservations = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2), StockRequest(variant.pk, store.pk, 1)],
        reference="ORD-15",
    )
    assert stock_of(variant, store).reserved == 3
    reservation_release(reservations=reservations)
    reservation_release(reservations=reservations)
    assert stock_of(variant, store).reserved == 0
    assert not Reservation.objects.exists()


def test_commit_takes_goods_out_and_writes_a_sale(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 3)],
        reference="ORD-16",
    )
    movement = reservation_commit(reservation=reservation, quantity=2, reference="SHIP-1")
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.reserved) == (3, 1)
    assert (movement.reason, movement.quantity) == (MovementReason.SALE, -2)
    assert Reservation.objects.get(pk=reservation.pk).quantity == 1
    reservation_commit(reservation=reservation, quantity=1, reference="SHIP-2")
    assert not Reservation.objects.filter(pk=reservation.pk).exists()
    assert stock_of(variant, store).on_hand == 2
    with pytest.raises(ReservationNotFound):
        reservation_commit(reservation=reservation, quantity=1, reference="SHIP-3")
    assert ledger_drift() == []


def test_commit_refuses_more_than_reserved(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2)],
        reference="ORD-17",
    )
    with pytest.raises(InvalidQuantity):
        reservation_commit(reservation=reservation, quantity=3, reference="SHIP")
    assert stock_of(variant, store).on_hand == 5


def test_move_checks_the_destination(selling_channel, variant, store, warehouse, receive):
    receive(variant, store, 5)
    receive(variant, warehouse, 1)
    (reservation,) = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2)],
        reference="ORD-18",
    )
    with pytest.raises(InsufficientStock):
        reservation_move(reservation=reservation, location_id=warehouse.pk)
    with pytest.raises(SameLocation):
        reservation_move(reservation=reservation, location_id=store.pk)
    receive(variant, warehouse, 1)
    moved = reservation_move(reservation=reservation, location_id=warehouse.pk)
    assert moved.stock == stock_of(variant, warehouse)
    assert stock_of(variant, store).reserved == 0
    assert stock_of(variant, warehouse).reserved == 2


def test_return_restocks_or_writes_off(variant, store, receive):
    receive(variant, store, 1)
    stock_return(
        variant_id=variant.pk, location_id=store.pk, quantity=2, reference="RMA-1", restock=True
    )
    assert stock_of(variant, store).on_hand == 3
    movements = stock_return(
        variant_id=variant.pk, location_id=store.pk, quantity=1, reference="RMA-2", restock=False
    )
    assert [(m.reason, m.quantity) for m in movements] == [
        (MovementReason.RETURN, 1),
        (MovementReason.DAMAGE, -1),
    ]
    assert stock_of(variant, store).on_hand == 3
    assert ledger_drift() == []


def test_record_sale_books_a_shortfall_as_discrepancy(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2)],
        reference="ORD-19",
    )
    movements = stock_record_sale(
        variant_id=variant.pk, location_id=store.pk, quantity=4, reference="POS-1"
    )
    stock = stock_of(variant, store)
    # 3 were available: they are taken; the extra unit is booked as a discrepancy.
    assert (stock.on_hand, stock.reserved, stock.needs_count) == (2, 2, True)
    assert [(m.reason, m.quantity) for m in movements] == [
        (MovementReason.DISCREPANCY, 1),
        (MovementReason.SALE, -4),
    ]
    assert ledger_drift() == []


def test_record_sale_within_stock_needs_no_count(variant, store, receive):
    receive(variant, store, 5)
    stock_record_sale(variant_id=variant.pk, location_id=store.pk, quantity=5, reference="POS-2")
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.needs_count) == (0, False)
    assert StockMovement.objects.filter(reason=MovementReason.DISCREPANCY).count() == 0


def test_availability_outbox_gets_one_row_per_changed_variant_and_channel(
    selling_channel, make_channel, variant, store, warehouse, receive
):
    capped = make_channel("social", availability_cap=2)
    ChannelLocationFactory(channel=capped, location=warehouse)
    receive(variant, warehouse, 10)
    receive(variant, store, 10)
    availability_outbox_drain()
    last_before = AvailabilityChange.objects.order_by("pk").last().pk
    stock_reserve(
        channel=selling_channel,
        requests=[
            StockRequest(variant.pk, store.pk, 1),
            StockRequest(variant.pk, warehouse.pk, 1),
            StockRequest(variant.pk, warehouse.pk, 1),
        ],
        reference="ORD-20",
    )
    availability_outbox_drain()
    # Three rows touched, one channel whose figure changed; the capped channel still shows 2.
    rows = AvailabilityChange.objects.filter(pk__gt=last_before).values_list(
        "variant_id", "channel_id", "available"
    )
    assert list(rows) == [(variant.pk, selling_channel.pk, 17)]


def test_commit_follows_a_reservation_moved_meanwhile(
    selling_channel, variant, store, warehouse, receive
):
    receive(variant, store, 3)
    receive(variant, warehouse, 3)
    (reservation,) = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 2)], reference="M"
    )
    stale = Reservation.objects.get(pk=reservation.pk)
    reservation_move(reservation=reservation, location_id=warehouse.pk)
    reservation_commit(reservation=stale, quantity=2, reference="SHIP")
    assert (stock_of(variant, store).on_hand, stock_of(variant, store).reserved) == (3, 0)
    assert (stock_of(variant, warehouse).on_hand, stock_of(variant, warehouse).reserved) == (1, 0)
    assert ledger_drift() == []


@pytest.mark.parametrize(
    ("taken_before", "copy_holds", "commit", "keeps"),
    [(0, 3, 2, 1), (0, 1, 1, 2), (1, 3, 2, 0)],
)
def test_commit_goes_by_what_the_reservation_holds_not_the_callers_copy(
    selling_channel, variant, store, receive, taken_before, copy_holds, commit, keeps
):
    # The caller's copy picks the single-line statement (delete when it says the commit takes
    # all, shrink otherwise); a copy that is wrong about what the row holds writes nothing
    # there, and the general statement commits from what the reservation holds.
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 3)], reference="Q"
    )
    if taken_before:  # another fulfilment commits through its own copy first
        other = Reservation.objects.get(pk=reservation.pk)
        reservation_commit(reservation=other, quantity=taken_before, reference="SHIP-0")
    reservation.quantity = copy_holds
    reservation_commit(reservation=reservation, quantity=commit, reference="SHIP")
    assert reservation.quantity == keeps
    held = Reservation.objects.filter(pk=reservation.pk).values_list("quantity", flat=True)
    assert list(held) == ([keeps] if keeps else [])
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.reserved) == (5 - taken_before - commit, keeps)
    assert ledger_drift() == []


def test_committing_a_released_reservation_changes_nothing(
    selling_channel, variant, store, receive
):
    receive(variant, store, 5)
    kept, released = stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2), StockRequest(variant.pk, store.pk, 2)],
        reference="R",
    )
    reservation_release(reservations=[Reservation.objects.get(pk=released.pk)])
    with pytest.raises(ReservationNotFound):
        reservation_commit(reservation=released, quantity=2, reference="SHIP")
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.reserved) == (5, 2)
    assert not StockMovement.objects.filter(reason=MovementReason.SALE).exists()
    assert Reservation.objects.get().pk == kept.pk


def test_commit_refuses_when_the_rows_reserved_units_changed_under_it(
    selling_channel, variant, store, receive
):
    # A single line commits with one conditional statement; a stock row holding fewer units
    # reserved than the reservation (the counters were moved by hand) must write nothing and
    # leave the caller's transaction usable.
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 2)], reference="C"
    )
    Stock.objects.filter(pk=reservation.stock_id).update(reserved=1)
    with transaction.atomic():
        with pytest.raises(ReservationNotFound):
            reservation_commit(reservation=reservation, quantity=2, reference="SHIP")
        assert Reservation.objects.get(pk=reservation.pk).quantity == 2
    stock = stock_of(variant, store)
    assert (stock.on_hand, stock.reserved) == (5, 1)
    assert not StockMovement.objects.filter(reason=MovementReason.SALE).exists()


def test_order_reservations_stay_out_of_the_expiry_index(db):
    if not on_postgres():
        pytest.skip("PostgreSQL index definitions")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s",
            [Reservation._meta.db_table],
        )
        definitions = [row[0] for row in cursor.fetchall()]
    expiry = [d for d in definitions if "expires_at" in d]
    assert len(expiry) == 1 and "WHERE" in expiry[0] and "'cart'" in expiry[0]
    assert not [d for d in definitions if "channel_id" in d]


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_reserve_and_commit_return_instances_as_loaded_from_the_database(
    selling_channel, variant, store, receive
):
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 3)], reference="L"
    )
    assert _fields(reservation) == _fields(Reservation.objects.get(pk=reservation.pk))
    assert (reservation._state.adding, reservation._state.db) == (False, "default")
    assert reservation.stock.on_hand == 5  # the stub's other fields load on access
    movement = reservation_commit(reservation=reservation, quantity=2, reference="SHIP")
    assert _fields(movement) == _fields(StockMovement.objects.get(pk=movement.pk))
    assert reservation.quantity == 1


def test_checkout_instances_still_send_init_signals_to_a_listener(
    selling_channel, variant, store, receive
):
    from django.db.models.signals import post_init

    receive(variant, store, 5)
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(type(instance))

    post_init.connect(listener, sender=Reservation)
    try:
        (reservation,) = stock_reserve(
            channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="S"
        )
    finally:
        post_init.disconnect(listener, sender=Reservation)
    assert Reservation in seen
    assert _fields(reservation) == _fields(Reservation.objects.get(pk=reservation.pk))
