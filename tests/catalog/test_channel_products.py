"""The storefront's per-channel product rows follow every write path: services, admin,
CSV import, and a full rebuild gives the same rows."""

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse

from catalog import services
from catalog.csv_io import catalog_csv_import
from catalog.models import ChannelProduct
from tests.catalog.factories import ListingFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def rows(channel=None) -> dict[int, tuple]:
    queryset = ChannelProduct.objects.all()
    if channel is not None:
        queryset = queryset.filter(channel=channel)
    return {
        (row.channel_id, row.product_id): (row.price_from, row.price_to, row.variant_count)
        for row in queryset
    }


def test_rows_track_prices_and_visibility_through_services(make_channel):
    web, app = make_channel("web"), make_channel("app")
    product = ProductFactory()
    a, b = VariantFactory(product=product), VariantFactory(product=product)
    services.listing_upsert(variant=a, channel=web, price="5.00")
    services.listing_upsert(variant=b, channel=web, price="9.00")
    assert rows(web) == {(web.pk, product.pk): (Decimal("5.00"), Decimal("9.00"), 2)}
    assert rows(app) == {}

    services.variant_update(variant=a, active=False)
    assert rows(web)[(web.pk, product.pk)] == (Decimal("9.00"), Decimal("9.00"), 1)
    services.listings_set_published(channel=web, product_ids=[product.pk], published=False)
    assert rows(web) == {}
    services.listings_set_published(channel=web, product_ids=[product.pk], published=True)
    services.product_update(product=product, active=False)
    assert rows() == {}
    services.product_update(product=product, active=True)
    assert rows(web)[(web.pk, product.pk)][2] == 1


def test_bulk_upsert_and_price_change_update_rows(channel):
    variant = VariantFactory(sku="R-1")
    services.listings_bulk_upsert(channel=channel, rows=[{"sku": "R-1", "price": "10.00"}])
    key = (channel.pk, variant.product_id)
    assert rows()[key][0] == Decimal("10.00")
    preview = services.listing_price_change_preview(percent=Decimal("20"), channel=channel)
    services.listing_price_change_apply(percent=Decimal("20"), channel=channel, token=preview.token)
    assert rows()[key][0] == Decimal("12.00")


def test_csv_import_updates_rows(channel):
    catalog_csv_import(
        file=io.StringIO("product_slug,product_name,sku,web.price\nmug,Mug,MUG-1,4.00\n")
    )
    assert list(rows().values()) == [(Decimal("4.00"), Decimal("4.00"), 1)]


def test_admin_listing_edits_and_deletes_update_rows(admin_client, channel):
    listing = ListingFactory(channel=channel, price=Decimal("3.00"))
    change = reverse("admin:catalog_listing_change", args=[listing.pk])
    response = admin_client.post(
        change,
        {"variant": listing.variant_id, "channel": channel.pk, "price": "4.00"},
    )  # published unticked
    assert response.status_code == 302
    assert rows() == {}
    admin_client.post(
        reverse("admin:catalog_listing_changelist"),
        {"action": "publish", "_selected_action": [listing.pk], "confirm_action": "yes"},
    )
    assert list(rows().values()) == [(Decimal("4.00"), Decimal("4.00"), 1)]
    admin_client.post(reverse("admin:catalog_listing_delete", args=[listing.pk]), {"post": "yes"})
    assert rows() == {}


def test_rebuild_matches_incremental_rows(make_channel):
    web, app = make_channel("web"), make_channel("app")
    for n in range(4):
        product = ProductFactory(active=n != 3)
        for m in range(3):
            variant = VariantFactory(product=product, active=m != 2)
            ListingFactory(variant=variant, channel=web, price=Decimal(n + m + 1))
            if n % 2:
                ListingFactory(variant=variant, channel=app, published=m == 0)
    incremental = rows()
    ChannelProduct.objects.all().delete()
    out = io.StringIO()
    call_command("catalog_refresh_channel_products", stdout=out)
    assert rows() == incremental
    assert "rows rebuilt" in out.getvalue()
    assert len(incremental) == 3 + 1  # the inactive product is absent from both channels
