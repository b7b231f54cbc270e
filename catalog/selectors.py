"""Read queries over the catalog shared by the storefront API, staff API, admin and export.

The storefront list runs a fixed number of queries whatever the page size: one COUNT, one
page of products (with their category joined), one query for the page's sellable listings
with their variants, and the availability provider's one query.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from catalog.availability import availability_provider
from catalog.errors import CatalogInvalid, ProductNotFound
from catalog.filters import StorefrontProductFilter, sellable_listings
from catalog.models import Category, Listing, Product, Variant
from omni.models import Channel


@dataclass(frozen=True)
class Offer:
    """A variant as a shopper of one channel sees it: its listing's price and availability."""

    variant: Variant
    price: Decimal
    compare_at_price: Decimal | None
    currency: str
    available: int


def storefront_products(*, channel: Channel) -> QuerySet[Product]:
    """Active products with at least one published listing of an active variant in
    `channel`; everything else is invisible (404) to that channel."""
    return (
        Product.objects.filter(
            active=True, pk__in=sellable_listings(channel).values("variant__product_id")
        )
        .select_related("category")
        .order_by("name", "id")
    )


def storefront_product_list(*, channel: Channel, params: Mapping) -> QuerySet[Product]:
    """Visible products of `channel` filtered and ordered by the storefront parameters
    (see `StorefrontProductFilter`). Invalid parameters raise `CatalogInvalid` naming them."""
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


def storefront_offers_attach(*, channel: Channel, products: Sequence[Product]) -> None:
    """Set `product.offers` (list of `Offer`, by SKU) on each product of a page: one query for
    the listings, one availability call, whatever the page size."""
    ids = [product.pk for product in products]
    listings = (
        sellable_listings(channel)
        .filter(variant__product_id__in=ids)
        .select_related("variant")
        .order_by("variant__sku")
    )
    listings = list(listings)
    available = availability_provider().available_to_sell(
        channel=channel, variant_ids=[listing.variant_id for listing in listings]
    )
    offers: dict[int, list[Offer]] = defaultdict(list)
    for listing in listings:
        offers[listing.variant.product_id].append(
            Offer(
                variant=listing.variant,
                price=listing.price,
                compare_at_price=listing.compare_at_price,
                currency=listing.currency,
                available=max(0, int(available.get(listing.variant_id, 0))),
            )
        )
    for product in products:
        product.offers = offers.get(product.pk, [])


def storefront_product_get(*, channel: Channel, product_id: int) -> Product:
    """One product as `channel` shows it, with its offers; `ProductNotFound` when it is not
    visible there (unlisted, unpublished, inactive)."""
    product = storefront_products(channel=channel).filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(field="id")
    storefront_offers_attach(channel=channel, products=[product])
    return product


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
