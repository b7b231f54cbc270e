"""Demo catalog: big enough, listed in the demo channels with channel-specific prices and
gaps, deterministic and idempotent."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count

from catalog.demo import build_specs
from catalog.models import Listing, Product, Variant
from catalog.validation import clean_barcode
from omni.models import Channel

pytestmark = pytest.mark.django_db


def test_demo_catalog_is_large_listed_and_idempotent(key_client):
    call_command("load_demo_data", stdout=io.StringIO())
    products, variants, listings = (
        Product.objects.count(),
        Variant.objects.count(),
        Listing.objects.count(),
    )
    assert products >= 300 and variants >= 1500
    assert Product.objects.values("category__path").distinct().count() >= 20
    assert set(Listing.objects.values_list("currency", flat=True)) == {"USD"}

    # Channel-specific prices: some variant costs differently in two channels.
    prices = Listing.objects.values("variant_id").annotate(n=Count("price", distinct=True))
    assert prices.filter(n__gt=1).exists()
    # Some product is listed in six channels but not in the seventh.
    per_product = Listing.objects.values("variant__product_id").annotate(
        n=Count("channel", distinct=True)
    )
    assert per_product.filter(n=6).exists() and per_product.filter(n=7).exists()
    assert Listing.objects.filter(published=False).exists()
    assert Listing.objects.filter(compare_at_price__isnull=False).exists()

    # The storefront shows the demo: a product missing from the marketplace is 404 there.
    unlisted = per_product.filter(n=6).values_list("variant__product_id", flat=True)[0]
    missing = Channel.objects.exclude(listings__variant__product_id=unlisted).get()
    web = Channel.objects.get(code="web")
    assert key_client(missing).get(f"/api/v1/products/{unlisted}/").status_code == 404
    body = key_client(web).get("/api/v1/products/", {"page_size": 5}).json()
    assert body["count"] >= 250 and len(body["results"]) == 5

    call_command("load_demo_data", stdout=io.StringIO())
    assert (Product.objects.count(), Variant.objects.count(), Listing.objects.count()) == (
        products,
        variants,
        listings,
    )


def test_demo_specs_are_deterministic_and_valid():
    first, second = build_specs(), build_specs()
    assert [(p.slug, [v.sku for v in p.variants]) for p in first] == [
        (p.slug, [v.sku for v in p.variants]) for p in second
    ]
    skus = [v.sku for p in first for v in p.variants]
    barcodes = [v.barcode for p in first for v in p.variants]
    assert len(skus) == len(set(skus)) and len(barcodes) == len(set(barcodes))
    assert all(clean_barcode(code) == code for code in barcodes)
