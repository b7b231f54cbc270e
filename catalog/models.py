"""Catalog: categories, products, variants (SKUs) and per-channel listings with prices."""

from django.db import models
from django.db.models import Q

from omni.models import Channel


class Category(models.Model):
    """A node of the category tree. `path` is the materialised chain of slugs ("a/b/c/") so
    "this category and its descendants" is one indexed prefix match (PostgreSQL adds a
    pattern-ops index for db_index CharFields)."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=1000, editable=False, db_index=True)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.path.rstrip("/").replace("/", " > ") or self.name


class ProductQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Product(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=220, unique=True)
    description = models.TextField(blank=True)
    brand = models.CharField(max_length=120, blank=True, db_index=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    # Typed key/values: {"material": {"type": "text", "value": "cotton"}, ...}
    attributes = models.JSONField(default=dict, blank=True)
    images = models.JSONField(default=list, blank=True, help_text="Image URLs, first is main.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            # Storefront default ordering (name, then id as the tie-breaker) and "newest".
            models.Index(fields=["name", "id"], name="product_name_id_idx"),
            models.Index(fields=["active", "category"], name="product_active_category_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """A sellable unit with its own SKU; stock, listings and order lines refer to variants."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=32, null=True, blank=True)
    name = models.CharField(max_length=200, blank=True)
    # Option values such as {"size": "M", "colour": "navy"}.
    options = models.JSONField(default=dict, blank=True)
    weight_grams = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sku"]
        constraints = [
            models.UniqueConstraint(
                fields=["barcode"],
                condition=Q(barcode__isnull=False),
                name="variant_barcode_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.sku


class Listing(models.Model):
    """A variant offered in one channel: whether it is published there and at what price, in
    the channel's currency."""

    # No index of their own: the unique (variant, channel) leads with the variant, and both
    # indexes below lead with the channel (lookups and cascades by either use those).
    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, related_name="listings", db_index=False
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="listings", db_index=False
    )
    published = models.BooleanField(default=True)
    price = models.DecimalField(max_digits=14, decimal_places=3)
    compare_at_price = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    currency = models.CharField(max_length=3)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="listing_variant_channel"),
            models.CheckConstraint(condition=Q(price__gte=0), name="listing_price_not_negative"),
            models.CheckConstraint(
                condition=Q(compare_at_price__isnull=True) | Q(compare_at_price__gte=0),
                name="listing_compare_at_not_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "published", "price"]),
            # "Which variants are published in this channel": an index-only semi-join.
            models.Index(
                fields=["channel", "published", "variant"], name="listing_channel_pub_var_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.channel.code}"


class ChannelProduct(models.Model):
    """A product as one channel sells it, derived from its listings: the row exists only while
    the product is active and has a published listing of an active variant in the channel,
    and carries the cheapest and dearest of those prices.

    The storefront lists, counts, price-filters and price-orders from this table, and writes
    its list page from the JSON pieces stored here, so a request never aggregates listings
    nor builds a product's JSON. Catalog services keep it current in the same
    transaction as every listing, variant, product or category change
    (`channel_products_refresh`);
    `manage.py catalog_refresh_channel_products` rebuilds it from scratch.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="channel_rows")
    price_from = models.DecimalField(max_digits=14, decimal_places=3)
    price_to = models.DecimalField(max_digits=14, decimal_places=3)
    variant_count = models.PositiveIntegerField()
    # The static parts of the product's storefront JSON in this channel, written by
    # `catalog.storefront_json.product_json_parts`: the opening members (product, category),
    # the created_at member, and [variant id, opening members] per offer by SKU. The list
    # page joins them with the channel's currency, price_from and the live
    # available-to-sell; nothing here depends on stock.
    json_head = models.TextField(default="", editable=False)
    json_tail = models.TextField(default="", editable=False)
    json_offers = models.JSONField(default=list, editable=False)
    # Copies of the product fields the storefront filters and orders by, so a list page and
    # its count are scans of this table's indexes (all led by the channel) instead of joins
    # with the products. `category_path` is the product's category path ("" without one);
    # on PostgreSQL a subtree is a range of it under the "C" collation (migration 0006 adds
    # that index and a GIN index on `attributes`).
    name = models.CharField(max_length=200, default="", editable=False)
    brand = models.CharField(max_length=120, default="", editable=False)
    category_path = models.CharField(max_length=1000, default="", editable=False)
    attributes = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(editable=False)
    # What the storefront's free-text search matches: the product's name, its description and
    # the SKUs of its offers in this channel, one per line (a search word has no whitespace,
    # so it matches here exactly when it is in one of them). On PostgreSQL a trigram index on
    # its upper case serves the search (migration 0007).
    search_text = models.TextField(default="", editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "product"], name="channelproduct_channel_product"
            ),
        ]
        indexes = [
            models.Index(
                fields=["channel", "price_from", "product"], name="channelproduct_price_idx"
            ),
            models.Index(fields=["channel", "name", "product"], name="channelproduct_name_idx"),
            models.Index(
                fields=["channel", "created_at", "product"], name="channelproduct_created_idx"
            ),
            models.Index(
                fields=["channel", "brand", "name", "product"],
                include=["price_from"],
                name="channelproduct_brand_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} @ {self.channel_id}"
