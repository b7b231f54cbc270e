"""The storefront JSON of a product and its offers (the list and detail endpoints' items), and
the stored pieces of it that `ChannelProduct` keeps so PostgreSQL can write a list page by
joining text instead of building JSON.

A product's item is its static members (`product_head`: what the product, its category, its
offers' variants and listings say), then the members that follow the channel or the stock
at the time of the request (currency, price_from, available, in_stock), then `created_at`
and the offers. `ChannelProduct` stores the static members already written as JSON
(`product_json_parts`); available-to-sell is never stored."""

import json
from typing import Any

from rest_framework.utils.encoders import JSONEncoder

from catalog import money
from catalog.selectors import Offer
from omni.models import Channel


def amount_or_none(value, currency: str) -> str | None:
    """The amount with the currency's decimals, or None."""
    return None if value is None else money.format_amount(value, currency)


def offer_head(offer: Offer) -> dict[str, Any]:
    """The members of an offer that do not depend on stock."""
    currency = offer.currency
    return {
        "id": offer.variant_id,
        "sku": offer.sku,
        "barcode": offer.barcode,
        "name": offer.name,
        "options": offer.options,
        "weight_grams": offer.weight_grams,
        "price": money.format_amount(offer.price, currency),
        "compare_at_price": amount_or_none(offer.compare_at_price, currency),
        "currency": currency,
    }


def offer_payload(offer: Offer) -> dict[str, Any]:
    return {**offer_head(offer), "available": offer.available, "in_stock": offer.available > 0}


def product_head(row: dict[str, Any]) -> dict[str, Any]:
    """The members of a product's item before its channel-dependent ones, from a row of
    `selectors.STOREFRONT_PRODUCT_FIELDS`."""
    category_id = row["product__category_id"]
    return {
        "id": row["product_id"],
        "name": row["product__name"],
        "slug": row["product__slug"],
        "description": row["product__description"],
        "brand": row["product__brand"],
        "category": (
            None
            if category_id is None
            else {
                "id": category_id,
                "name": row["product__category__name"],
                "slug": row["product__category__slug"],
                "path": row["product__category__path"],
            }
        ),
        "attributes": row["product__attributes"],
        "images": row["product__images"],
    }


def product_payload(row: dict[str, Any], offers: list[Offer], channel: Channel) -> dict[str, Any]:
    """The storefront JSON of a product (a row of `selectors.STOREFRONT_PRODUCT_FIELDS`) with
    its offers. Built by hand from plain values rather than by nested serializers: the list
    endpoint renders hundreds of variants per page and this keeps it cheap;
    `catalog.api.StorefrontProductSerializer` documents the same shape (and a test holds
    them equal)."""
    cheapest = min((offer.price for offer in offers), default=None)
    available = sum(offer.available for offer in offers)
    return {
        **product_head(row),
        "currency": channel.currency,
        "price_from": amount_or_none(cheapest, channel.currency),
        "available": available,
        "in_stock": available > 0,
        "created_at": row["product__created_at"],
        "variants": [offer_payload(offer) for offer in offers],
    }


def dumps(value: Any) -> str:
    """JSON as the API's renderer writes it (DRF's encoder: aware UTC datetimes end in Z)."""
    return json.dumps(value, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))


def product_json_parts(row: dict[str, Any], offers: list[Offer]) -> tuple[str, str, list]:
    """The stored pieces of `product_payload(row, offers, channel)`: the object's opening
    members up to `images` without the closing brace, the `created_at` member, and per
    offer (by SKU) [variant id, its opening members up to `currency` without the closing
    brace]. `selectors.storefront_page_json` puts the rest between them."""
    return (
        dumps(product_head(row))[:-1],
        dumps({"created_at": row["product__created_at"]})[1:-1],
        [[offer.variant_id, dumps(offer_head(offer))[:-1]] for offer in offers],
    )
