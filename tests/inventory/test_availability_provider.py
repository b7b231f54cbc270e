"""Inventory's provider for the catalog availability port: the SQL expression the storefront
folds into its offers query gives the same figures as `available_to_sell`."""

from decimal import Decimal

import pytest

from catalog.models import Listing, Variant
from catalog.services import channel_products_refresh
from inventory.providers import StockAvailabilityProvider
from inventory.selectors import available_to_sell
from inventory.services import StockRequest, stock_reserve
from tests.catalog.factories import VariantFactory

pytestmark = pytest.mark.django_db


def expression_figures(channel, variant_ids):
    expression = StockAvailabilityProvider().available_to_sell_expression(
        channel=channel, variant_ref="pk"
    )
    return dict(
        Variant.objects.filter(pk__in=variant_ids)
        .annotate(shown=expression)
        .values_list("pk", "shown")
    )


@pytest.mark.parametrize(
    ("cap", "share", "safety"),
    [
        (None, 100, 0),
        (4, 100, 0),
        (None, 50, 0),
        (3, 50, 1),
        (None, 33, 2),
        (None, 0, 0),
        (0, 100, 0),
        (None, 100, 20),
    ],
)
def test_expression_matches_available_to_sell(
    selling_channel, warehouse, store, receive, cap, share, safety
):
    stocked, split, reserved, empty = (VariantFactory() for _ in range(4))
    receive(stocked, warehouse, 10)
    receive(split, warehouse, 7)
    receive(split, store, 6)
    receive(reserved, store, 5)
    stock_reserve(
        channel=selling_channel,
        requests=[StockRequest(reserved.pk, store.pk, 2)],
        reference="ORD-1",
    )
    selling_channel.availability_cap = cap
    selling_channel.availability_share = share
    selling_channel.safety_stock = safety
    selling_channel.save()
    ids = [stocked.pk, split.pk, reserved.pk, empty.pk]
    assert expression_figures(selling_channel, ids) == available_to_sell(
        channel=selling_channel, variant_ids=ids
    )


def test_expression_ignores_other_channels_and_inactive_locations(
    selling_channel, make_channel, warehouse, store, receive
):
    other = make_channel("other")
    variant = VariantFactory()
    receive(variant, warehouse, 4)
    receive(variant, store, 3)
    store.active = False
    store.save()
    assert expression_figures(selling_channel, [variant.pk]) == {variant.pk: 4}
    assert expression_figures(other, [variant.pk]) == {variant.pk: 0}


def test_storefront_list_shows_stock_through_the_expression(
    selling_channel, warehouse, receive, key_client
):
    variant = VariantFactory()
    Listing.objects.create(
        variant=variant, channel=selling_channel, price=Decimal("5.00"), currency="USD"
    )
    channel_products_refresh(product_ids=[variant.product_id])
    receive(variant, warehouse, 6)
    body = key_client(selling_channel).get("/api/v1/products/").json()
    assert body["results"][0]["variants"][0]["available"] == 6
    assert body["results"][0]["in_stock"] is True
