from decimal import Decimal

from inventory.models import Stock
from inventory.selectors import available_to_sell, sourcing_candidates
from inventory.services import stock_record_sale
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import ChannelLocationFactory, StockLocationFactory


def test_sourcing_candidates_follow_priority_and_skip_inactive_or_empty(
    selling_channel, variant, store, warehouse, receive, django_assert_num_queries
):
    kiosk = StockLocationFactory(
        code="kiosk", pickup_enabled=True, ships_enabled=False, latitude=Decimal("1.5")
    )
    closed = StockLocationFactory(code="closed")
    ChannelLocationFactory(channel=selling_channel, location=kiosk, priority=0)
    ChannelLocationFactory(channel=selling_channel, location=closed, priority=5)
    other = VariantFactory(sku="NONE")
    receive(variant, store, 2)
    receive(variant, warehouse, 7)
    receive(variant, kiosk, 1)
    receive(variant, closed, 9)
    closed.active = False
    closed.save(update_fields=["active"])
    with django_assert_num_queries(1):
        candidates = sourcing_candidates(
            channel=selling_channel, variant_ids=[variant.pk, other.pk]
        )
    assert candidates[other.pk] == []
    rows = [(c.location_code, c.priority, c.available) for c in candidates[variant.pk]]
    assert rows == [("kiosk", 0, 1), ("store-a", 1, 2), ("wh-central", 2, 7)]
    first = candidates[variant.pk][0]
    assert (first.ships_enabled, first.pickup_enabled, first.latitude) == (
        False,
        True,
        Decimal("1.5"),
    )


def test_sourcing_candidates_for_pickup_keep_only_that_pickup_location(
    selling_channel, variant, store, warehouse, receive
):
    receive(variant, store, 2)
    receive(variant, warehouse, 7)
    at_store = sourcing_candidates(
        channel=selling_channel, variant_ids=[variant.pk], pickup_location_id=store.pk
    )
    assert [c.location_code for c in at_store[variant.pk]] == ["store-a"]
    # The warehouse is not a pickup location.
    at_warehouse = sourcing_candidates(
        channel=selling_channel, variant_ids=[variant.pk], pickup_location_id=warehouse.pk
    )
    assert at_warehouse[variant.pk] == []


def test_available_to_sell_is_one_query_for_many_variants(
    selling_channel, warehouse, receive, django_assert_num_queries
):
    variants = [VariantFactory() for _ in range(5)]
    for index, v in enumerate(variants):
        receive(v, warehouse, index + 1)
    with django_assert_num_queries(1):
        figures = available_to_sell(channel=selling_channel, variant_ids=[v.pk for v in variants])
    assert figures == {v.pk: i + 1 for i, v in enumerate(variants)}


def test_record_sale_where_nothing_was_booked_creates_the_row(variant, store):
    movements = stock_record_sale(
        variant_id=variant.pk, location_id=store.pk, quantity=2, reference="POS-9"
    )
    stock = Stock.objects.get(variant=variant, location=store)
    assert (stock.on_hand, stock.needs_count) == (0, True)
    assert [m.quantity for m in movements] == [2, -2]
