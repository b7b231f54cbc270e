"""Catalog admin: inline variants, bulk publish/unpublish to a channel, the previewed price
change, CSV upload with its rejected-rows report, and CSV export."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Category, Listing, Product, Variant
from tests.catalog.factories import (
    CategoryFactory,
    ListingFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def test_product_change_page_shows_inline_variants(admin_client):
    product = ProductFactory()
    VariantFactory(product=product, sku="INLINE-1")
    response = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert response.status_code == 200
    assert b"INLINE-1" in response.content


def test_add_product_with_variants_through_the_admin(admin_client):
    category = CategoryFactory()
    data = {
        "name": "Canvas Tote",
        "slug": "canvas-tote",
        "brand": "Acme",
        "category": category.pk,
        "description": "",
        "attributes": '{"material": "canvas"}',
        "images": "[]",
        "active": "on",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "0",
        "variants-MAX_NUM_FORMS": "1000",
        "variants-0-sku": "TOTE-N",
        "variants-0-options": '{"colour": "natural"}',
        "variants-0-active": "on",
        "variants-1-sku": "TOTE-B",
        "variants-1-barcode": "4006381333932",  # wrong check digit
        "variants-1-options": "{}",
        "variants-1-active": "on",
    }
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 200  # redisplayed with the error
    assert b"check digit" in response.content
    assert not Product.objects.exists()
    data["variants-1-barcode"] = "4006381333931"
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 302
    product = Product.objects.get(slug="canvas-tote")
    assert product.attributes == {"material": {"type": "text", "value": "canvas"}}
    assert set(product.variants.values_list("sku", flat=True)) == {"TOTE-N", "TOTE-B"}


def test_bulk_publish_and_unpublish_to_a_channel(admin_client, make_channel):
    web, app = make_channel("web"), make_channel("app")
    product = ProductFactory()
    listing = ListingFactory(variant=VariantFactory(product=product), channel=web, published=False)
    other = ListingFactory(variant=listing.variant, channel=app, published=False)
    url = reverse("admin:catalog_product_changelist")
    payload = {"action": "publish_to_channel", "_selected_action": [product.pk], "index": 0,
               "confirm_action": "yes"}  # fmt: skip
    response = admin_client.post(url, {**payload, "channel": web.pk}, follow=True)
    assert b"Published 1 listings in web" in response.content
    listing.refresh_from_db(), other.refresh_from_db()
    assert (listing.published, other.published) == (True, False)
    payload["action"] = "unpublish_from_channel"
    admin_client.post(url, {**payload, "channel": web.pk})
    listing.refresh_from_db()
    assert listing.published is False


def test_bulk_publish_without_channel_changes_nothing(admin_client, channel):
    listing = ListingFactory(channel=channel, published=False)
    url = reverse("admin:catalog_product_changelist")
    response = admin_client.post(
        url,
        {
            "action": "publish_to_channel",
            "_selected_action": [listing.variant.product_id],
            "confirm_action": "yes",
        },
        follow=True,
    )
    assert b"Choose a channel" in response.content
    listing.refresh_from_db()
    assert listing.published is False


def test_price_change_previews_before_applying(admin_client, make_channel):
    web, app = make_channel("web"), make_channel("app")
    variant = VariantFactory(sku="PC-1")
    on_web = ListingFactory(variant=variant, channel=web, price=Decimal("10.00"))
    on_app = ListingFactory(variant=variant, channel=app, price=Decimal("10.00"))
    url = reverse("admin:catalog_listing_price_change")
    assert admin_client.get(url).status_code == 200

    response = admin_client.post(url, {"channel": web.pk, "percent": "15", "preview": "1"})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(c.sku, c.new_price) for c in preview.changes] == [("PC-1", Decimal("11.50"))]
    assert b"11.50" in response.content
    on_web.refresh_from_db()
    assert on_web.price == Decimal("10.00")  # preview only

    response = admin_client.post(
        url, {"channel": web.pk, "percent": "15", "token": preview.token, "apply": "1"}
    )
    assert response.status_code == 302
    on_web.refresh_from_db(), on_app.refresh_from_db()
    assert (on_web.price, on_app.price) == (Decimal("11.50"), Decimal("10.00"))


def test_price_change_with_changed_percent_is_refused_and_re_previewed(admin_client, channel):
    listing = ListingFactory(channel=channel, price=Decimal("10.00"))
    url = reverse("admin:catalog_listing_price_change")
    token = (
        admin_client.post(url, {"channel": channel.pk, "percent": "10"}).context["preview"].token
    )
    response = admin_client.post(
        url, {"channel": channel.pk, "percent": "50", "token": token, "apply": "1"}
    )
    assert response.status_code == 200
    assert b"Prices changed since the preview" in response.content
    listing.refresh_from_db()
    assert listing.price == Decimal("10.00")


def test_price_change_needs_a_scope_and_change_permission(admin_client, client, django_user_model):
    url = reverse("admin:catalog_listing_price_change")
    response = admin_client.post(url, {"percent": "10"})
    assert b"Choose a channel, a category or both" in response.content
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)
    assert client.get(url).status_code == 403


def test_csv_upload_imports_good_rows_and_lists_rejected(admin_client, channel):
    content = (
        b"product_slug,product_name,sku,web.price\n"
        b"mug,Mug,MUG-1,5.00\n"
        b"mug,Mug,MUG-2,5.001\n"
        b"mug,Mug,MUG-3,6.00\n"
    )
    response = admin_client.post(
        reverse("admin:catalog_product_import"),
        {"file": SimpleUploadedFile("c.csv", content, content_type="text/csv")},
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert [(r.line, r.sku) for r in report.rejected] == [(3, "MUG-2")]
    assert b"rejected-rows" in response.content
    assert set(Variant.objects.values_list("sku", flat=True)) == {"MUG-1", "MUG-3"}


def test_csv_upload_with_bad_header_shows_the_error(admin_client, channel):
    response = admin_client.post(
        reverse("admin:catalog_product_import"),
        {"file": SimpleUploadedFile("c.csv", b"colour\nred\n", content_type="text/csv")},
    )
    assert b"File rejected" in response.content
    assert not Variant.objects.exists()


def test_export_view_and_action_return_csv(admin_client, channel):
    listing = ListingFactory(channel=channel, variant=VariantFactory(sku="EXP-1"))
    ListingFactory(channel=channel, variant=VariantFactory(sku="EXP-2"))
    response = admin_client.get(reverse("admin:catalog_product_export"))
    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode()
    assert "EXP-1" in body and "EXP-2" in body
    response = admin_client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "export_selected", "_selected_action": [listing.variant.product_id]},
    )
    body = response.content.decode()
    assert "EXP-1" in body and "EXP-2" not in body


def test_listing_admin_refuses_excess_precision(admin_client, make_channel):
    jp = make_channel("jp", currency="JPY")
    variant = VariantFactory()
    response = admin_client.post(
        reverse("admin:catalog_listing_add"),
        {"variant": variant.pk, "channel": jp.pk, "price": "100.50", "published": "on"},
    )
    assert response.status_code == 200
    assert b"decimal places" in response.content
    response = admin_client.post(
        reverse("admin:catalog_listing_add"),
        {"variant": variant.pk, "channel": jp.pk, "price": "100", "published": "on"},
    )
    assert response.status_code == 302
    assert Listing.objects.get().currency == "JPY"


def test_category_admin_maintains_paths(admin_client):
    root = CategoryFactory(slug="home", name="Home")
    response = admin_client.post(
        reverse("admin:catalog_category_add"),
        {"name": "Kitchen", "slug": "kitchen", "parent": root.pk},
    )
    assert response.status_code == 302
    assert Category.objects.get(slug="kitchen").path == "home/kitchen/"


@pytest.mark.parametrize("model", ["category", "product", "variant", "listing"])
def test_admin_pages_render(admin_client, channel, model):
    listing = ListingFactory(channel=channel)
    objects = {
        "category": listing.variant.product.category,
        "product": listing.variant.product,
        "variant": listing.variant,
        "listing": listing,
    }
    assert admin_client.get(reverse(f"admin:catalog_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:catalog_{model}_add")).status_code == 200
    change = reverse(f"admin:catalog_{model}_change", args=[objects[model].pk])
    assert admin_client.get(change).status_code == 200
