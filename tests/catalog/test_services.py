"""Catalog services: category paths, unique SKUs/barcodes, listing currency and precision,
bulk publish and the previewed percentage price change."""

from decimal import Decimal

import pytest

from catalog import services
from catalog.errors import CatalogConflict, CatalogInvalid, StalePreview
from catalog.models import Category, Listing
from tests.catalog.factories import (
    CategoryFactory,
    ListingFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def test_category_move_rewrites_descendant_paths():
    apparel = services.category_create(name="Apparel")
    tops = services.category_create(name="Tops", parent=apparel)
    tees = services.category_create(name="T-shirts", parent=tops)
    sale = services.category_create(name="Sale")
    services.category_update(category=tops, parent=sale)
    tees.refresh_from_db()
    assert tees.path == "sale/tops/t-shirts/"
    assert Category.objects.get(slug="apparel").path == "apparel/"
    with pytest.raises(CatalogInvalid) as exc:
        services.category_update(category=sale, parent=tees)
    assert exc.value.code == "category_cycle"


def test_category_rename_slug_rewrites_paths():
    root = services.category_create(name="Home")
    child = services.category_create(name="Kitchen", parent=root)
    services.category_update(category=root, slug="house")
    child.refresh_from_db()
    assert child.path == "house/kitchen/"


def test_product_slug_is_generated_and_made_unique():
    first = services.product_create(name="Linen Shirt")
    second = services.product_create(name="Linen Shirt")
    assert (first.slug, second.slug) == ("linen-shirt", "linen-shirt-2")
    with pytest.raises(CatalogConflict) as exc:
        services.product_create(name="Other", slug="linen-shirt")
    assert exc.value.field == "slug"


def test_attributes_are_typed_and_validated():
    product = services.product_create(
        name="Kettle", attributes={"watts": 2200, "cordless": True, "finish": "steel"}
    )
    assert product.attributes == {
        "watts": {"type": "number", "value": 2200},
        "cordless": {"type": "boolean", "value": True},
        "finish": {"type": "text", "value": "steel"},
    }
    with pytest.raises(CatalogInvalid) as exc:
        services.product_create(name="X", attributes={"watts": {"type": "number", "value": "hi"}})
    assert exc.value.field == "attributes.watts"
    with pytest.raises(CatalogInvalid) as exc:
        services.product_create(name="X", images=["ftp://nope"])
    assert exc.value.field == "images.0"


def test_sku_and_barcode_are_unique_and_gtin_checked():
    product = ProductFactory()
    services.variant_create(product=product, sku="A-1", barcode="4006381333931")
    with pytest.raises(CatalogConflict) as exc:
        services.variant_create(product=product, sku="A-1")
    assert exc.value.code == "duplicate_sku"
    with pytest.raises(CatalogConflict) as exc:
        services.variant_create(product=product, sku="A-2", barcode="4006381333931")
    assert exc.value.code == "duplicate_barcode"
    with pytest.raises(CatalogInvalid) as exc:
        services.variant_create(product=product, sku="A-3", barcode="4006381333932")
    assert exc.value.code == "invalid_gtin"
    # Blank barcodes are "none", so many variants may lack one.
    services.variant_create(product=product, sku="A-4", barcode="")
    services.variant_create(product=product, sku="A-5", barcode="  ")


def test_listing_currency_must_be_the_channels(make_channel):
    eur = make_channel("eu", currency="EUR")
    variant = VariantFactory()
    with pytest.raises(CatalogInvalid) as exc:
        services.listing_upsert(variant=variant, channel=eur, price="10.00", currency="USD")
    assert (exc.value.code, exc.value.field) == ("currency_mismatch", "currency")
    listing, created = services.listing_upsert(variant=variant, channel=eur, price="10.00")
    assert created and listing.currency == "EUR"


@pytest.mark.parametrize(
    ("currency", "good", "bad"),
    [("JPY", "1200", "1200.5"), ("USD", "19.99", "19.999"), ("KWD", "4.125", "4.1255")],
)
def test_listing_price_precision_follows_the_currency(make_channel, currency, good, bad):
    channel = make_channel(f"c-{currency.lower()}", currency=currency)
    variant = VariantFactory()
    with pytest.raises(CatalogInvalid) as exc:
        services.listing_upsert(variant=variant, channel=channel, price=bad)
    assert exc.value.code == "price_precision"
    listing, _ = services.listing_upsert(variant=variant, channel=channel, price=good)
    listing.refresh_from_db()
    assert listing.price == Decimal(good)


def test_listing_upsert_replaces_and_keeps_published_flag(channel):
    variant = VariantFactory()
    services.listing_upsert(variant=variant, channel=channel, price="5.00", published=False)
    listing, created = services.listing_upsert(variant=variant, channel=channel, price="6.00")
    assert not created
    assert (listing.price, listing.published) == (Decimal("6.00"), False)
    assert Listing.objects.count() == 1


def test_bulk_publish_reports_variants_without_a_listing(make_channel):
    web, app = make_channel("web"), make_channel("app")
    product = ProductFactory()
    a = ListingFactory(
        variant=VariantFactory(product=product, sku="P-A"), channel=web, published=False
    )
    ListingFactory(variant=VariantFactory(product=product, sku="P-B"), channel=app)
    result = services.listings_set_published(channel=web, product_ids=[product.pk], published=True)
    assert result.changed == 1 and result.without_listing == ["P-B"]
    a.refresh_from_db()
    assert a.published is True
    result = services.listings_set_published(channel=web, product_ids=[product.pk], published=False)
    assert result.changed == 1
    assert Listing.objects.get(channel=app).published is True


def test_price_change_preview_then_apply(make_channel):
    web, jp = make_channel("web"), make_channel("jp", currency="JPY")
    shoes = CategoryFactory(slug="shoes")
    boots = CategoryFactory(slug="boots", parent=shoes)
    other = CategoryFactory(slug="other")
    boot = VariantFactory(product=ProductFactory(category=boots))
    a = ListingFactory(
        variant=boot, channel=web, price=Decimal("19.99"), compare_at_price=Decimal("25.00")
    )
    b = ListingFactory(variant=boot, channel=jp, price=Decimal("1999"))
    c = ListingFactory(variant=VariantFactory(product=ProductFactory(category=other)), channel=web)

    preview = services.listing_price_change_preview(percent=Decimal("10"), category=shoes)
    assert {ch.listing_id for ch in preview.changes} == {a.pk, b.pk}
    by_id = {ch.listing_id: ch for ch in preview.changes}
    assert by_id[a.pk].new_price == Decimal("21.99")  # 21.989 rounds half-up
    assert by_id[a.pk].new_compare_at == Decimal("27.50")
    assert by_id[b.pk].new_price == Decimal("2199")  # 2198.9 -> JPY has no decimals
    # Nothing changes until applied.
    a.refresh_from_db()
    assert a.price == Decimal("19.99")

    count = services.listing_price_change_apply(
        percent=Decimal("10"), category=shoes, token=preview.token
    )
    assert count == 2
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert (a.price, a.compare_at_price, b.price, c.price) == (
        Decimal("21.99"),
        Decimal("27.50"),
        Decimal("2199"),
        Decimal("10.00"),
    )


def test_price_change_for_one_channel_only(make_channel):
    web, app = make_channel("web"), make_channel("app")
    variant = VariantFactory()
    on_web = ListingFactory(variant=variant, channel=web, price=Decimal("10.00"))
    on_app = ListingFactory(variant=variant, channel=app, price=Decimal("10.00"))
    preview = services.listing_price_change_preview(percent=Decimal("-25"), channel=web)
    services.listing_price_change_apply(percent=Decimal("-25"), channel=web, token=preview.token)
    on_web.refresh_from_db(), on_app.refresh_from_db()
    assert (on_web.price, on_app.price) == (Decimal("7.50"), Decimal("10.00"))


def test_price_change_refuses_a_stale_preview(channel):
    listing = ListingFactory(channel=channel, price=Decimal("10.00"))
    preview = services.listing_price_change_preview(percent=Decimal("5"), channel=channel)
    services.listing_update(listing=listing, price="11.00")
    with pytest.raises(StalePreview):
        services.listing_price_change_apply(
            percent=Decimal("5"), channel=channel, token=preview.token
        )
    listing.refresh_from_db()
    assert listing.price == Decimal("11.00")


@pytest.mark.parametrize("percent", ["0", "-95", "501"])
def test_price_change_percent_bounds(channel, percent):
    with pytest.raises(CatalogInvalid) as exc:
        services.listing_price_change_preview(percent=Decimal(percent), channel=channel)
    assert exc.value.field == "percent"


def test_price_change_needs_a_scope():
    with pytest.raises(CatalogInvalid) as exc:
        services.listing_price_change_preview(percent=Decimal("5"))
    assert exc.value.code == "scope_required"
