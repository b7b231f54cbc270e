"""The storefront list shows every catalog change made through the services right after it
(on PostgreSQL it writes the page from JSON pieces stored in `ChannelProduct`, refreshed in
the change's transaction), and available-to-sell as it is at the time of the request."""

from decimal import Decimal

import pytest

from catalog import services
from catalog.models import ChannelProduct
from tests.catalog.factories import CategoryFactory, ListingFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


@pytest.fixture
def shop(channel, key_client, fake_stock):
    """A product in a nested category with two variants listed in `channel`, and a way to
    read its list item (also checked equal to the detail, which is built in Python)."""
    root = CategoryFactory(name="Clothing", slug="clothing")
    leaf = CategoryFactory(name="Socks", slug="socks", parent=root)
    product = ProductFactory(name="Wool socks", category=leaf, attributes={}, images=[])
    first = VariantFactory(product=product, sku="SOCK-A", options={"size": "S"})
    second = VariantFactory(product=product, sku="SOCK-B", options={"size": "M"})
    listings = [
        ListingFactory(variant=first, channel=channel, price=Decimal("10.00")),
        ListingFactory(variant=second, channel=channel, price=Decimal("12.00")),
    ]
    client = key_client(channel)

    def item() -> dict | None:
        results = client.get(URL).json()["results"]
        found = [entry for entry in results if entry["id"] == product.pk]
        detail = client.get(f"{URL}{product.pk}/")
        if not found:
            assert detail.status_code == 404
            return None
        assert found[0] == detail.json()
        return found[0]

    return {
        "product": product,
        "variants": [first, second],
        "listings": listings,
        "categories": (root, leaf),
        "item": item,
        "stock": fake_stock,
        "channel": channel,
    }


def test_a_price_change_shows_in_the_list_at_once(shop):
    assert shop["item"]()["price_from"] == "10.00"
    services.listing_update(listing=shop["listings"][0], price="15.50", compare_at_price="20")
    item = shop["item"]()
    assert item["price_from"] == "12.00"
    assert [(v["price"], v["compare_at_price"]) for v in item["variants"]] == [
        ("15.50", "20.00"),
        ("12.00", None),
    ]


def test_unpublishing_a_listing_hides_its_variant_then_the_product(shop):
    first, second = shop["listings"]
    services.listings_publish(listing_ids=[first.pk], published=False)
    assert [v["sku"] for v in shop["item"]()["variants"]] == ["SOCK-B"]
    services.listings_publish(listing_ids=[second.pk], published=False)
    assert shop["item"]() is None
    services.listings_publish(listing_ids=[first.pk], published=True)
    assert [v["sku"] for v in shop["item"]()["variants"]] == ["SOCK-A"]


def test_deactivating_a_variant_hides_it(shop):
    services.variant_update(variant=shop["variants"][0], active=False)
    item = shop["item"]()
    assert [v["sku"] for v in item["variants"]] == ["SOCK-B"]
    assert item["price_from"] == "12.00"


def test_a_variant_edit_shows_in_the_list_at_once(shop):
    services.variant_update(
        variant=shop["variants"][1],
        sku="SOCK-0",
        name="Medium",
        options={"size": "M", "colour": "grey"},
        barcode="4006381333931",
        weight_grams=120,
    )
    variants = shop["item"]()["variants"]
    assert [v["sku"] for v in variants] == ["SOCK-0", "SOCK-A"]  # still by SKU
    assert variants[0]["name"] == "Medium"
    assert variants[0]["options"] == {"size": "M", "colour": "grey"}
    assert (variants[0]["barcode"], variants[0]["weight_grams"]) == ("4006381333931", 120)


def test_search_follows_sku_name_and_description_edits_and_unlisting(shop, key_client):
    client = key_client(shop["channel"])

    def found(word: str) -> bool:
        return shop["product"].pk in [
            p["id"] for p in client.get(URL, {"search": word}).json()["results"]
        ]

    assert found("sock-b") and found("wool") and not found("sock-0")
    services.variant_update(variant=shop["variants"][1], sku="SOCK-0")
    assert found("sock-0") and not found("sock-b")
    services.product_update(product=shop["product"], name="Cashmere socks", description="Warm")
    assert found("cashmere") and found("warm") and not found("wool")
    services.listing_update(listing=shop["listings"][0], published=False)
    assert not found("sock-a")  # no longer offered in the channel
    assert found("sock-0")


def test_a_product_edit_shows_in_the_list_at_once(shop):
    services.product_update(
        product=shop["product"],
        name="Merino socks",
        description="Warm.",
        brand="Ewe",
        attributes={"material": {"type": "text", "value": "merino"}},
        images=["https://img.example.com/socks.jpg"],
        category=shop["categories"][0],
    )
    item = shop["item"]()
    assert (item["name"], item["description"], item["brand"]) == ("Merino socks", "Warm.", "Ewe")
    assert item["attributes"] == {"material": {"type": "text", "value": "merino"}}
    assert item["images"] == ["https://img.example.com/socks.jpg"]
    assert item["category"]["slug"] == "clothing"
    services.product_update(product=shop["product"], active=False)
    assert shop["item"]() is None


def test_a_category_rename_or_move_shows_in_the_list_at_once(shop):
    root, leaf = shop["categories"]
    services.category_update(category=leaf, name="Hosiery")
    assert shop["item"]()["category"]["name"] == "Hosiery"
    services.category_update(category=root, slug="apparel")
    assert shop["item"]()["category"]["path"] == "apparel/socks/"
    elsewhere = CategoryFactory(name="Outlet", slug="outlet")
    services.category_update(category=leaf, parent=elsewhere)
    assert shop["item"]()["category"]["path"] == "outlet/socks/"


def test_filters_and_orderings_follow_product_and_category_changes(shop, key_client):
    # They read the copies of the product fields stored in ChannelProduct.
    client = key_client(shop["channel"])
    product, (root, leaf) = shop["product"], shop["categories"]
    other = ProductFactory(name="Merino scarf", brand="Llama", category=None, attributes={})
    ListingFactory(variant=VariantFactory(product=other), channel=shop["channel"])

    def found(**params) -> list[int]:
        return [entry["id"] for entry in client.get(URL, params).json()["results"]]

    assert found() == [other.pk, product.pk]
    assert found(category="clothing") == [product.pk]
    services.product_update(
        product=product,
        name="Angora socks",
        brand="Ewe",
        attributes={"material": {"type": "text", "value": "angora"}},
    )
    assert found() == [product.pk, other.pk]
    assert found(brand="Ewe") == [product.pk]
    assert found(attr="material:angora") == [product.pk]
    services.category_update(category=root, slug="apparel")
    assert found(category="apparel") == [product.pk]
    assert found(category="clothing") == []
    services.category_update(category=leaf, parent=CategoryFactory(slug="outlet"))
    assert found(category="outlet") == [product.pk]
    assert found(category="apparel") == []
    services.product_update(product=other, category=root)
    assert found(category="apparel") == [other.pk]


def test_available_to_sell_is_read_at_request_time_never_stored(shop):
    channel, stock = shop["channel"], shop["stock"]
    first, second = shop["variants"]
    assert shop["item"]()["available"] == 0
    stock.set(channel, first, 4)
    stock.set(channel, second, 3)
    item = shop["item"]()
    assert (item["available"], item["in_stock"]) == (7, True)
    assert [(v["available"], v["in_stock"]) for v in item["variants"]] == [(4, True), (3, True)]
    stored = ChannelProduct.objects.get(product=shop["product"])
    assert '"available"' not in stored.json_head + stored.json_tail + str(stored.json_offers)
    stock.set(channel, first, 0)
    assert shop["item"]()["variants"][0]["in_stock"] is False


def test_rows_a_migration_left_without_stored_json_are_filled_when_migrate_ends(shop):
    """A migration that adds or reshapes the stored pieces leaves `json_head` empty; the
    post_migrate handler refreshes those rows with the service, so the list is whole again."""
    from django.core.management import call_command

    before = shop["item"]()
    ChannelProduct.objects.update(json_head="", json_tail="", json_offers=[])
    call_command("migrate", verbosity=0)
    row = ChannelProduct.objects.get(product=shop["product"])
    assert row.json_head and row.json_tail and len(row.json_offers) == 2
    assert shop["item"]() == before
    assert services.channel_products_fill_unfilled() == 0
