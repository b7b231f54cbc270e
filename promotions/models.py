"""Promotions, voucher codes, their redemptions and the record of what each promotion gave."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from catalog.models import Category, Product, Variant
from omni.models import Channel


class PromotionKind(models.TextChoices):
    CATALOGUE = "catalogue", "Catalogue rule (per unit)"
    SPEND_THRESHOLD = "spend_threshold", "Spend threshold (basket)"
    BUY_X_GET_Y = "buy_x_get_y", "Buy X get Y (basket)"
    BUNDLE = "bundle", "Bundle price (basket)"
    FREE_SHIPPING = "free_shipping", "Free shipping (basket)"


BASKET_KINDS = frozenset(
    {
        PromotionKind.SPEND_THRESHOLD,
        PromotionKind.BUY_X_GET_Y,
        PromotionKind.BUNDLE,
        PromotionKind.FREE_SHIPPING,
    }
)


class DiscountType(models.TextChoices):
    PERCENT = "percent", "Percentage off"
    AMOUNT = "amount", "Fixed amount off"
    FIXED_PRICE = "fixed_price", "Fixed price"


class Trigger(models.TextChoices):
    AUTOMATIC = "automatic", "Automatic"
    VOUCHER = "voucher", "Needs a voucher code"


class PromotionQuerySet(models.QuerySet):
    def live_or_upcoming(self, *, at):
        """Enabled promotions that have not ended at `at` (the window's start is checked at
        quote time so a cached list stays right when a window opens)."""
        return self.filter(active=True).filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))


class Promotion(models.Model):
    """One pricing rule. Catalogue rules discount each unit of the lines they target; basket
    rules look at the targeted lines together. An empty target list means every product, an
    empty channel list every channel, empty tiers and segments every customer (guests too).

    Amounts (`value` for amount/fixed price, `min_spend`, `bundle_price`) are in the quoting
    channel's currency; set `currency` to keep a money rule out of channels priced otherwise.
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(
        max_length=20, choices=PromotionKind.choices, default=PromotionKind.CATALOGUE
    )
    discount_type = models.CharField(
        max_length=20,
        choices=DiscountType.choices,
        default=DiscountType.PERCENT,
        help_text="Catalogue: percent, amount or fixed price per unit. Spend threshold: "
        "percent or amount of the targeted lines. Buy X get Y: percent off the Y units "
        "(100 = free) or amount off each of them.",
    )
    value = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.AUTOMATIC)
    active = models.BooleanField(default=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.IntegerField(
        default=0, help_text="Higher runs first within its stage (catalogue, then basket)."
    )
    exclusive = models.BooleanField(
        default=False,
        help_text="Lines it discounts get no other promotion; it is skipped on lines an "
        "earlier promotion already discounted.",
    )
    currency = models.CharField(max_length=3, blank=True)
    min_spend = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=0,
        help_text="The targeted lines must come to at least this after earlier discounts "
        "(the threshold of a spend-threshold or free-shipping rule; a voucher's minimum spend).",
    )
    buy_quantity = models.PositiveIntegerField(default=0)
    get_quantity = models.PositiveIntegerField(default=0)
    bundle_quantity = models.PositiveIntegerField(default=0)
    bundle_price = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    # Targets: any match qualifies a line; none at all means every line.
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    variants = models.ManyToManyField(Variant, blank=True, related_name="+")
    categories = models.ManyToManyField(
        Category, blank=True, related_name="+", help_text="Includes their subcategories."
    )
    brands = models.JSONField(default=list, blank=True)
    channels = models.ManyToManyField(Channel, blank=True, related_name="+")
    customer_tiers = models.JSONField(default=list, blank=True)
    customer_segments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PromotionQuerySet.as_manager()

    class Meta:
        ordering = ["-priority", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=F("starts_at")),
                name="promotion_ends_after_start",
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="promotion_value_not_negative"),
            models.CheckConstraint(
                condition=Q(min_spend__gte=0) & Q(bundle_price__gte=0),
                name="promotion_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The end must come after the start."
        percent = self.discount_type == DiscountType.PERCENT
        if percent and self.value is not None and self.value > 100:
            errors["value"] = "A percentage is at most 100."
        if self.kind == PromotionKind.BUY_X_GET_Y and (
            self.buy_quantity < 1 or self.get_quantity < 1
        ):
            errors["buy_quantity"] = "Buy X get Y needs X and Y of at least 1."
        if self.kind == PromotionKind.BUNDLE and self.bundle_quantity < 2:
            errors["bundle_quantity"] = "A bundle has at least 2 units."
        if self.kind == PromotionKind.SPEND_THRESHOLD and self.discount_type not in (
            DiscountType.PERCENT,
            DiscountType.AMOUNT,
        ):
            errors["discount_type"] = "A spend threshold takes a percentage or an amount off."
        bxgy = self.kind == PromotionKind.BUY_X_GET_Y
        if bxgy and self.discount_type == DiscountType.FIXED_PRICE:
            errors["discount_type"] = "Buy X get Y takes a percentage or an amount off."
        for field in ("brands", "customer_tiers", "customer_segments"):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[field] = "A list of names."
        if errors:
            raise ValidationError(errors)


class Voucher(models.Model):
    """A code that unlocks a voucher-triggered promotion. `times_used` counts redemptions not
    released; it only moves by conditional UPDATE under the row lock (see services)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="vouchers")
    code = models.CharField(max_length=64, unique=True, help_text="Stored upper-case.")
    batch = models.CharField(max_length=64, blank=True, db_index=True)
    active = models.BooleanField(default=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    usage_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    per_customer_limit = models.PositiveIntegerField(null=True, blank=True)
    times_used = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(usage_limit__isnull=True) | Q(times_used__lte=F("usage_limit")),
                name="voucher_used_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True)
                | Q(valid_from__isnull=True)
                | Q(valid_until__gt=F("valid_from")),
                name="voucher_valid_until_after_from",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The end must come after the start."})
        if self.promotion_id and self.promotion.trigger != Trigger.VOUCHER:
            raise ValidationError({"promotion": "Choose a promotion triggered by a voucher."})


class VoucherRedemption(models.Model):
    """One order's use of a code. Released (cancelled order) rows stay for the audit trail."""

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="redemptions")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order_reference = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["voucher", "order_reference"], name="voucher_redemption_once_per_order"
            ),
        ]
        indexes = [models.Index(fields=["voucher", "customer"])]

    def __str__(self) -> str:
        return f"{self.voucher.code} on {self.order_reference}"


class PromotionUse(models.Model):
    """What one promotion gave on one placed order, written by the orders app through
    `promotion_uses_record`; the per-promotion report sums these rows."""

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="uses")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    order_reference = models.CharField(max_length=64, db_index=True)
    voucher_code = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3)
    discount = models.DecimalField(max_digits=14, decimal_places=3)
    # Net amount of the order lines the promotion discounted, and of the whole order.
    revenue = models.DecimalField(max_digits=14, decimal_places=3)
    order_total = models.DecimalField(max_digits=14, decimal_places=3)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "order_reference"], name="promotion_use_once_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.promotion} on {self.order_reference}"
