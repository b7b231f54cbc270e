"""Quote throughput: a 10-line basket against 200 active promotions, against a baseline that
only loads the same basket's listing prices (one query), both measured in the same run.

The promotions are a store's mix: all 200 live in the channel; 1 in 20 is sitewide, the rest
target two of 20 categories, one of 20 brands or three of 200 SKUs; a sixth each are catalogue
percent, catalogue amount, spend threshold, buy 2 get 1, bundle and free shipping rules.

Usage: DATABASE_URL=postgres://.../omni_promotions_bench [CACHE_URL=redis://...] \
       python bench/quote.py [--quick]
The script migrates the database and creates its own channel, catalogue and promotions (kept
between runs). Target: quotes/s at least half of the baseline's loads/s.
"""

import argparse
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import result, setup_django

TARGET = 0.5
PROMOTIONS = 200
LINES = 10
CATALOGUE = 200
PREFIX = "bench-quote"


def build():
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from catalog.models import Category, Listing, Product, Variant
    from omni.models import Channel
    from promotions.models import DiscountType, Promotion, PromotionKind
    from promotions.services import promotion_save

    channel, _ = Channel.objects.get_or_create(
        code=PREFIX, defaults={"name": "Bench quote", "kind": "web", "currency": "USD"}
    )
    categories = []
    for i in range(20):
        category, _ = Category.objects.get_or_create(
            slug=f"{PREFIX}-cat-{i}", defaults={"name": f"Bench cat {i}", "path": f"bq{i}/"}
        )
        categories.append(category)
    # A catalogue of 200 products in 20 categories and 20 brands; the basket takes 10 of them.
    variants = []
    for i in range(CATALOGUE):
        product, _ = Product.objects.get_or_create(
            slug=f"{PREFIX}-p{i}",
            defaults={
                "name": f"Bench product {i}",
                "brand": f"Brand{i % 20}",
                "category": categories[i % len(categories)],
            },
        )
        variant, _ = Variant.objects.get_or_create(sku=f"BQ-{i:03d}", defaults={"product": product})
        Listing.objects.get_or_create(
            variant=variant,
            channel=channel,
            defaults={"price": Decimal("10.00") + (i % 30) * Decimal("3.33"), "currency": "USD"},
        )
        variants.append(variant)
    marker = f"{PREFIX} v2"
    if Promotion.objects.filter(name__startswith=marker).count() != PROMOTIONS:
        Promotion.objects.filter(name__startswith=PREFIX).delete()
        rng = random.Random(7)
        kinds = [
            (PromotionKind.CATALOGUE, DiscountType.PERCENT),
            (PromotionKind.CATALOGUE, DiscountType.AMOUNT),
            (PromotionKind.SPEND_THRESHOLD, DiscountType.PERCENT),
            (PromotionKind.BUY_X_GET_Y, DiscountType.PERCENT),
            (PromotionKind.BUNDLE, DiscountType.PERCENT),
            (PromotionKind.FREE_SHIPPING, DiscountType.PERCENT),
        ]
        for n in range(PROMOTIONS):
            kind, discount_type = kinds[n % len(kinds)]
            fields = {
                "name": f"{marker} {n}",
                "kind": kind,
                "discount_type": discount_type,
                "value": Decimal(rng.choice([1, 2, 5, 10])),
                "priority": rng.randint(0, 20),
                "exclusive": n % 17 == 0,
                "min_spend": Decimal(rng.choice([0, 20, 50])),
                "buy_quantity": 2,
                "get_quantity": 1,
                "bundle_quantity": 3,
                "bundle_price": Decimal("25"),
                "customer_tiers": ["gold"] if n % 11 == 0 else [],
            }
            relations = {}
            # One in twenty is sitewide; the others target categories, brands or SKUs.
            if n % 20 != 0:
                target = n % 3
                if target == 0:
                    fields["brands"] = [f"Brand{rng.randrange(20)}"]
                elif target == 1:
                    relations["categories"] = rng.sample(categories, 2)
                else:
                    relations["variants"] = rng.sample(variants, 3)
            promotion_save(fields=fields, **relations)
    return channel, variants[:LINES]


def interleaved(fns, seconds: float, slice_seconds: float = 0.25) -> list[float]:
    """Calls per second of each function, run in alternating short slices for `seconds` each,
    so load from other work on a shared machine falls on all of them alike."""
    counts = [0] * len(fns)
    spent = [0.0] * len(fns)
    while min(spent) < seconds:
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            while time.perf_counter() - started < slice_seconds:
                fn()
                counts[i] += 1
            spent[i] += time.perf_counter() - started
    return [c / s for c, s in zip(counts, spent, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    from promotions.pricing import QuoteLineInput, listing_prices, quote
    from promotions.rules import channel_rules

    channel, variants = build()
    ids = [v.pk for v in variants]
    lines = [QuoteLineInput(v.pk, 1 + i % 3) for i, v in enumerate(variants)]
    from django.utils import timezone

    live = channel_rules(channel=channel, at=timezone.now())
    sample = quote(channel=channel, lines=lines)
    print(f"cache backend: {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")
    print(f"promotions in the channel snapshot: {len(live)}; basket lines: {len(lines)}")
    print(
        f"sample quote: subtotal {sample.subtotal} discount {sample.discount_total} "
        f"total {sample.total}, {len(sample.promotions)} promotions applied"
    )
    seconds = 8.0 if args.quick else 30.0
    baseline, quoting = interleaved(
        [
            lambda: listing_prices(channel=channel, variant_ids=ids),
            lambda: quote(channel=channel, lines=lines),
        ],
        seconds,
    )
    ratio = quoting / baseline
    print(f"baseline (listing prices only): {baseline:.0f} loads/s over {seconds:.0f} s")
    print(f"quote (200 promotions):         {quoting:.0f} quotes/s over {seconds:.0f} s")
    print(f"ratio quote/baseline: {ratio:.2f} (target >= {TARGET})")
    print(f"BASELINE quote_vs_listing_load {quoting:.1f} {baseline:.1f} ops/s")
    result("quote_vs_listing_load", ratio, f">={TARGET}", ratio >= TARGET)


if __name__ == "__main__":
    main()
