"""Staff catalog API: who may write, creating and updating products, variants and listings,
and the all-or-nothing bulk upsert of listings by SKU."""

from decimal import Decimal

import pytest

from catalog.models import Listing, Product, Variant
from tests.catalog.factories import (
    CategoryFactory,
    ListingFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/catalog/products/"
VARIANTS = "/api/v1/catalog/variants/"
LISTINGS = "/api/v1/catalog/listings/"
BULK = "/api/v1/catalog/listings/bulk-upsert/"


# --- permissions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "payload"),
    [
        (PRODUCTS, {"name": "Tee"}),
        (VARIANTS, {"sku": "X-1"}),
        (LISTINGS, {"sku": "X-1", "channel": "web", "price": "1.00"}),
        (BULK, {"channel": "web", "rows": [{"sku": "X-1", "price": "1.00"}]}),
    ],
)
def test_channel_keys_cannot_write_the_catalog(channel, key_client, url, payload):
    response = key_client(channel).post(url, payload, format="json")
    assert response.status_code == 403
    assert not Product.objects.exists() and not Listing.objects.exists()


def test_anonymous_is_401(api_client, db):
    assert api_client.post(PRODUCTS, {"name": "Tee"}, format="json").status_code == 401


def test_staff_without_model_permission_is_403(staff_client):
    client = staff_client()
    assert client.post(PRODUCTS, {"name": "Tee"}, format="json").status_code == 403
    assert client.get(PRODUCTS).status_code == 403
    # view permission lets them read but not write
    viewer = staff_client("view_product")
    assert viewer.get(PRODUCTS).status_code == 200
    assert viewer.post(PRODUCTS, {"name": "Tee"}, format="json").status_code == 403
    assert not Product.objects.exists()


def test_bulk_upsert_needs_add_and_change_listing(channel, staff_client):
    VariantFactory(sku="X-1")
    payload = {"channel": "web", "rows": [{"sku": "X-1", "price": "1.00"}]}
    assert staff_client("add_listing").post(BULK, payload, format="json").status_code == 403
    ok = staff_client("add_listing", "change_listing").post(BULK, payload, format="json")
    assert ok.status_code == 200
    assert Listing.objects.get().price == Decimal("1.00")


# --- products and variants ----------------------------------------------------------------


def test_create_and_update_a_product(staff_client):
    category = CategoryFactory()
    client = staff_client("add_product", "change_product", "view_product")
    response = client.post(
        PRODUCTS,
        {
            "name": "Linen Shirt",
            "brand": "Acme",
            "category": category.pk,
            "attributes": {"material": "linen"},
            "images": ["https://img.example.com/a.jpg"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "linen-shirt"
    assert body["attributes"] == {"material": {"type": "text", "value": "linen"}}
    response = client.patch(f"{PRODUCTS}{body['id']}/", {"active": False}, format="json")
    assert response.status_code == 200
    assert Product.objects.get(pk=body["id"]).active is False


def test_product_validation_errors_name_the_field(staff_client):
    client = staff_client("add_product")
    response = client.post(PRODUCTS, {"name": "X", "attributes": {"Bad Key": 1}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "attributes.Bad Key"
    ProductFactory(slug="taken")
    response = client.post(PRODUCTS, {"name": "X", "slug": "taken"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0] == {
        "field": "slug",
        "code": "duplicate_slug",
        "message": "Slug 'taken' is taken.",
    }


def test_create_variant_and_duplicate_sku_is_409(staff_client):
    product = ProductFactory()
    client = staff_client("add_variant", "change_variant")
    payload = {"product": product.pk, "sku": "TEE-S", "options": {"size": "S"}, "barcode": ""}
    response = client.post(VARIANTS, payload, format="json")
    assert response.status_code == 201, response.content
    assert Variant.objects.get(sku="TEE-S").barcode is None
    again = client.post(VARIANTS, payload, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "sku"
    response = client.patch(
        f"{VARIANTS}{response.json()['id']}/", {"weight_grams": 200}, format="json"
    )
    assert response.status_code == 200
    assert Variant.objects.get(sku="TEE-S").weight_grams == 200


# --- listings -----------------------------------------------------------------------------


def test_create_listing_by_sku_then_replace_it(channel, staff_client):
    VariantFactory(sku="TEE-S")
    client = staff_client("add_listing", "change_listing")
    payload = {"sku": "TEE-S", "channel": "web", "price": "12.5"}
    first = client.post(LISTINGS, payload, format="json")
    assert first.status_code == 201, first.content
    assert first.json()["price"] == "12.50" and first.json()["currency"] == "USD"
    second = client.post(LISTINGS, {**payload, "price": "13.00"}, format="json")
    assert second.status_code == 200
    assert Listing.objects.get().price == Decimal("13.00")


def test_listing_currency_and_precision_are_validated(make_channel, staff_client):
    make_channel("jp", currency="JPY")
    VariantFactory(sku="TEE-S")
    client = staff_client("add_listing", "change_listing")
    wrong = client.post(
        LISTINGS,
        {"sku": "TEE-S", "channel": "jp", "price": "100", "currency": "USD"},
        format="json",
    )
    assert wrong.status_code == 400
    assert wrong.json()["errors"][0]["field"] == "currency"
    assert wrong.json()["code"] == "currency_mismatch"
    precise = client.post(
        LISTINGS, {"sku": "TEE-S", "channel": "jp", "price": "100.5"}, format="json"
    )
    assert precise.status_code == 400
    assert precise.json()["errors"][0]["field"] == "price"
    assert precise.json()["code"] == "price_precision"
    assert not Listing.objects.exists()


def test_patch_listing_keeps_rules(channel, staff_client):
    listing = ListingFactory(channel=channel, price=Decimal("10.00"))
    client = staff_client("change_listing")
    response = client.patch(f"{LISTINGS}{listing.pk}/", {"compare_at_price": "9.00"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "compare_at_price"
    response = client.patch(f"{LISTINGS}{listing.pk}/", {"published": False}, format="json")
    assert response.status_code == 200
    listing.refresh_from_db()
    assert listing.published is False


# --- bulk upsert --------------------------------------------------------------------------


def test_bulk_upsert_creates_and_updates(channel, staff_client):
    existing = ListingFactory(
        variant=VariantFactory(sku="B-1"), channel=channel, price=Decimal("1.00"), published=False
    )
    VariantFactory(sku="B-2")
    client = staff_client("add_listing", "change_listing")
    response = client.post(
        BULK,
        {
            "channel": "web",
            "rows": [
                {"sku": "B-1", "price": "2.00"},
                {"sku": "B-2", "price": 3.1, "compare_at_price": "4.00"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 1, "updated": 1, "skus": ["B-1", "B-2"]}
    existing.refresh_from_db()
    assert (existing.price, existing.published) == (Decimal("2.00"), False)
    new = Listing.objects.get(variant__sku="B-2")
    assert (new.price, new.compare_at_price, new.published) == (
        Decimal("3.10"),
        Decimal("4.00"),
        True,
    )


def test_bulk_upsert_is_all_or_nothing_and_reports_every_bad_row(channel, staff_client):
    VariantFactory(sku="B-1")
    VariantFactory(sku="B-2")
    client = staff_client("add_listing", "change_listing")
    response = client.post(
        BULK,
        {
            "channel": "web",
            "rows": [
                {"sku": "B-1", "price": "2.00"},
                {"sku": "NOPE", "price": "2.00"},
                {"sku": "B-2", "price": "2.001"},
                {"sku": "B-1", "price": "3.00"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_rows"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("rows.1.sku", "unknown_sku"),
        ("rows.2.price", "price_precision"),
        ("rows.3.sku", "duplicate_row"),
    ]
    assert not Listing.objects.exists()


def test_bulk_upsert_refuses_another_currency(make_channel, staff_client):
    make_channel("eu", currency="EUR")
    VariantFactory(sku="B-1")
    client = staff_client("add_listing", "change_listing")
    response = client.post(
        BULK,
        {"channel": "eu", "rows": [{"sku": "B-1", "price": "2.00", "currency": "USD"}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "rows.0.currency"
    assert not Listing.objects.exists()


def test_categories_are_created_and_moved_with_their_paths(staff_client):
    client = staff_client("add_category", "change_category", "view_category")
    root = client.post("/api/v1/catalog/categories/", {"name": "Home"}, format="json").json()
    child = client.post(
        "/api/v1/catalog/categories/", {"name": "Kitchen", "parent": root["id"]}, format="json"
    ).json()
    assert child["path"] == "home/kitchen/"
    other = client.post("/api/v1/catalog/categories/", {"name": "Sale"}, format="json").json()
    moved = client.patch(
        f"/api/v1/catalog/categories/{child['id']}/", {"parent": other["id"]}, format="json"
    )
    assert moved.status_code == 200
    assert moved.json()["path"] == "sale/kitchen/"
    cycle = client.patch(
        f"/api/v1/catalog/categories/{other['id']}/", {"parent": child["id"]}, format="json"
    )
    assert cycle.status_code == 400
    assert cycle.json()["errors"][0] == {
        "field": "parent",
        "code": "category_cycle",
        "message": "A category cannot move under itself or its descendants.",
    }


def test_out_of_range_ids_are_4xx_not_database_errors(admin_client_api, channel):
    assert admin_client_api.get(f"{PRODUCTS}{2**64}/").status_code == 404
    response = admin_client_api.post(
        LISTINGS, {"variant": 2**64, "channel": "web", "price": "1.00"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "variant"
    response = admin_client_api.post(VARIANTS, {"product": 2**64, "sku": "HUGE-1"}, format="json")
    assert response.status_code == 400
