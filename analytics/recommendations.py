"""Recommendations: "bought together" from order co-occurrence, and per-customer suggestions
from their purchases across every channel.

Affinity of products A and B is their cosine similarity over orders,
`orders with both / sqrt(orders with A x orders with B)`, kept when at least `MIN_TOGETHER`
orders hold both; each product keeps its `TOP_RELATED` best. A customer's suggestions sum the
affinities of the products they bought, leaving out what they already have; customers whose
products have no affinities get the period's best sellers they do not own.
"""

import math
from collections import defaultdict
from collections.abc import Collection
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone

from analytics.locks import rollup_lock_for_update
from analytics.models import CustomerSuggestion, OrderLineFact, ProductAffinity, VariantLocationDay
from catalog.models import Listing, Product

MIN_TOGETHER = 2
TOP_RELATED = 10
TOP_SUGGESTIONS = 10
# Kept per customer: more than are shown, so a channel that publishes only part of the catalog
# still fills its list from the products it sells.
STORED_SUGGESTIONS = 30
CUSTOMER_CHUNK = 2000
POPULAR_DAYS = 90


def _pair_counts() -> tuple[dict[int, int], list[tuple[int, int, int]]]:
    table = connection.ops.quote_name(OrderLineFact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT product_id, COUNT(DISTINCT order_id) FROM {table} "
            "WHERE NOT cancelled GROUP BY product_id"
        )
        singles = dict(cursor.fetchall())
        cursor.execute(
            f"""
            WITH op AS (SELECT DISTINCT order_id, product_id FROM {table} WHERE NOT cancelled)
            SELECT a.product_id, b.product_id, COUNT(*)
            FROM op a JOIN op b ON a.order_id = b.order_id AND a.product_id <> b.product_id
            GROUP BY a.product_id, b.product_id
            HAVING COUNT(*) >= %s
            """,
            [MIN_TOGETHER],
        )
        pairs = cursor.fetchall()
    return singles, pairs


def affinities_rebuild() -> int:
    """Recompute every product's "bought together" list. Returns the number of pairs kept."""
    singles, pairs = _pair_counts()
    by_product: dict[int, list[tuple[float, int, int]]] = defaultdict(list)
    for a, b, together in pairs:
        score = together / math.sqrt(singles[a] * singles[b])
        by_product[a].append((score, b, together))
    rows = []
    for product_id, related in by_product.items():
        related.sort(key=lambda r: (-r[0], r[1]))
        rows.extend(
            ProductAffinity(
                product_id=product_id, related_id=b, orders_together=together, score=round(score, 6)
            )
            for score, b, together in related[:TOP_RELATED]
        )
    ProductAffinity.objects.all().delete()
    ProductAffinity.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _popular() -> list[tuple[int, int]]:
    """The period's best sellers as (product id, units), best first (one query)."""
    since = timezone.localdate() - timedelta(days=POPULAR_DAYS)
    return list(
        VariantLocationDay.objects.filter(day__gte=since)
        .values("product_id")
        .annotate(n=Sum("units"))
        .order_by("-n", "product_id")
        .values_list("product_id", "n")[: STORED_SUGGESTIONS * 2]
    )


def suggestions_rank(
    products: set[int],
    related: dict[int, list[tuple[int, float]]],
    popular: list[tuple[int, int]],
    *,
    limit: int = STORED_SUGGESTIONS,
) -> list[tuple[int, float]]:
    """One customer's suggestions as (product id, score), best first: the sum of the
    affinities of what they bought, never a product they have; best sellers fill a short list,
    always below any affinity-based score. Ties go to the lower product id."""
    scores: dict[int, float] = defaultdict(float)
    for product_id in products:
        for related_id, score in related.get(product_id, ()):
            if related_id not in products:
                scores[related_id] += score
    if len(scores) < limit and popular:
        top_units = popular[0][1] or 1
        for product_id, units in popular:
            if product_id not in products and product_id not in scores:
                scores[product_id] = 0.001 * units / top_units
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _owned(customer_ids: Collection[int] | None) -> dict[int, set[int]]:
    """Products each customer bought in any channel (cancelled orders left out)."""
    facts = OrderLineFact.objects.filter(customer_id__isnull=False, cancelled=False)
    if customer_ids is not None:
        facts = facts.filter(customer_id__in=customer_ids)
    owned: dict[int, set[int]] = defaultdict(set)
    for customer_id, product_id in facts.values_list("customer_id", "product_id").distinct():
        owned[customer_id].add(product_id)
    return owned


def _related(product_ids: Collection[int] | None) -> dict[int, list[tuple[int, float]]]:
    affinities = ProductAffinity.objects.all()
    if product_ids is not None:
        affinities = affinities.filter(product_id__in=product_ids)
    related: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for product_id, related_id, score in affinities.values_list(
        "product_id", "related_id", "score"
    ):
        related[product_id].append((related_id, score))
    return related


def _suggestion_rows(owned, related, popular) -> list[CustomerSuggestion]:
    rows = []
    for customer_id, products in owned.items():
        ranked = suggestions_rank(products, related, popular)
        rows.extend(
            CustomerSuggestion(
                customer_id=customer_id, product_id=product_id, score=round(score, 6), rank=rank
            )
            for rank, (product_id, score) in enumerate(ranked, start=1)
        )
    return rows


@transaction.atomic
def suggestions_rebuild() -> int:
    """Recompute every customer's suggestions. Returns the number of customers served.
    Serialised with the other analytics writers (rollup lock)."""
    rollup_lock_for_update()
    owned = _owned(None)
    rows = _suggestion_rows(owned, _related(None), _popular())
    CustomerSuggestion.objects.all().delete()
    CustomerSuggestion.objects.bulk_create(rows, batch_size=2000)
    return len(owned)


@transaction.atomic
def suggestions_refresh(*, customer_ids: Collection[int]) -> int:
    """Recompute the suggestions of these customers only (after their orders changed or their
    profiles were merged); a customer with no purchases left (merged away) keeps none. Same
    ranking as the nightly rebuild, from the current affinities. Serialised with the other
    analytics writers (rollup lock); 5 queries per chunk of customers. Returns the customers
    served."""
    ids = sorted({int(i) for i in customer_ids})
    served = 0
    if not ids:
        return served
    rollup_lock_for_update()
    popular = _popular()
    for start in range(0, len(ids), CUSTOMER_CHUNK):
        batch = ids[start : start + CUSTOMER_CHUNK]
        owned = _owned(batch)
        related = _related({p for products in owned.values() for p in products})
        rows = _suggestion_rows(owned, related, popular)
        CustomerSuggestion.objects.filter(customer_id__in=batch).delete()
        CustomerSuggestion.objects.bulk_create(rows, batch_size=2000)
        served += len(owned)
    return served


@transaction.atomic
def recommendations_rebuild() -> tuple[int, int]:
    """Affinities, then the customer suggestions built from them (the nightly task)."""
    rollup_lock_for_update()
    return affinities_rebuild(), suggestions_rebuild()


def related_products(*, product_id: int, channel=None, limit: int = TOP_RELATED) -> list[dict]:
    """The products bought with `product_id`, best first; with a channel, only products that
    have a published listing of an active variant there (2 queries)."""
    affinities = list(
        ProductAffinity.objects.filter(product_id=product_id).order_by("-score", "related_id")
    )
    products = Product.objects.filter(id__in=[a.related_id for a in affinities], active=True)
    if channel is not None:
        products = products.filter(
            variants__active=True,
            variants__listings__channel=channel,
            variants__listings__published=True,
        ).distinct()
    by_id = {p.id: p for p in products.only("id", "name", "slug")}
    out = []
    for affinity in affinities:
        product = by_id.get(affinity.related_id)
        if product is not None:
            out.append(
                {
                    "id": product.id,
                    "name": product.name,
                    "slug": product.slug,
                    "score": affinity.score,
                    "orders_together": affinity.orders_together,
                }
            )
    return out[:limit]


def customer_suggestion_rows(
    *, customer_id: int, channel=None, limit: int = TOP_SUGGESTIONS
) -> list[CustomerSuggestion]:
    """A customer's stored suggestions, best first, with their products (one query): active
    products only; with a channel, only products that have a published listing of an active
    variant there (a channel never suggests what it does not sell)."""
    rows = CustomerSuggestion.objects.filter(customer_id=customer_id, product__active=True)
    if channel is not None:
        rows = rows.filter(
            Exists(
                Listing.objects.filter(
                    variant__product_id=OuterRef("product_id"),
                    variant__active=True,
                    channel=channel,
                    published=True,
                )
            )
        )
    return list(rows.select_related("product").order_by("rank", "product_id")[:limit])


def customer_suggestions(
    *, customer_id: int, channel=None, limit: int = TOP_SUGGESTIONS
) -> list[dict]:
    """A customer's suggested products, best first (one query); see
    `customer_suggestion_rows`. Ranks are renumbered 1.. over what the channel sells."""
    return [
        {"id": s.product_id, "name": s.product.name, "score": s.score, "rank": rank}
        for rank, s in enumerate(
            customer_suggestion_rows(customer_id=customer_id, channel=channel, limit=limit),
            start=1,
        )
    ]
