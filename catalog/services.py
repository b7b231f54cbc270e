"""State changes of the catalog: categories, products, variants, listings and bulk pricing.

The API, CSV import and admin actions write through these functions, and the admin's forms
validate with the same rules (`catalog.validation`), so the invariants hold whatever the entry
point: a listing is priced in its channel's currency with that currency's precision, SKUs and
barcodes are unique, category paths match the tree, and the storefront's derived
`ChannelProduct` rows follow every change in the same transaction.
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.text import slugify

from catalog import money
from catalog.errors import CatalogConflict, CatalogInvalid, StalePreview
from catalog.models import Category, ChannelProduct, Listing, Product, Variant
from catalog.selectors import Offer
from catalog.storefront_json import product_json_parts
from catalog.validation import (
    clean_attributes,
    clean_barcode,
    clean_compare_at,
    clean_images,
    clean_listing_currency,
    clean_options,
    clean_price,
)
from omni.models import Channel

UNSET: Any = object()


# --- categories ---------------------------------------------------------------------------


def _unique_slug(model, base: str, *, max_length: int, exclude_pk: int | None = None) -> str:
    base = (slugify(base) or "item")[: max_length - 6]
    taken = set(
        model.objects.filter(slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _check_slug_free(model, slug: str, *, exclude_pk: int | None = None) -> str:
    slug = slugify(slug)
    if not slug:
        raise CatalogInvalid("A slug needs letters or digits.", code="invalid_slug", field="slug")
    if model.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        raise CatalogConflict(f"Slug {slug!r} is taken.", code="duplicate_slug", field="slug")
    return slug


@transaction.atomic
def category_create(
    *, name: str, slug: str | None = None, parent: Category | None = None
) -> Category:
    """Create a category under `parent`; its path is the parent's path plus its slug."""
    slug = (
        _check_slug_free(Category, slug) if slug else _unique_slug(Category, name, max_length=140)
    )
    category = Category(name=name, slug=slug, parent=parent)
    category.path = f"{parent.path if parent else ''}{slug}/"
    category.save()
    return category


@transaction.atomic
def category_update(
    *,
    category: Category,
    name: str | None = None,
    slug: str | None = None,
    parent: Category | None = UNSET,
) -> Category:
    """Rename or move a category. Its own path and every descendant's path are rewritten in
    one UPDATE (prefix swap), so "category and descendants" stays one prefix match. Moving a
    category under itself or a descendant is refused. The storefront rows of the products it
    names (`ChannelProduct`, which store the category's name, slug and path) are refreshed
    in the same transaction."""
    fields = []
    if name is not None and name != category.name:
        category.name = name
        fields.append("name")
    if slug is not None and slugify(slug) != category.slug:
        category.slug = _check_slug_free(Category, slug, exclude_pk=category.pk)
        fields.append("slug")
    if parent is not UNSET and parent != category.parent:
        if parent is not None and parent.path.startswith(category.path):
            raise CatalogInvalid(
                "A category cannot move under itself or its descendants.",
                code="category_cycle",
                field="parent",
            )
        category.parent = parent
        fields.append("parent")
    if not fields:
        return category
    old_path = category.path
    parent_path = category.parent.path if category.parent_id else ""
    new_path = f"{parent_path}{category.slug}/"
    category.path = new_path
    category.save(update_fields=[*fields, "path"])
    if new_path != old_path:
        Category.objects.filter(path__startswith=old_path).exclude(pk=category.pk).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1))
        )
    # The storefront's stored JSON of every product in the category (and, when the path
    # changed, in its descendants) names it.
    named = (
        Product.objects.filter(category=category)
        if new_path == old_path
        else Product.objects.filter(category__path__startswith=new_path)
    )
    channel_products_refresh(product_ids=named.values_list("pk", flat=True))
    return category


@transaction.atomic
def category_ensure_path(*, slugs: Sequence[str]) -> Category:
    """The category at the chain of `slugs` (root first), creating missing levels named after
    their slugs. A slug that exists elsewhere in the tree is refused."""
    parent = None
    for slug in slugs:
        slug = slugify(slug)
        if not slug:
            raise CatalogInvalid("Empty category slug.", code="invalid_slug", field="category")
        existing = Category.objects.filter(slug=slug).first()
        if existing is None:
            existing = category_create(
                name=slug.replace("-", " ").title(), slug=slug, parent=parent
            )
        elif existing.parent_id != (parent.pk if parent else None):
            raise CatalogInvalid(
                f"Category {slug!r} exists at {existing.path!r}, not under "
                f"{parent.path if parent else 'the root'!r}.",
                code="category_path_mismatch",
                field="category",
            )
        parent = existing
    if parent is None:
        raise CatalogInvalid("Empty category path.", code="invalid_slug", field="category")
    return parent


# --- the storefront's per-channel product rows ---------------------------------------------

REFRESH_CHUNK = 1000


def channel_products_refresh(*, product_ids: Iterable[int]) -> None:
    """Re-derive the `ChannelProduct` rows of these products from their listings, with the
    static parts of their storefront JSON (`storefront_json.product_json_parts`) and the
    product fields the storefront filters and orders by.

    Every service that changes a listing, a variant, a product or a category calls this in
    its own transaction, so the storefront never shows a product its listings do not
    support nor a field older than the last committed change. The products are locked
    (primary-key order) first so two transactions refreshing the same product take turns
    instead of racing on the (channel, product) unique key."""
    ids = sorted(set(product_ids))
    with transaction.atomic():
        for start in range(0, len(ids), REFRESH_CHUNK):
            chunk = ids[start : start + REFRESH_CHUNK]
            list(
                Product.objects.filter(pk__in=chunk)
                .order_by("pk")
                .select_for_update(of=("self",))
                .values_list("pk", flat=True)
            )
            ChannelProduct.objects.filter(product_id__in=chunk).delete()
            ChannelProduct.objects.bulk_create(_channel_products(chunk), batch_size=500)


def channel_products_fill_unfilled() -> int:
    """Refresh the products whose `ChannelProduct` rows have no stored JSON yet (a migration
    that adds or reshapes the stored pieces leaves `json_head` empty); returns how many. Run
    after `migrate` (`CatalogConfig.ready`), when the table has every column the service
    writes, which a data migration calling the service could not rely on."""
    ids = list(
        ChannelProduct.objects.filter(json_head="")
        .order_by()
        .values_list("product_id", flat=True)
        .distinct()
    )
    if ids:
        channel_products_refresh(product_ids=ids)
    return len(ids)


def _channel_products(product_ids: list[int]) -> list[ChannelProduct]:
    """The `ChannelProduct` rows of these products: one per channel where an active product
    has a published listing of an active variant. Three queries whatever the number."""
    rows = {
        row["id"]: row
        for row in Product.objects.filter(pk__in=product_ids, active=True)
        .order_by()
        .values(
            "id",
            "name",
            "slug",
            "description",
            "brand",
            "attributes",
            "images",
            "created_at",
            "category_id",
            "category__name",
            "category__slug",
            "category__path",
        )
    }
    offers: dict[tuple[int, int], list[Offer]] = defaultdict(list)
    for channel_id, *fields in (
        Listing.objects.filter(
            variant__product_id__in=list(rows), variant__active=True, published=True
        )
        .order_by()
        .values_list(
            "channel_id",
            "variant_id",
            "variant__product_id",
            "variant__sku",
            "variant__barcode",
            "variant__name",
            "variant__options",
            "variant__weight_grams",
            "price",
            "compare_at_price",
            "currency",
        )
    ):
        offers[channel_id, fields[1]].append(Offer(*fields, available=0))
    fresh = []
    for (channel_id, product_id), product_offers in offers.items():
        product_offers.sort(key=lambda offer: offer.sku)
        head, tail, parts = product_json_parts(_storefront_row(rows[product_id]), product_offers)
        prices = [offer.price for offer in product_offers]
        product = rows[product_id]
        fresh.append(
            ChannelProduct(
                channel_id=channel_id,
                product_id=product_id,
                name=product["name"],
                brand=product["brand"],
                category_path=product["category__path"] or "",
                attributes=product["attributes"],
                created_at=product["created_at"],
                price_from=min(prices),
                price_to=max(prices),
                variant_count=len(prices),
                json_head=head,
                json_tail=tail,
                json_offers=parts,
                search_text="\n".join(
                    [product["name"], product["description"]]
                    + [offer.sku for offer in product_offers]
                ),
            )
        )
    return fresh


def _storefront_row(row: dict[str, Any]) -> dict[str, Any]:
    """A product's `values()` as a row of `selectors.STOREFRONT_PRODUCT_FIELDS`."""
    return {"product_id": row["id"], **{f"product__{name}": value for name, value in row.items()}}


@transaction.atomic
def channel_products_rebuild() -> int:
    """Rebuild every `ChannelProduct` row from the listings (after bulk loads done outside
    the services, or to repair). Returns the number of rows."""
    ChannelProduct.objects.all().delete()
    channel_products_refresh(product_ids=Product.objects.values_list("pk", flat=True))
    return ChannelProduct.objects.count()


# --- products and variants ----------------------------------------------------------------


def _save_unique(obj, *, update_fields: list[str] | None = None) -> None:
    """Save, turning a unique-constraint race (two writers, same SKU) into a 409."""
    try:
        with transaction.atomic():
            obj.save(update_fields=update_fields)
    except IntegrityError as exc:
        raise CatalogConflict(
            "Another record already uses this SKU, barcode or slug.", code="duplicate"
        ) from exc


@transaction.atomic
def product_create(
    *,
    name: str,
    slug: str | None = None,
    description: str = "",
    brand: str = "",
    category: Category | None = None,
    attributes: dict | None = None,
    images: list[str] | None = None,
    active: bool = True,
) -> Product:
    """Create a product. Without a slug one is made from the name (suffixed when taken)."""
    if not name or not name.strip():
        raise CatalogInvalid("A product needs a name.", code="required", field="name")
    product = Product(
        name=name.strip(),
        slug=(
            _check_slug_free(Product, slug) if slug else _unique_slug(Product, name, max_length=220)
        ),
        description=description or "",
        brand=(brand or "").strip(),
        category=category,
        attributes=clean_attributes(attributes),
        images=clean_images(images),
        active=active,
    )
    _save_unique(product)
    return product


@transaction.atomic
def product_update(
    *,
    product: Product,
    name: str = UNSET,
    slug: str = UNSET,
    description: str = UNSET,
    brand: str = UNSET,
    category: Category | None = UNSET,
    attributes: dict = UNSET,
    images: list[str] = UNSET,
    active: bool = UNSET,
) -> Product:
    """Change the given fields of a product (others stay as they are)."""
    changes: dict[str, Any] = {}
    if name is not UNSET:
        if not name or not name.strip():
            raise CatalogInvalid("A product needs a name.", code="required", field="name")
        changes["name"] = name.strip()
    if slug is not UNSET:
        changes["slug"] = _check_slug_free(Product, slug, exclude_pk=product.pk)
    if description is not UNSET:
        changes["description"] = description or ""
    if brand is not UNSET:
        changes["brand"] = (brand or "").strip()
    if category is not UNSET:
        changes["category"] = category
    if attributes is not UNSET:
        changes["attributes"] = clean_attributes(attributes)
    if images is not UNSET:
        changes["images"] = clean_images(images)
    if active is not UNSET:
        changes["active"] = bool(active)
    changes = {k: v for k, v in changes.items() if getattr(product, k) != v}
    if not changes:
        return product
    for key, value in changes.items():
        setattr(product, key, value)
    _save_unique(product, update_fields=[*changes, "updated_at"])
    # Every field here but `active` shows in the storefront's stored JSON; `active` decides
    # whether the product shows at all.
    channel_products_refresh(product_ids=[product.pk])
    return product


def _check_sku(sku: str, *, exclude_pk: int | None = None) -> str:
    sku = (sku or "").strip()
    if not sku or len(sku) > 64 or any(ch.isspace() for ch in sku):
        raise CatalogInvalid(
            "A SKU is 1-64 characters without spaces.", code="invalid_sku", field="sku"
        )
    if Variant.objects.filter(sku=sku).exclude(pk=exclude_pk).exists():
        raise CatalogConflict(f"SKU {sku} exists already.", code="duplicate_sku", field="sku")
    return sku


def _check_barcode(barcode: Any, *, exclude_pk: int | None = None) -> str | None:
    code = clean_barcode(barcode)
    if code and Variant.objects.filter(barcode=code).exclude(pk=exclude_pk).exists():
        raise CatalogConflict(
            f"Barcode {code} belongs to another variant.", code="duplicate_barcode", field="barcode"
        )
    return code


def _check_weight(weight_grams: Any) -> int | None:
    if weight_grams is None or weight_grams == "":
        return None
    if isinstance(weight_grams, bool) or not str(weight_grams).isdigit():
        raise CatalogInvalid(
            "Weight is a whole number of grams.", code="invalid_weight", field="weight_grams"
        )
    return int(weight_grams)


@transaction.atomic
def variant_create(
    *,
    product: Product,
    sku: str,
    barcode: str | None = None,
    name: str = "",
    options: dict | None = None,
    weight_grams: int | None = None,
    active: bool = True,
) -> Variant:
    """Create a variant. Its SKU is unique across the catalog, its barcode when present."""
    variant = Variant(
        product=product,
        sku=_check_sku(sku),
        barcode=_check_barcode(barcode),
        name=(name or "").strip(),
        options=clean_options(options),
        weight_grams=_check_weight(weight_grams),
        active=active,
    )
    _save_unique(variant)
    return variant


@transaction.atomic
def variant_update(
    *,
    variant: Variant,
    sku: str = UNSET,
    barcode: str | None = UNSET,
    name: str = UNSET,
    options: dict = UNSET,
    weight_grams: int | None = UNSET,
    active: bool = UNSET,
) -> Variant:
    """Change the given fields of a variant; SKU and barcode stay unique."""
    changes: dict[str, Any] = {}
    if sku is not UNSET:
        changes["sku"] = _check_sku(sku, exclude_pk=variant.pk)
    if barcode is not UNSET:
        changes["barcode"] = _check_barcode(barcode, exclude_pk=variant.pk)
    if name is not UNSET:
        changes["name"] = (name or "").strip()
    if options is not UNSET:
        changes["options"] = clean_options(options)
    if weight_grams is not UNSET:
        changes["weight_grams"] = _check_weight(weight_grams)
    if active is not UNSET:
        changes["active"] = bool(active)
    changes = {k: v for k, v in changes.items() if getattr(variant, k) != v}
    if not changes:
        return variant
    for key, value in changes.items():
        setattr(variant, key, value)
    _save_unique(variant, update_fields=list(changes))
    # The variant's fields show in its product's stored storefront JSON.
    channel_products_refresh(product_ids=[variant.product_id])
    return variant


# --- listings -----------------------------------------------------------------------------


@transaction.atomic
def listing_upsert(
    *,
    variant: Variant,
    channel: Channel,
    price: Decimal | str,
    compare_at_price: Decimal | str | None = None,
    published: bool | None = None,
    currency: str | None = None,
) -> tuple[Listing, bool]:
    """List `variant` in `channel` at `price` (create or replace the listing); return it and
    whether it was created. The currency is the channel's (naming another is refused) and the
    price carries that currency's precision. `published` None keeps an existing listing's flag
    and publishes a new one. One INSERT ... ON CONFLICT, so concurrent callers cannot clash."""
    currency = clean_listing_currency(currency, channel=channel)
    price = clean_price(price, currency=currency)
    compare_at = clean_price(
        compare_at_price, currency=currency, field="compare_at_price", allow_none=True
    )
    clean_compare_at(price, compare_at, field="compare_at_price")
    existing = Listing.objects.filter(variant=variant, channel=channel).first()
    listing = Listing(
        variant=variant,
        channel=channel,
        price=price,
        compare_at_price=compare_at,
        currency=currency,
        published=(existing.published if existing else True) if published is None else published,
    )
    Listing.objects.bulk_create(
        [listing],
        update_conflicts=True,
        unique_fields=["variant", "channel"],
        update_fields=["price", "compare_at_price", "currency", "published", "updated_at"],
    )
    channel_products_refresh(product_ids=[variant.product_id])
    listing = Listing.objects.select_related("variant", "channel").get(
        variant=variant, channel=channel
    )
    return listing, existing is None


@transaction.atomic
def listing_update(
    *,
    listing: Listing,
    price: Decimal | str = UNSET,
    compare_at_price: Decimal | str | None = UNSET,
    published: bool = UNSET,
    currency: str | None = None,
) -> Listing:
    """Change a listing's price, compare-at price or published flag, keeping currency and
    precision rules."""
    channel = listing.channel
    currency = clean_listing_currency(currency, channel=channel)
    new_price = listing.price if price is UNSET else clean_price(price, currency=currency)
    new_compare = (
        listing.compare_at_price
        if compare_at_price is UNSET
        else clean_price(
            compare_at_price, currency=currency, field="compare_at_price", allow_none=True
        )
    )
    clean_compare_at(new_price, new_compare, field="compare_at_price")
    listing.price = new_price
    listing.compare_at_price = new_compare
    listing.currency = currency
    if published is not UNSET:
        listing.published = bool(published)
    listing.save(update_fields=["price", "compare_at_price", "currency", "published", "updated_at"])
    channel_products_refresh(product_ids=[listing.variant.product_id])
    return listing


@dataclass
class BulkUpsertResult:
    created: int = 0
    updated: int = 0
    skus: list[str] = field(default_factory=list)


@transaction.atomic(durable=True)
def listings_bulk_upsert(*, channel: Channel, rows: Sequence[dict]) -> BulkUpsertResult:
    """Create or replace the listings of many SKUs in `channel`, all or nothing.

    Each row: `sku`, `price`, optional `compare_at_price`, `published`, `currency`. Every row
    is validated first; if any fails, nothing is written and `CatalogInvalid` lists every bad
    row as `rows.<index>.<field>`. Existing listings are locked in primary-key order, then one
    INSERT ... ON CONFLICT DO UPDATE writes all rows in variant order, so concurrent upserts of
    the same SKUs neither deadlock nor fail on the unique (variant, channel) constraint; the
    products are then locked (pk order) to refresh their storefront rows.
    """
    errors: list[dict[str, str]] = []
    skus = [str(row.get("sku") or "").strip() for row in rows]
    variants = {v.sku: v for v in Variant.objects.filter(sku__in=[s for s in skus if s])}
    seen: set[str] = set()
    cleaned: list[tuple[Variant, Decimal, Decimal | None, bool | None]] = []
    for index, (row, sku) in enumerate(zip(rows, skus, strict=True)):
        prefix = f"rows.{index}"
        try:
            if not sku:
                raise CatalogInvalid("A SKU is required.", code="required", field="sku")
            if sku in seen:
                raise CatalogInvalid(
                    f"SKU {sku} appears twice in this request.", code="duplicate_row", field="sku"
                )
            seen.add(sku)
            variant = variants.get(sku)
            if variant is None:
                raise CatalogInvalid(f"Unknown SKU {sku}.", code="unknown_sku", field="sku")
            currency = clean_listing_currency(row.get("currency"), channel=channel)
            price = clean_price(row.get("price"), currency=currency)
            compare_at = clean_price(
                row.get("compare_at_price"),
                currency=currency,
                field="compare_at_price",
                allow_none=True,
            )
            clean_compare_at(price, compare_at, field="compare_at_price")
            published = row.get("published")
            if published is not None and not isinstance(published, bool):
                raise CatalogInvalid(
                    "published is true or false.", code="invalid", field="published"
                )
        except CatalogInvalid as exc:
            errors.append(
                {"field": f"{prefix}.{exc.field}", "code": exc.code, "message": exc.message}
            )
            continue
        cleaned.append((variant, price, compare_at, published))
    if errors:
        raise CatalogInvalid(
            f"{len(errors)} of {len(rows)} rows are invalid; nothing was written.",
            code="invalid_rows",
            errors=errors,
        )
    variant_ids = [v.pk for v, *_ in cleaned]
    existing = {
        listing.variant_id: listing
        for listing in Listing.objects.filter(channel=channel, variant_id__in=variant_ids)
        .order_by("pk")
        .select_for_update(of=("self",))
    }
    listings = [
        Listing(
            variant=variant,
            channel=channel,
            price=price,
            compare_at_price=compare_at,
            currency=channel.currency,
            published=(
                published
                if published is not None
                else (existing[variant.pk].published if variant.pk in existing else True)
            ),
        )
        for variant, price, compare_at, published in cleaned
    ]
    # New rows are inserted in variant order too: two requests inserting the same new
    # listings in different orders would each wait on the other's uncommitted row.
    listings.sort(key=lambda listing: listing.variant_id)
    Listing.objects.bulk_create(
        listings,
        update_conflicts=True,
        unique_fields=["variant", "channel"],
        update_fields=["price", "compare_at_price", "currency", "published", "updated_at"],
        batch_size=500,
    )
    channel_products_refresh(product_ids=[v.product_id for v, *_ in cleaned])
    created = sum(1 for v in variant_ids if v not in existing)
    return BulkUpsertResult(
        created=created, updated=len(variant_ids) - created, skus=[v.sku for v, *_ in cleaned]
    )


@dataclass
class PublishResult:
    changed: int
    without_listing: list[str]


@transaction.atomic
def listings_set_published(
    *, channel: Channel, product_ids: Iterable[int], published: bool
) -> PublishResult:
    """Publish or unpublish every listing of the given products in `channel`. Variants
    without a listing there cannot be published (they have no price in that channel); their
    SKUs are returned so staff can price them. Locks as `listings_publish`."""
    product_ids = list(product_ids)
    listing_ids = Listing.objects.filter(
        channel=channel, variant__product_id__in=product_ids
    ).values_list("pk", flat=True)
    changed = listings_publish(listing_ids=listing_ids, published=published)
    without = []
    if published:
        without = list(
            Variant.objects.filter(product_id__in=product_ids)
            .exclude(listings__channel=channel)
            .order_by("sku")
            .values_list("sku", flat=True)
        )
    return PublishResult(changed=changed, without_listing=without)


@transaction.atomic
def listings_publish(*, listing_ids: Iterable[int], published: bool) -> int:
    """Set the published flag of these listings; return how many changed. The listings are
    locked in primary-key order (as every multi-listing write here) before one conditional
    UPDATE, then their products' storefront rows are refreshed."""
    locked = list(
        Listing.objects.filter(pk__in=list(listing_ids))
        .order_by("pk")
        .select_for_update(of=("self",))
        .values_list("pk", "variant__product_id")
    )
    changed = (
        Listing.objects.filter(pk__in=[pk for pk, _ in locked])
        .exclude(published=published)
        .update(published=published, updated_at=timezone.now())
    )
    channel_products_refresh(product_ids=[product_id for _, product_id in locked])
    return changed


# --- bulk price change --------------------------------------------------------------------

MIN_PERCENT = Decimal("-90")
MAX_PERCENT = Decimal("500")


@dataclass(frozen=True)
class PriceChange:
    listing_id: int
    sku: str
    product_name: str
    channel_code: str
    currency: str
    old_price: Decimal
    new_price: Decimal
    old_compare_at: Decimal | None
    new_compare_at: Decimal | None


@dataclass
class PriceChangePreview:
    percent: Decimal
    changes: list[PriceChange]
    token: str

    @property
    def count(self) -> int:
        return len(self.changes)


def _price_change_scope(*, channel: Channel | None, category: Category | None):
    if channel is None and category is None:
        raise CatalogInvalid(
            "Choose a channel, a category or both.", code="scope_required", field="channel"
        )
    listings = Listing.objects.all()
    if channel is not None:
        listings = listings.filter(channel=channel)
    if category is not None:
        listings = listings.filter(variant__product__category__path__startswith=category.path)
    return listings


def _check_percent(percent: Decimal) -> Decimal:
    percent = money.to_decimal(percent)
    if percent == 0 or not MIN_PERCENT <= percent <= MAX_PERCENT:
        raise CatalogInvalid(
            f"The percentage is non-zero and between {MIN_PERCENT} and {MAX_PERCENT}.",
            code="invalid_percent",
            field="percent",
        )
    return percent


def _scaled(amount: Decimal | None, factor: Decimal, currency: str) -> Decimal | None:
    return None if amount is None else money.quantize(amount * factor, currency)


def _changes_and_token(listings, percent: Decimal) -> tuple[list[PriceChange], str]:
    factor = 1 + percent / 100
    digest = hashlib.sha256(f"{percent}".encode())
    changes = []
    for row in listings:
        digest.update(f"|{row.pk}:{row.price}:{row.compare_at_price}".encode())
        changes.append(
            PriceChange(
                listing_id=row.pk,
                sku=row.variant.sku,
                product_name=row.variant.product.name,
                channel_code=row.channel.code,
                currency=row.currency,
                old_price=money.quantize(row.price, row.currency),
                new_price=_scaled(row.price, factor, row.currency),
                old_compare_at=_scaled(row.compare_at_price, Decimal(1), row.currency),
                new_compare_at=_scaled(row.compare_at_price, factor, row.currency),
            )
        )
    return changes, digest.hexdigest()


def listing_price_change_preview(
    *, percent: Decimal, channel: Channel | None = None, category: Category | None = None
) -> PriceChangePreview:
    """What a change of every price by `percent` would do to the listings of `channel` and/or
    `category` (with its descendants). Price and compare-at price scale together, rounded
    half-up to each listing's currency. The token fingerprints the previewed prices; apply
    refuses it if any of them changed meanwhile."""
    percent = _check_percent(percent)
    listings = (
        _price_change_scope(channel=channel, category=category)
        .select_related("variant__product", "channel")
        .order_by("pk")
    )
    changes, token = _changes_and_token(listings, percent)
    return PriceChangePreview(percent=percent, changes=changes, token=token)


@transaction.atomic(durable=True)
def listing_price_change_apply(
    *,
    percent: Decimal,
    token: str,
    channel: Channel | None = None,
    category: Category | None = None,
) -> int:
    """Apply a previewed percentage change; return how many listings changed.

    Locks the listings in scope in primary-key order, recomputes the preview from the locked
    rows and refuses (`StalePreview`, nothing written) when its token differs from the one
    staff confirmed: a price edited or a listing added since the preview would otherwise be
    changed unseen."""
    percent = _check_percent(percent)
    listings = list(
        _price_change_scope(channel=channel, category=category)
        .select_related("variant__product", "channel")
        .order_by("pk")
        .select_for_update(of=("self",))
    )
    changes, current = _changes_and_token(listings, percent)
    if current != token:
        raise StalePreview()
    now = timezone.now()
    by_id = {listing.pk: listing for listing in listings}
    for change in changes:
        listing = by_id[change.listing_id]
        listing.price = change.new_price
        listing.compare_at_price = change.new_compare_at
        listing.updated_at = now
    Listing.objects.bulk_update(
        listings, ["price", "compare_at_price", "updated_at"], batch_size=500
    )
    channel_products_refresh(product_ids=[listing.variant.product_id for listing in listings])
    return len(listings)
