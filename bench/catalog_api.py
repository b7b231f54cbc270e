"""Storefront product list latency on a 50,000-variant catalog against a bare JSON endpoint.

Generates (once; later runs reuse it) 10,000 products x 5 variants listed in three bench
channels with PostgreSQL COPY, then times `GET /api/v1/products/?page_size=50` with a rotation
of filters (category with descendants, brand + price range, price ordering, search, attribute)
and, interleaved in the same process, a bare endpoint: a DRF view with the same Api-Key
authentication, permission and throttle that returns a constant JSON body. Both go through the
full Django stack via the test Client (WSGI request handling, middleware, URL routing).
The plain-Django JsonResponse figure (no DRF, no auth) is printed for reference.

Target: list p50 <= 3x the bare endpoint's p50.
Usage: DATABASE_URL=postgres://.../omni_catalog_bench python bench/catalog_api.py [--quick]
Only rows of its own (SKUs BENCH-*, channels bench-*) are written; other data is untouched.
"""

import argparse
import csv
import io
import os
import random
import secrets
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("API_KEY_RATE", "100000000/min")
os.environ["DEBUG"] = "0"  # no per-query logging, as in production
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

from bench.common import median, percentile, result, setup_django, vacuum_analyze

PRODUCTS = 10_000
VARIANTS_PER_PRODUCT = 5
CHANNELS = [("bench-web", 1.0), ("bench-app", 0.9), ("bench-mkt", 0.8)]
ROOTS = ["apparel", "footwear", "home", "electronics", "beauty", "sports", "toys", "garden"]
BRANDS = [f"Brand{n:02d}" for n in range(25)]
MATERIALS = ["cotton", "linen", "wool", "leather", "steel", "oak", "glass", "silicone"]
WORDS = ["classic", "urban", "alpine", "coastal", "studio", "heritage", "essential", "everyday"]
NOUNS = ["shirt", "boot", "lamp", "charger", "serum", "ball", "kite", "planter", "mug", "jacket"]
SEED = 42


def _copy(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    buffer.seek(0)
    cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)", buffer)


def _analyze() -> None:
    """Fresh planner statistics and visibility map, as autovacuum leaves them after a bulk
    load (index-only scans need the latter)."""
    vacuum_analyze(
        *(
            f"catalog_{table}"
            for table in ("product", "variant", "listing", "category", "channelproduct")
        )
    )


def generate() -> None:
    """Insert the bench catalog with COPY unless it is there already."""
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from catalog.models import Category, ChannelProduct, Product, Variant
    from catalog.services import channel_products_refresh
    from omni.models import Channel

    present = Variant.objects.filter(sku__startswith="BENCH-").count()
    if present >= PRODUCTS * VARIANTS_PER_PRODUCT:
        if not ChannelProduct.objects.filter(product__slug__startswith="bench-").exists():
            channel_products_refresh(
                product_ids=Product.objects.filter(slug__startswith="bench-").values_list(
                    "pk", flat=True
                )
            )
        print("bench catalog present: reusing it", flush=True)
        _analyze()
        return
    started = time.perf_counter()
    rng = random.Random(SEED)
    now = timezone.now().isoformat()
    with transaction.atomic():
        Variant.objects.filter(sku__startswith="BENCH-").delete()
        Product.objects.filter(slug__startswith="bench-").delete()
        channels = []
        for code, _share in CHANNELS:
            channel, _ = Channel.objects.get_or_create(
                code=code, defaults={"name": code, "kind": "web", "currency": "USD"}
            )
            channels.append(channel)
        leaves = []
        for root_slug in ROOTS:
            root, _ = Category.objects.get_or_create(
                slug=f"bench-{root_slug}",
                defaults={"name": root_slug.title(), "path": f"bench-{root_slug}/"},
            )
            for n in range(6):
                slug = f"bench-{root_slug}-{n}"
                leaf, _ = Category.objects.get_or_create(
                    slug=slug,
                    defaults={
                        "name": f"{root_slug} {n}",
                        "parent": root,
                        "path": f"{root.path}{slug}/",
                    },
                )
                leaves.append(leaf)
        cursor = connection.connection.cursor()
        product_rows = []
        for n in range(PRODUCTS):
            name = (
                f"{rng.choice(BRANDS)} {rng.choice(WORDS).title()} {rng.choice(NOUNS).title()} {n}"
            )
            attributes = {
                "material": {"type": "text", "value": rng.choice(MATERIALS)},
                "weight_class": {"type": "number", "value": rng.randint(1, 5)},
            }
            product_rows.append(
                [
                    name,
                    f"bench-{n}",
                    f"A {name.lower()} made of {attributes['material']['value']}.",
                    name.split()[0],
                    rng.choice(leaves).pk,
                    json.dumps(attributes),
                    json.dumps([f"https://img.example.com/bench/{n}.jpg"]),
                    "t",
                    now,
                    now,
                ]
            )
        _copy(
            cursor,
            "catalog_product",
            [
                "name",
                "slug",
                "description",
                "brand",
                "category_id",
                "attributes",
                "images",
                "active",
                "created_at",
                "updated_at",
            ],
            product_rows,
        )
        cursor.execute("SELECT id FROM catalog_product WHERE slug LIKE 'bench-%%' ORDER BY id")
        product_ids = [row[0] for row in cursor.fetchall()]
        sizes = ["XS", "S", "M", "L", "XL"]
        _copy(
            cursor,
            "catalog_variant",
            ["product_id", "sku", "name", "options", "weight_grams", "active", "created_at"],
            (
                [pid, f"BENCH-{pid}-{size}", size, json.dumps({"size": size}), 300, "t", now]
                for pid in product_ids
                for size in sizes
            ),
        )
        cursor.execute(
            "SELECT v.id, v.product_id FROM catalog_variant v WHERE v.sku LIKE 'BENCH-%%'"
        )
        variants = cursor.fetchall()
        base_price = {pid: rng.randint(500, 20000) for pid in product_ids}
        listing_rows = []
        for channel, (_code, share) in zip(channels, CHANNELS, strict=True):
            for vid, pid in variants:
                if rng.random() > share:
                    continue
                cents = base_price[pid] + rng.randint(0, 300)
                listing_rows.append([vid, channel.pk, "t", f"{cents / 100:.2f}", "", "USD", now])
        _copy(
            cursor,
            "catalog_listing",
            [
                "variant_id",
                "channel_id",
                "published",
                "price",
                "compare_at_price",
                "currency",
                "updated_at",
            ],
            listing_rows,
        )
        # COPY bypassed the services: derive the storefront's per-channel product rows.
        channel_products_refresh(product_ids=product_ids)
    _analyze()
    print(
        f"generated {len(product_ids)} products, {len(variants)} variants, "
        f"{len(listing_rows)} listings in {time.perf_counter() - started:.1f}s",
        flush=True,
    )


def build_urls():
    """The project's URLs plus the two baselines, as a module the test Client can route."""
    import types

    from django.http import JsonResponse
    from django.urls import include, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from omni.permissions import IsChannelOrStaff

    class BareView(APIView):
        permission_classes = [IsChannelOrStaff]
        required_scope = "catalog"

        def get(self, request):
            return Response({"ok": True, "channel": request.user.channel.code})

    def plain_view(request):
        return JsonResponse({"ok": True})

    module = types.ModuleType("bench_catalog_urls")
    module.urlpatterns = [
        path("bench/bare/", BareView.as_view()),
        path("bench/plain/", plain_view),
        path("", include("omni.urls")),
    ]
    sys.modules[module.__name__] = module
    return module.__name__


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests (under a minute)")
    args = parser.parse_args()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    generate()

    from django.conf import settings
    from django.test import Client

    from catalog.models import Category
    from omni.models import Channel
    from omni.services import api_key_create

    settings.ROOT_URLCONF = build_urls()
    channel = Channel.objects.get(code="bench-web")
    _, secret = api_key_create(channel=channel, name="bench", scopes=["catalog"])
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    root = Category.objects.get(slug="bench-home")
    leaf = Category.objects.get(slug="bench-apparel-2")
    scenarios = [
        {},
        {"category": root.slug},
        {"brand": "Brand07", "price_min": "20", "price_max": "80"},
        {"category": leaf.slug, "ordering": "price"},
        {"search": "alpine"},
        {"attr": "material:linen", "ordering": "newest"},
    ]
    rounds = 8 if args.quick else 50
    for _ in range(3):  # warm-up: connections, caches, query plans
        client.get("/bench/bare/")
        for params in scenarios:
            client.get("/api/v1/products/", {"page_size": 50, **params})

    cpu: dict[str, list[float]] = {"list": [], "bare": [], "plain": []}

    def timed(url, params=None, kind="list") -> float:
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, params or {})
        elapsed = (time.perf_counter() - start) * 1000
        cpu[kind].append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 200, response.content[:300]
        return elapsed

    lists: dict[int, list[float]] = {i: [] for i in range(len(scenarios))}
    bare, plain = [], []
    for _ in range(rounds):
        for index, params in enumerate(scenarios):
            bare.append(timed("/bench/bare/", kind="bare"))
            plain.append(timed("/bench/plain/", kind="plain"))
            lists[index].append(timed("/api/v1/products/", {"page_size": 50, **params}))
    every = [value for values in lists.values() for value in values]
    sample = client.get("/api/v1/products/", {"page_size": 50}).json()
    print(
        f"catalog: {sample['count']} products visible in bench-web; page of "
        f"{len(sample['results'])} with {sum(len(p['variants']) for p in sample['results'])} "
        "variants",
    )
    print(f"requests: {len(every)} list, {len(bare)} bare, {len(plain)} plain (interleaved)")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average {load} (shared; figures vary with it)")
    for index, params in enumerate(scenarios):
        values = lists[index]
        label = "&".join(f"{k}={v}" for k, v in params.items()) or "(no filter)"
        print(
            f"  list {label:<45} p50 {median(values):7.2f} ms  p95 {percentile(values, 95):7.2f} ms"
        )
    list_p50, list_p95 = median(every), percentile(every, 95)
    bare_p50, bare_p95 = median(bare), percentile(bare, 95)
    plain_p50 = median(plain)
    print(f"list (all filters)      p50 {list_p50:7.2f} ms  p95 {list_p95:7.2f} ms")
    print(f"bare DRF + Api-Key      p50 {bare_p50:7.2f} ms  p95 {bare_p95:7.2f} ms  (baseline)")
    print(
        f"plain JsonResponse      p50 {plain_p50:7.2f} ms  p95 {percentile(plain, 95):7.2f} ms"
        f"  (reference: list p50 is {list_p50 / plain_p50:.1f}x this)"
    )
    cpu_list, cpu_bare = median(cpu["list"]), median(cpu["bare"])
    print(
        "process CPU per request (less sensitive to machine load): "
        f"list p50 {cpu_list:.2f} ms, bare p50 {cpu_bare:.2f} ms, "
        f"plain p50 {median(cpu['plain']):.2f} ms; list/bare {cpu_list / cpu_bare:.2f}"
    )
    ratio = list_p50 / bare_p50
    print(f"list p50 / bare p50 = {ratio:.2f} (p95 ratio {list_p95 / bare_p95:.2f})")
    print(f"BASELINE catalog_api_list_p50_vs_bare {list_p50:.2f} {bare_p50:.2f} ms")
    result("catalog_api_list_p50_vs_bare", ratio, "<=3.0x", ratio <= 3.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
