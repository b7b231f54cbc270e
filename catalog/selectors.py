"""Read queries over the catalog shared by the storefront API, staff API, admin and export.

The storefront list runs a fixed number of queries whatever the page size: one COUNT and one
page over `ChannelProduct` (the channel's sellable products, with product and category
joined), the page's active variants, their listings in the channel, and the availability
provider's one query.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from catalog.availability import availability_provider
from catalog.errors import CatalogInvalid, ProductNotFound
from catalog.filters import StorefrontProductFilter
from catalog.models import Category, ChannelProduct, Listing, Product, Variant
from omni.models import Channel

MAX_ID = 2**63 - 1  # primary keys are bigints


@dataclass(frozen=True, slots=True)
class Offer:
    """A variant as a shopper of one channel sees it: its listing's price and availability.
    Plain values rather than model instances: a page carries hundreds of them."""

    variant_id: int
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
    active variant there (each with `.product` and its category joined); every other product
    is invisible (404) to that channel."""
    return (
        ChannelProduct.objects.filter(channel=channel)
        .select_related("product__category")
        .order_by("product__name", "product_id")
    )


def storefront_product_list(*, channel: Channel, params: Mapping) -> QuerySet[ChannelProduct]:
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
    the active variants, one for their published listings in `channel`, one availability
    call, whatever the page size. Two simple indexed queries rather than one join: the
    planner was prone to hash-joining every listing of the channel for the latter."""
    variants = list(
        Variant.objects.filter(product_id__in=[p.pk for p in products], active=True)
        .order_by("sku")
        .values_list("id", "product_id", "sku", "barcode", "name", "options", "weight_grams")
    )
    listings = {
        row[0]: row[1:]
        for row in Listing.objects.filter(
            channel=channel, published=True, variant_id__in=[v[0] for v in variants]
        ).values_list("variant_id", "price", "compare_at_price", "currency")
    }
    available = availability_provider().available_to_sell(
        channel=channel, variant_ids=list(listings)
    )
    offers: dict[int, list[Offer]] = defaultdict(list)
    for variant_id, product_id, sku, barcode, name, options, weight in variants:
        listing = listings.get(variant_id)
        if listing is None:
            continue
        price, compare_at_price, currency = listing
        offers[product_id].append(
            Offer(
                variant_id=variant_id,
                sku=sku,
                barcode=barcode,
                name=name,
                options=options,
                weight_grams=weight,
                price=price,
                compare_at_price=compare_at_price,
                currency=currency,
                available=max(0, int(available.get(variant_id, 0))),
            )
        )
    for product in products:
        product.offers = offers.get(product.pk, [])


def storefront_product_get(*, channel: Channel, product_id: int) -> Product:
    """One product as `channel` shows it, with its offers; `ProductNotFound` when it is not
    visible there (unlisted, unpublished, inactive)."""
    if not 0 < product_id <= MAX_ID:  # SQLite raises on integers past 64 bits
        raise ProductNotFound(field="id")
    row = storefront_products(channel=channel).filter(product_id=product_id).first()
    if row is None:
        raise ProductNotFound(field="id")
    product = row.product
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
