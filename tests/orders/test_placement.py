"""order_place: sourcing and reservation, shortfalls, pricing stored, POS sales after the
fact, deduplication and a fixed number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import MovementReason, Reservation, Stock, StockMovement
from inventory.selectors import ledger_drift
from omni.errors import DomainError, InvalidInput
from orders.models import (
    Allocation,
    ChannelOrderSettings,
    Fulfilment,
    IdempotencyKey,
    Order,
    OrderStatus,
    SourcingStrategyName,
)
from orders.services import LineInput, PaymentInput, RecordedSale, order_place
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db


def test_order_reserves_at_the_first_location_by_priority_and_stores_the_quote(
    place, make_variant, receive, warehouse, store, stock_of
):
    tee = make_variant("TEE", "12.50")
    receive(tee, warehouse, 5)
    receive(tee, store, 5)
    order = place([("TEE", 2)])
    assert order.status == OrderStatus.CONFIRMED
    assert order.number.startswith("WEB-")
    assert order.total == Decimal("25.00")
    assert order.quote["total"] == "25.00"
    line = order.lines.get()
    assert (line.unit_price, line.line_total, line.quantity) == (
        Decimal("12.500"),
        Decimal("25.000"),
        2,
    )
    allocation = Allocation.objects.get(line=line)
    assert allocation.location == warehouse and allocation.quantity == 2
    assert allocation.reservation.quantity == 2
    assert "priority" in allocation.reason
    assert stock_of(tee, warehouse) == (5, 2)
    assert stock_of(tee, store) == (5, 0)
    assert order.customer is not None and order.customer_email == "ada@example.com"
    assert order.timeline.filter(kind="placed").exists()


def test_line_splits_across_locations_when_no_single_one_holds_it(
    place, make_variant, receive, warehouse, store, other_store, stock_of
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 2)
    receive(tee, store, 3)
    receive(tee, other_store, 10)
    order = place([("TEE", 13)])
    got = sorted(
        (a.location.code, a.quantity) for a in Allocation.objects.filter(line__order=order)
    )
    # 13 units: no location has 13; drawn in priority order warehouse, store-a, store-b.
    assert got == [("store-a", 3), ("store-b", 8), ("wh", 2)]
    assert stock_of(tee, other_store) == (10, 8)
    assert all("split" in a.reason for a in Allocation.objects.filter(line__order=order))


def test_short_lines_are_refused_listing_each_sku_and_nothing_is_reserved(
    place, make_variant, receive, warehouse, store, reserved_total
):
    tee, cap, mug = make_variant("TEE"), make_variant("CAP"), make_variant("MUG")
    receive(tee, warehouse, 5)
    receive(cap, warehouse, 1)
    receive(mug, store, 1)
    with pytest.raises(DomainError) as err:
        place([("TEE", 2), ("CAP", 3), ("MUG", 4)])
    assert err.value.code == "insufficient_stock"
    assert err.value.status_code == 409
    assert sorted(err.value.extra["shortfalls"], key=lambda s: s["sku"]) == [
        {"sku": "CAP", "requested": 3, "available": 1},
        {"sku": "MUG", "requested": 4, "available": 1},
    ]
    assert reserved_total() == 0
    assert Order.objects.count() == 0


def test_a_refused_order_inserts_nothing_before_it_is_refused(
    place, make_variant, receive, warehouse, monkeypatch
):
    """Stock is planned before the order, its key and its lines are inserted: a 409 costs the
    reads only."""
    from orders.services import placement

    tee = make_variant("TEE")
    receive(tee, warehouse, 1)
    place([("TEE", 1)])
    inserted = []
    monkeypatch.setattr(placement, "insert_models_together", lambda *a, **k: inserted.append(a))
    with pytest.raises(DomainError) as err:
        place([("TEE", 1)], idempotency_key="k-2")
    assert err.value.code == "insufficient_stock"
    assert inserted == []
    assert not IdempotencyKey.objects.filter(key="k-2").exists()


def test_a_duplicate_that_lost_the_race_for_the_last_units_gets_the_first_answer(
    shop, place, make_variant, receive, warehouse, monkeypatch
):
    """The first placement with a key commits (taking the last unit) after the duplicate's
    first look for the key: the duplicate's plan is short, and it answers with the first
    order instead of a 409."""
    from orders.services import placement

    tee = make_variant("TEE")
    receive(tee, warehouse, 1)

    def place_keyed():
        return order_place(
            channel=shop,
            lines=[LineInput("TEE", 1)],
            shipping_address=ADDRESS,
            idempotency_key="k-1",
            external_id="ext-1",
        )

    first = place_keyed()
    real_existing = placement._existing
    looks = []

    def existing_after_first_look(*args):
        looks.append(args)
        return None if len(looks) == 1 else real_existing(*args)

    monkeypatch.setattr(placement, "_existing", existing_after_first_look)
    again = place_keyed()
    assert (again.created, again.order.pk) == (False, first.order.pk)
    assert len(looks) == 2
    assert Order.objects.count() == 1
    # Without a key or external id a short order is still refused.
    with pytest.raises(DomainError) as err:
        order_place(channel=shop, lines=[LineInput("TEE", 1)], shipping_address=ADDRESS)
    assert err.value.code == "insufficient_stock"


def test_pickup_at_a_store_without_stock_is_refused_even_if_the_warehouse_has_it(
    place, make_variant, receive, warehouse, store, reserved_total
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 50)
    with pytest.raises(DomainError) as err:
        place([("TEE", 1)], fulfilment_method="pickup", pickup_location_code="store-a")
    assert err.value.code == "insufficient_stock"
    assert err.value.extra["shortfalls"] == [{"sku": "TEE", "requested": 1, "available": 0}]
    assert reserved_total() == 0


def test_pickup_reserves_at_the_pickup_store_only(
    place, make_variant, receive, warehouse, store, stock_of
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 50)
    receive(tee, store, 2)
    order = place([("TEE", 2)], fulfilment_method="pickup", pickup_location_code="store-a")
    assert order.pickup_location == store
    assert stock_of(tee, store) == (2, 2)
    assert stock_of(tee, warehouse) == (50, 0)
    assert Allocation.objects.get(line__order=order).strategy == "pickup"


def test_pickup_at_a_location_without_pickup_is_invalid(place, make_variant, receive, warehouse):
    make_variant("TEE")
    with pytest.raises(InvalidInput) as err:
        place([("TEE", 1)], fulfilment_method="pickup", pickup_location_code="wh")
    assert err.value.code == "invalid_pickup_location"


def test_mixed_order_ships_some_lines_and_holds_others_at_the_pickup_store(
    place, make_variant, receive, warehouse, store, stock_of
):
    tee, cap = make_variant("TEE"), make_variant("CAP")
    receive(tee, warehouse, 5)
    receive(cap, store, 1)
    order = place(
        [LineInput("TEE", 1), LineInput("CAP", 1, "pickup", "store-a")],
    )
    assert stock_of(tee, warehouse) == (5, 1)
    assert stock_of(cap, store) == (1, 1)
    assert order.lines.get(sku="CAP").pickup_location == store


def test_nearest_strategy_reserves_at_the_location_closest_to_the_address(
    shop, place, make_variant, receive, warehouse, store
):
    ChannelOrderSettings.objects.create(
        channel=shop, sourcing_strategy=SourcingStrategyName.NEAREST
    )
    warehouse.latitude, warehouse.longitude = Decimal("34.05"), Decimal("-118.24")  # LA
    warehouse.save(update_fields=["latitude", "longitude"])
    store.latitude, store.longitude = Decimal("40.75"), Decimal("-73.99")  # NYC
    store.save(update_fields=["latitude", "longitude"])
    tee = make_variant("TEE")
    receive(tee, warehouse, 5)
    receive(tee, store, 5)
    order = place(
        [("TEE", 1)], shipping_address={**ADDRESS, "latitude": "40.71", "longitude": "-74.0"}
    )
    allocation = Allocation.objects.get(line__order=order)
    assert allocation.location == store
    assert allocation.strategy == "nearest"
    assert "km from the address" in allocation.reason


def test_tax_and_shipping_follow_the_channel_settings(
    shop, place, make_variant, receive, warehouse
):
    ChannelOrderSettings.objects.create(
        channel=shop, tax_rate=Decimal("0.10"), prices_include_tax=False, shipping_fee=Decimal("5")
    )
    tee = make_variant("TEE", "20.00")
    receive(tee, warehouse, 5)
    order = place([("TEE", 2)])
    assert order.tax_total == Decimal("4.00")
    assert order.shipping_total == Decimal("5.00")
    assert order.total == Decimal("49.00")
    assert order.lines.get().tax_amount == Decimal("4.00")


def test_unknown_sku_and_duplicate_lines_are_invalid_naming_the_field(place, make_variant):
    make_variant("TEE")
    with pytest.raises(InvalidInput) as err:
        place([("TEE", 1), ("NOPE", 1)])
    assert (err.value.code, err.value.field) == ("unknown_sku", "lines.1.sku")
    with pytest.raises(InvalidInput) as err:
        place([("TEE", 1), ("TEE", 2)])
    assert (err.value.code, err.value.field) == ("duplicate_sku", "lines.1.sku")
    with pytest.raises(InvalidInput) as err:
        place([("TEE", 1)], shipping_address={})
    assert err.value.field == "shipping_address"


@pytest.mark.parametrize("withdrawn", ["unpublished", "variant_inactive", "product_inactive"])
def test_a_sku_not_sold_in_the_channel_is_refused_and_nothing_is_written(
    withdrawn, shop, place, make_variant, make_channel, receive, warehouse
):
    tee, cap = make_variant("TEE"), make_variant("CAP")
    receive(tee, warehouse, 5)
    receive(cap, warehouse, 5)
    mug = make_variant("MUG", channels=[make_channel("other-web")])
    mug.listings.filter(channel=shop).delete()  # listed in another channel only
    if withdrawn == "unpublished":
        cap.listings.filter(channel=shop).update(published=False)
    elif withdrawn == "variant_inactive":
        type(cap).objects.filter(pk=cap.pk).update(active=False)
    else:
        type(cap.product).objects.filter(pk=cap.product_id).update(active=False)
    with pytest.raises(DomainError) as err:
        place([("TEE", 1), ("CAP", 1)])
    assert (err.value.code, err.value.field) == ("variant_not_listed", "lines.1")
    with pytest.raises(DomainError) as err:
        place([("MUG", 1)])
    assert err.value.code == "variant_not_listed"
    assert not Order.objects.exists()
    assert not Reservation.objects.exists()


def test_same_external_id_twice_returns_the_first_order(shop, make_variant, receive, warehouse):
    tee = make_variant("TEE")
    receive(tee, warehouse, 5)
    kwargs = {
        "channel": shop,
        "lines": [LineInput("TEE", 1)],
        "shipping_address": ADDRESS,
        "external_id": "MKT-1",
    }
    first = order_place(**kwargs)
    again = order_place(**kwargs)
    assert first.created and not again.created
    assert again.order.pk == first.order.pk
    assert Reservation.objects.count() == 1


def test_unpaid_order_is_pending(place, make_variant, receive, warehouse):
    tee = make_variant("TEE")
    receive(tee, warehouse, 5)
    order = place([("TEE", 1)], payment=PaymentInput())
    assert order.status == OrderStatus.PENDING
    assert order.payment_amount == 0


def _capture(callable_):
    with CaptureQueriesContext(connection) as ctx:
        callable_()
    return len(ctx.captured_queries)


def test_placing_costs_the_same_queries_for_1_and_20_lines(
    shop, place, make_variant, receive, warehouse, store, django_assert_num_queries
):
    variants = [make_variant(f"SKU-{i:02d}") for i in range(21)]
    for v in variants:
        receive(v, warehouse, 1)
        receive(v, store, 1)
    # Warm caches (promotion snapshot, content types) so both runs measure the same work.
    place([("SKU-20", 1)])
    one = _capture(lambda: place([("SKU-00", 2)]))
    # 20 lines, several of them split across the two locations.
    lines = [(f"SKU-{i:02d}", 2 if i % 2 else 1) for i in range(1, 21)]
    with django_assert_num_queries(one):
        order = place(lines)
    assert order.lines.count() == 20
    assert Allocation.objects.filter(line__order=order).count() == 30


def test_recorded_pos_sale_is_never_refused_and_books_the_shortfall(
    make_channel, make_variant, receive, store, stock_of
):
    till = make_channel("store-a-pos", kind="store")
    tee = make_variant("TEE", channels=[till])
    receive(tee, store, 1)
    sold_at = timezone.now() - timedelta(hours=3)
    placement = order_place(
        channel=till,
        lines=[LineInput("TEE", 3)],
        payment=PaymentInput(status="paid", reference="till-7"),
        external_id="till-7-0001",
        recorded_sale=RecordedSale("store-a", sold_at),
    )
    order = placement.order
    assert order.status == OrderStatus.COMPLETED
    assert order.completed_at == sold_at
    assert order.lines.get().quantity_fulfilled == 3
    assert Fulfilment.objects.get(order=order).status == "collected"
    assert stock_of(tee, store) == (0, 0)
    stock = Stock.objects.get(variant=tee, location=store)
    assert stock.needs_count
    reasons = set(StockMovement.objects.filter(stock=stock).values_list("reason", flat=True))
    assert MovementReason.DISCREPANCY in reasons
    assert ledger_drift() == []
    # The till replays the same sale: deduplicated by its client id.
    again = order_place(
        channel=till,
        lines=[LineInput("TEE", 3)],
        payment=PaymentInput(status="paid", reference="till-7"),
        external_id="till-7-0001",
        recorded_sale=RecordedSale("store-a", sold_at),
    )
    assert not again.created and again.order.pk == order.pk
    assert StockMovement.objects.filter(stock=stock, reason=MovementReason.SALE).count() == 1


def test_ship_from_store_lines_draw_only_from_stores(
    place, make_variant, receive, warehouse, store, stock_of
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 10)
    receive(tee, store, 1)
    order = place([LineInput("TEE", 1, "ship_from_store")])
    assert Allocation.objects.get(line__order=order).location == store
    with pytest.raises(DomainError) as err:
        place([LineInput("TEE", 1, "ship_from_store")])
    assert err.value.extra["shortfalls"] == [{"sku": "TEE", "requested": 1, "available": 0}]
    assert stock_of(tee, warehouse) == (10, 0)
