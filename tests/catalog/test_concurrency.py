"""Concurrent listing writes on PostgreSQL: overlapping bulk upserts neither fail on the
unique (variant, channel) key nor deadlock, and the derived storefront rows stay exact."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from catalog import services
from catalog.models import ChannelProduct, Listing, Variant
from tests.catalog.factories import ProductFactory, VariantFactory
from tests.omni.factories import ChannelFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SKUS = 400  # long enough INSERTs that the two threads' statements overlap in the database


def run_in_threads(*targets) -> list[BaseException]:
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrap(target):
        def run():
            try:
                barrier.wait(timeout=10)
                target()
            except BaseException as exc:  # collected and asserted on by the test
                errors.append(exc)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_overlapping_bulk_upserts_all_succeed_with_one_listing_per_sku():
    # Each round lists the same new SKUs in a fresh channel from two threads, in opposite
    # orders: inserted in request order they would deadlock on each other's new rows.
    channels = [ChannelFactory(code=f"round-{n}") for n in range(6)]
    product = ProductFactory()
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"C-{n:03d}") for n in range(SKUS)
    )
    skus = [variant.sku for variant in variants]
    rounds = threading.Barrier(2)

    def upsert(order, price):
        def run():
            for channel in channels:
                rounds.wait(timeout=30)
                services.listings_bulk_upsert(
                    channel=channel, rows=[{"sku": sku, "price": price} for sku in order]
                )

        return run

    errors = run_in_threads(upsert(skus, "5.00"), upsert(list(reversed(skus)), "7.00"))
    assert errors == []
    for channel in channels:
        assert Listing.objects.filter(channel=channel).count() == SKUS
        prices = set(Listing.objects.filter(channel=channel).values_list("price", flat=True))
        assert prices <= {Decimal("5.00"), Decimal("7.00")}
        row = ChannelProduct.objects.get(channel=channel, product=product)
        assert (row.price_from, row.price_to, row.variant_count) == (
            min(prices),
            max(prices),
            SKUS,
        )


def test_concurrent_upserts_of_one_listing_leave_one_row():
    channel = ChannelFactory(code="app")
    variant = VariantFactory()

    def upsert(price):
        return lambda: services.listing_upsert(variant=variant, channel=channel, price=price)

    errors = run_in_threads(*(upsert(f"{n}.00") for n in range(1, 5)))
    assert errors == []
    assert Listing.objects.filter(variant=variant, channel=channel).count() == 1
    listing = Listing.objects.get(variant=variant, channel=channel)
    row = ChannelProduct.objects.get(channel=channel, product=variant.product)
    assert row.price_from == listing.price


def test_concurrent_writes_to_sibling_variants_keep_one_derived_row():
    # Different listings, same product: only the product lock in channel_products_refresh
    # keeps the two refreshes from both inserting the product's (channel, product) row.
    channel = ChannelFactory(code="social")
    product = ProductFactory()
    variants = [VariantFactory(product=product) for _ in range(6)]

    def upsert(variant, price):
        def run():
            for _ in range(5):
                services.listing_upsert(variant=variant, channel=channel, price=price)

        return run

    errors = run_in_threads(*(upsert(v, f"{n + 1}.00") for n, v in enumerate(variants)))
    assert errors == []
    row = ChannelProduct.objects.get(channel=channel, product=product)
    assert (row.price_from, row.price_to, row.variant_count) == (
        Decimal("1.00"),
        Decimal("6.00"),
        6,
    )
