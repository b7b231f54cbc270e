"""Read queries over the catalog shared by the storefront API, staff API, admin and export.

The storefront list runs a fixed number of queries whatever the page size. On PostgreSQL,
with an availability provider that can express available-to-sell in SQL (the inventory one
and the no-stock default can), it is ONE statement that returns the page's JSON and the
total (`storefront_page_json`). Elsewhere (SQLite, lookup-only providers): one query over
`ChannelProduct` (the channel's sellable products, with product and category joined, the
page and the total in one round trip: see `catalog.pagination`), the page's active variants,
and their published listings in the channel with available-to-sell folded in when it can be
(else the provider's one query more); rows are read as plain values and the JSON is built by
`catalog.api.product_payload`. Filters may add a lookup of their own (category subtree, SKU
search).
"""

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL

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
    return ChannelProduct.objects.filter(channel=channel).order_by("product__name", "product_id")


def storefront_product_list(*, channel: Channel, params: Mapping) -> QuerySet:
    """Visible products of `channel` filtered and ordered by the storefront parameters (see
    `StorefrontProductFilter`); read its rows as `.values(*STOREFRONT_PRODUCT_FIELDS)`.
    Invalid parameters raise `CatalogInvalid` naming them."""
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
    built in Python from `storefront_offers` (`catalog.api.product_payload`)."""
    return connection.vendor == "postgresql" and hasattr(
        availability_provider(), "available_to_sell_expression"
    )


def _scale_sql(currency_sql: str, channel: Channel) -> tuple[str, tuple]:
    """SQL for the number of decimals of the currency named by `currency_sql` (see `money`),
    with its params: the channel's currency's by one comparison (listings are in it), else
    looked up in the table of currencies whose precision is not the default."""
    return (
        f"CASE WHEN {currency_sql} = %s THEN %s "
        f"ELSE COALESCE((%s::jsonb ->> upper({currency_sql}))::int, %s) END",
        (
            channel.currency,
            money.minor_units(channel.currency),
            _MINOR_UNITS_JSON,
            money.DEFAULT_MINOR_UNITS,
        ),
    )


_MINOR_UNITS_JSON = json.dumps(money.MINOR_UNITS)


def _timestamp_sql(column: str) -> str:
    """A timestamptz as DRF renders an aware UTC datetime: ISO 8601 with microseconds only
    when there are some, and `Z` for UTC."""
    return (
        f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"CASE WHEN to_char({column}, 'US') = '000000' THEN '' "
        f"ELSE '.' || to_char({column}, 'US') END || 'Z'"
    )


def _quoted(name: str) -> str:
    return connection.ops.quote_name(name)


_OFFER_LISTING_SQL: dict[Hashable, tuple[str, tuple]] = {}


def _offer_listing_sql(channel: Channel) -> tuple[str, tuple]:
    """The published listing in `channel` of the variant aliased "v", with its
    available-to-sell: compiled once per `available_to_sell_expression_key` when the
    provider offers one (building and compiling the expression is a good part of a
    request's CPU otherwise)."""
    key = available_to_sell_expression_key(channel=channel)
    compiled = None if key is None else _OFFER_LISTING_SQL.get(key)
    if compiled is None:
        available = available_to_sell_expression(channel=channel, variant_ref="variant_id")
        sql, params = (
            Listing.objects.filter(
                channel=channel, published=True, variant_id=RawSQL('"v"."id"', ())
            )
            .order_by()
            .values(
                l_price=F("price"),
                l_compare=F("compare_at_price"),
                l_currency=F("currency"),
                l_available=available,
            )
            .query.sql_with_params()
        )
        compiled = (sql, tuple(params))
        if key is not None:
            if len(_OFFER_LISTING_SQL) >= 1024:
                _OFFER_LISTING_SQL.clear()
            _OFFER_LISTING_SQL[key] = compiled
    return compiled


def storefront_page_json(
    *, channel: Channel, products: QuerySet, bottom: int, top: int
) -> tuple[int | None, int, str]:
    """Rows `bottom:top` of `products` (a filtered, ordered `storefront_product_list`) as
    the JSON array of the list's `results`, built by PostgreSQL in ONE statement: the page
    of product ids with the total count (`catalog.pagination.RowCount`), the products and
    categories, and per product its offers (active variants with a published listing in
    `channel`, by SKU, available-to-sell from the provider's SQL expression) aggregated
    with the cheapest price and the available sum. The JSON is the one
    `catalog.api.product_payload` builds (money as strings with the currency's decimals,
    timestamps as DRF writes them); a test holds the two equal.

    Returns (total or None when the page is empty, number of products, JSON text). Only
    when `storefront_page_in_sql(channel=channel)`."""
    from catalog.pagination import TOTAL, RowCount

    ordering = [name.lstrip("-") for name in products.query.order_by]
    keys = list(dict.fromkeys(["product_id", *ordering]))
    try:
        page_sql, page_params = products.values(*keys, **{TOTAL: RowCount(products)})[
            bottom:top
        ].query.sql_with_params()
    except EmptyResultSet:  # a filter matching nothing, e.g. an unknown category (none())
        return None, 0, "[]"
    order_sql = ", ".join(
        f'"page".{_quoted(name.lstrip("-"))} {"DESC" if name.startswith("-") else "ASC"}'
        for name in products.query.order_by
    )
    listing_sql, listing_params = _offer_listing_sql(channel)
    product_table = _quoted(Product._meta.db_table)
    category_table = _quoted(Category._meta.db_table)
    variant_table = _quoted(Variant._meta.db_table)
    listing_scale, scale_params = _scale_sql('"l"."l_currency"', channel)
    # Objects are written from rows (json_agg of a row: its columns in order are the keys),
    # cheaper in PostgreSQL than json_build_object per variant.
    sql = f"""
WITH "page" AS MATERIALIZED ({page_sql})
SELECT
  (SELECT {_quoted(TOTAL)} FROM "page" LIMIT 1),
  (SELECT COUNT(*) FROM "page"),
  (SELECT json_agg("item" ORDER BY {order_sql})::text
    FROM "page"
    JOIN {product_table} "p" ON "p"."id" = "page"."product_id"
    LEFT JOIN {category_table} "c" ON "c"."id" = "p"."category_id"
    LEFT JOIN LATERAL (
      SELECT
        json_agg("offer" ORDER BY "offer"."sku" COLLATE "C") AS "variants",
        MIN("l"."l_price") AS "price_from",
        SUM("l"."l_available") AS "available"
      FROM {variant_table} "v"
      CROSS JOIN LATERAL ({listing_sql} OFFSET 0) "l"
      CROSS JOIN LATERAL (SELECT
        "v"."id" AS "id",
        "v"."sku" AS "sku",
        "v"."barcode" AS "barcode",
        "v"."name" AS "name",
        "v"."options" AS "options",
        "v"."weight_grams" AS "weight_grams",
        round("l"."l_price", {listing_scale})::text AS "price",
        round("l"."l_compare", {listing_scale})::text AS "compare_at_price",
        "l"."l_currency" AS "currency",
        "l"."l_available" AS "available",
        "l"."l_available" > 0 AS "in_stock"
      ) "offer"
      WHERE "v"."product_id" = "page"."product_id" AND "v"."active"
    ) "o" ON TRUE
    CROSS JOIN LATERAL (SELECT
      "p"."id" AS "id",
      "p"."name" AS "name",
      "p"."slug" AS "slug",
      "p"."description" AS "description",
      "p"."brand" AS "brand",
      CASE WHEN "c"."id" IS NULL THEN NULL ELSE json_build_object(
        'id', "c"."id", 'name', "c"."name", 'slug', "c"."slug", 'path', "c"."path"
      ) END AS "category",
      "p"."attributes" AS "attributes",
      "p"."images" AS "images",
      %s::text AS "currency",
      round("o"."price_from", %s)::text AS "price_from",
      COALESCE("o"."available", 0) AS "available",
      COALESCE("o"."available", 0) > 0 AS "in_stock",
      {_timestamp_sql('"p"."created_at"')} AS "created_at",
      COALESCE("o"."variants", '[]'::json) AS "variants"
    ) "item")
"""
    params = (
        *page_params,
        *listing_params,
        *scale_params,
        *scale_params,
        channel.currency,
        money.minor_units(channel.currency),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, count, text = cursor.fetchone()
    return total, count, text or "[]"


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
