"""Read queries over the catalog shared by the storefront API, staff API, admin and export.

The storefront list runs a fixed number of queries whatever the page size. On PostgreSQL,
with an availability provider that can express available-to-sell in SQL (the inventory one
and the no-stock default can), it is ONE statement that returns the page's JSON and the
total (`storefront_page_json`), joining the JSON pieces `ChannelProduct` stores with the
live available-to-sell. Elsewhere (SQLite, lookup-only providers): one query over
`ChannelProduct` (the channel's sellable products, with product and category joined, the
page and the total in one round trip: see `catalog.pagination`), the page's active variants,
and their published listings in the channel with available-to-sell folded in when it can be
(else the provider's one query more); rows are read as plain values and the JSON is built by
`catalog.storefront_json.product_payload`. Filters may add a lookup of their own (category
subtree, SKU search).
"""

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import IntegerField, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from catalog import money
from catalog.availability import (
    availability_provider,
    available_to_sell_expression,
    available_to_sell_expression_key,
)
from catalog.errors import CatalogInvalid, ProductNotFound
from catalog.filters import StorefrontProductFilter
from catalog.models import Category, ChannelProduct, Listing, Product, Variant
from omni.models import Channel
from omni.sql import execute_prepared

MAX_ID = 2**63 - 1  # primary keys are bigints

# What the storefront shows of a product, read from a `ChannelProduct` row (its key in the
# row dicts the storefront selectors return).
STOREFRONT_PRODUCT_FIELDS = (
    "product_id",
    "product__name",
    "product__slug",
    "product__description",
    "product__brand",
    "product__attributes",
    "product__images",
    "product__created_at",
    "product__category_id",
    "product__category__name",
    "product__category__slug",
    "product__category__path",
)


class Offer(NamedTuple):
    """A variant as a shopper of one channel sees it: its listing's price and availability.
    A plain tuple rather than a model instance: a page carries hundreds of them."""

    variant_id: int
    product_id: int
    sku: str
    barcode: str | None
    name: str
    options: dict
    weight_grams: int | None
    price: Decimal
    compare_at_price: Decimal | None
    currency: str
    available: int


def storefront_products(*, channel: Channel) -> QuerySet[ChannelProduct]:
    """The channel's rows of active products with at least one published listing of an
    active variant there; every other product is invisible (404) to that channel."""
    return ChannelProduct.objects.filter(channel=channel).order_by("name", "product_id")


def storefront_product_list(*, channel: Channel, params: Mapping) -> QuerySet:
    """Visible products of `channel` filtered and ordered by the storefront parameters (see
    `StorefrontProductFilter`); read its rows as `.values(*STOREFRONT_PRODUCT_FIELDS)`.
    Invalid parameters raise `CatalogInvalid` naming them. Without any of its parameters
    (the first page of a plain listing) no FilterSet is built: it would filter nothing."""
    if not any(name in params for name in StorefrontProductFilter.base_filters):
        return storefront_products(channel=channel)
    filterset = StorefrontProductFilter(
        data=params, queryset=storefront_products(channel=channel), channel=channel
    )
    if not filterset.is_valid():
        errors = [
            {"field": name, "code": error.code or "invalid", "message": " ".join(error.messages)}
            for name, items in filterset.form.errors.as_data().items()
            for error in items
        ]
        raise CatalogInvalid(
            "Invalid filter parameters.",
            code="invalid_filter",
            field=errors[0]["field"],
            errors=errors,
        )
    return filterset.qs


def storefront_offers(*, channel: Channel, product_ids: Iterable[int]) -> dict[int, list[Offer]]:
    """The offers (by SKU) of each of `product_ids` in `channel`: its active variants with a
    published listing there, their price and available-to-sell. Two queries whatever the
    number of products: the active variants, then their published listings with
    available-to-sell folded in when the availability provider offers a SQL expression (the
    inventory one does; else the provider's `available_to_sell` is one query more). Two
    simple indexed queries rather than one join: given the products rather than the
    variant ids, PostgreSQL prefers hash-joining every listing of the channel."""
    variants = {
        row[0]: row
        for row in Variant.objects.filter(product_id__in=list(product_ids), active=True)
        .order_by()
        .values_list("id", "product_id", "sku", "barcode", "name", "options", "weight_grams")
    }
    listings = Listing.objects.filter(
        channel=channel, published=True, variant_id__in=list(variants)
    ).order_by()
    fields = ("variant_id", "price", "compare_at_price", "currency")
    available = available_to_sell_expression(channel=channel, variant_ref="variant_id")
    if available is not None:
        priced = list(listings.values_list(*fields, available))
    else:
        fetched = list(listings.values_list(*fields))
        figures = availability_provider().available_to_sell(
            channel=channel, variant_ids=[row[0] for row in fetched]
        )
        priced = [(*row, max(0, int(figures.get(row[0], 0)))) for row in fetched]
    offers: dict[int, list[Offer]] = defaultdict(list)
    for variant_id, *listing in priced:
        variant = variants[variant_id]
        offers[variant[1]].append(Offer._make((*variant, *listing)))
    for product_offers in offers.values():
        product_offers.sort(key=_by_sku)
    return offers


# --- the storefront page as JSON built by PostgreSQL -----------------------------------------


def storefront_page_in_sql(*, channel: Channel) -> bool:
    """Whether `storefront_page_json` can build the list page of `channel`: on PostgreSQL,
    with an availability provider that offers its figure as SQL. Elsewhere the page is
    built in Python from `storefront_offers` (`storefront_json.product_payload`)."""
    return connection.vendor == "postgresql" and hasattr(
        availability_provider(), "available_to_sell_expression"
    )


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


_AVAILABLE_SQL: dict[Hashable, tuple[str, tuple]] = {}


def _available_sql(channel: Channel) -> tuple[str, tuple]:
    """The available-to-sell in `channel` of the variant whose id is `"e"."offer" ->> 0` (an
    element of `ChannelProduct.json_offers`), as a one-row query: compiled once per
    `available_to_sell_expression_key` when the provider offers one (building and
    compiling the expression is a good part of a request's CPU otherwise)."""
    key = available_to_sell_expression_key(channel=channel)
    compiled = None if key is None else _AVAILABLE_SQL.get(key)
    if compiled is None:
        # Cast: the statement runs prepared, where a parameter alone (a provider's constant,
        # a CASE of them) would otherwise be typed text, which SUM refuses.
        available = Cast(
            available_to_sell_expression(channel=channel, variant_ref="id"), IntegerField()
        )
        sql, params = (
            Variant.objects.filter(pk=RawSQL("""("e"."offer" ->> 0)::bigint""", ()))
            .order_by()
            .values(o_available=available)
            .query.sql_with_params()
        )
        compiled = (sql, tuple(params))
        if key is not None:
            if len(_AVAILABLE_SQL) >= 1024:
                _AVAILABLE_SQL.clear()
            _AVAILABLE_SQL[key] = compiled
    return compiled


def storefront_page_json(
    *, channel: Channel, products: QuerySet, bottom: int, top: int, scanned: bool = False
) -> tuple[int | None, int, str]:
    """Rows `bottom:top` of `products` (a filtered, ordered `storefront_product_list`) as
    the JSON array of the list's `results`, written by PostgreSQL in ONE statement: the page
    of `ChannelProduct` rows with the total count of the filtered rows, and per
    row its stored JSON pieces (`ChannelProduct.json_head`, `json_tail`, `json_offers`)
    joined with the channel's currency, the row's price_from in the currency's decimals,
    and the available-to-sell of each offer from the provider's SQL expression (live,
    never stored) with their sum. The JSON is the one `storefront_json.product_payload`
    builds; a test holds the two equal.

    `scanned`: the filters match rows only through a scan of the table
    (`filters.matches_by_scan`); the statement then reads the matching rows once, for
    the page and the total alike.

    The statement runs prepared (`omni.sql.execute_prepared`): its text depends on the
    filters used, never on their values, and planning it cost more than running it.
    Returns (total or None when the page is empty, number of products, JSON text). Only
    when `storefront_page_in_sql(channel=channel)`."""
    ordering = products.query.order_by
    keys = list(dict.fromkeys(["product_id", *(name.lstrip("-") for name in ordering)]))
    try:
        # Compiled once, without its ordering (which would keep PostgreSQL from inlining
        # it): the statement orders and slices it for the page and counts it for the total.
        matched_sql, matched_params = products.order_by().values(*keys).query.sql_with_params()
    except EmptyResultSet:  # a filter matching nothing
        return None, 0, "[]"

    order_by = ", ".join(
        f'"matched".{_quoted(name.lstrip("-"))} {"DESC" if name.startswith("-") else "ASC"}'
        for name in ordering
    )

    available_sql, available_params = _available_sql(channel)
    # Text joined rather than JSON built: the pieces are JSON already (see
    # `storefront_json.product_json_parts`), and a boolean's text is JSON's true/false.
    # The offers are unnested from an array rather than read with jsonb_array_elements:
    # the planner takes the latter for 100 rows per product, which puts the statement's
    # estimated cost past the default jit_above_cost and costs a JIT compile (tens of ms)
    # per request; an array's unnest is estimated at 10. The page's products are an array
    # too (their ids in page order), for the same reason: the generic plan of a prepared
    # statement does not know the LIMIT and estimates a tenth of the matching rows (a
    # thousand products here), past jit_above_cost again once multiplied by each
    # product's offers. The LIMIT and OFFSET are subqueries so that no plan knows them:
    # the custom plans PostgreSQL tries first would otherwise always look cheaper than
    # the generic one, and every request would be planned anew (about a millisecond).
    # "matched" is NOT MATERIALIZED so that PostgreSQL plans its two uses apart, each as
    # if written out: the page as an ordered index scan stopping after `top` rows, the
    # total as a count of the matching index entries (both scans of ChannelProduct's
    # indexes). Rows found by a scan of the table (`scanned`: a bitmap heap scan
    # rechecking every candidate row) are read once instead: MATERIALIZED, counted and
    # sorted for the page from there.
    materialized = "MATERIALIZED" if scanned else "NOT MATERIALIZED"
    sql = f"""
WITH "matched" AS {materialized} ({matched_sql}),
"page" AS MATERIALIZED (
  SELECT ARRAY(
    SELECT "matched"."product_id" FROM "matched" ORDER BY {order_by}
    LIMIT (SELECT %s::bigint) OFFSET (SELECT %s::bigint)
  ) AS "ids")
SELECT
  (SELECT COUNT(*) FROM "matched"),
  (SELECT cardinality("page"."ids") FROM "page"),
  (SELECT '[' || string_agg(
      "cp"."json_head"
      || ',"currency":' || %s
      || ',"price_from":"' || round("cp"."price_from", %s)::text
      || '","available":' || "o"."available"
      || ',"in_stock":' || ("o"."available" > 0)::text
      || ',' || "cp"."json_tail"
      || ',"variants":[' || COALESCE("o"."variants", '') || ']}}',
      ',' ORDER BY "p"."position") || ']'
    FROM "page"
    CROSS JOIN unnest("page"."ids") WITH ORDINALITY AS "p"("product_id", "position")
    JOIN {_quoted(ChannelProduct._meta.db_table)} "cp"
      ON "cp"."channel_id" = %s AND "cp"."product_id" = "p"."product_id"
    CROSS JOIN LATERAL (
      SELECT
        COALESCE(SUM("a"."o_available"), 0) AS "available",
        string_agg(
          ("e"."offer" ->> 1)
          || ',"available":' || "a"."o_available"
          || ',"in_stock":' || ("a"."o_available" > 0)::text || '}}',
          ',' ORDER BY "e"."position") AS "variants"
      FROM unnest(ARRAY(SELECT jsonb_array_elements("cp"."json_offers")))
        WITH ORDINALITY AS "e"("offer", "position")
      CROSS JOIN LATERAL ({available_sql} OFFSET 0) "a"
    ) "o")
"""
    params = (
        *matched_params,
        top - bottom,
        bottom,
        json.dumps(channel.currency),
        money.minor_units(channel.currency),
        channel.pk,
        *available_params,
    )
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        total, count, text = cursor.fetchone()
    if not count:
        return None, 0, "[]"
    return total, count, text


def _by_sku(offer: Offer) -> str:
    return offer.sku


def storefront_product_get(
    *, channel: Channel, product_id: int
) -> tuple[dict[str, Any], list[Offer]]:
    """One product as `channel` shows it (a dict of `STOREFRONT_PRODUCT_FIELDS`) with its
    offers; `ProductNotFound` when it is not visible there (unlisted, unpublished,
    inactive)."""
    if not 0 < product_id <= MAX_ID:  # SQLite raises on integers past 64 bits
        raise ProductNotFound(field="id")
    row = (
        storefront_products(channel=channel)
        .filter(product_id=product_id)
        .values(*STOREFRONT_PRODUCT_FIELDS)
        .first()
    )
    if row is None:
        raise ProductNotFound(field="id")
    return row, storefront_offers(channel=channel, product_ids=[product_id]).get(product_id, [])


def category_descendants(*, category: Category) -> QuerySet[Category]:
    """The category and everything under it (one prefix match on the materialised path)."""
    return Category.objects.filter(path__startswith=category.path)


def staff_product_queryset() -> QuerySet[Product]:
    return Product.objects.select_related("category").order_by("name", "id")


def staff_variant_queryset() -> QuerySet[Variant]:
    return Variant.objects.select_related("product").order_by("sku")


def staff_listing_queryset() -> QuerySet[Listing]:
    return Listing.objects.select_related("variant", "channel").order_by("pk")


def listing_for_variant(*, variant_id: int, channel: Channel) -> Listing | None:
    """The listing of one variant in `channel`, published or not (for pricing callers)."""
    return Listing.objects.filter(variant_id=variant_id, channel=channel).first()
