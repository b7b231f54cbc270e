"""Analytics tables: order facts copied out of orders, daily rollups the KPIs read, behaviour
events, stock snapshots, recommendations, forecasts and replenishment suggestions.

Facts and rollups refer to orders, customers, variants and locations by id without database
constraints (`db_constraint=False` or plain integers): they are derived data that the builders
rewrite, and a deleted or merged row elsewhere must never block the owning app.
"""

from django.db import models
from django.db.models import Q

from catalog.models import Product, Variant
from inventory.models import StockLocation
from omni.models import Channel

MONEY = {"max_digits": 16, "decimal_places": 3, "default": 0}


def _fk(model, **extra):
    return models.ForeignKey(
        model, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", **extra
    )


class RollupWatermark(models.Model):
    """How far the periodic refresh has read the orders' `updated_at`."""

    name = models.CharField(max_length=40, unique=True)
    value = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} at {self.value:%Y-%m-%d %H:%M:%S}"


# --- facts: one row per order / allocated line piece / returned line -------------------------


class OrderFact(models.Model):
    """An order as analytics counts it. `day` is the order's local date in its channel."""

    order_id = models.BigIntegerField(unique=True)
    channel = _fk(Channel)
    customer_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    placed_at = models.DateTimeField()
    day = models.DateField()
    month = models.DateField(help_text="First day of `day`'s month.")
    status = models.CharField(max_length=30)
    cancelled = models.BooleanField(default=False)
    first_order = models.BooleanField(
        default=False, help_text="The customer's first non-cancelled order (by placed_at, id)."
    )
    pickup = models.BooleanField(default=False)
    collected = models.BooleanField(default=False)
    fulfil_hours = models.IntegerField(
        null=True, blank=True, help_text="Whole hours from placement to fulfilment."
    )
    currency = models.CharField(max_length=3)
    units = models.IntegerField(default=0)
    gross = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)
    net = models.DecimalField(**MONEY)

    class Meta:
        indexes = [models.Index(fields=["day", "channel"])]

    def __str__(self) -> str:
        return f"order {self.order_id} on {self.day}"


class OrderLineFact(models.Model):
    """The part of an order line allocated to one location (lines split across locations give
    several rows; amounts are prorated by quantity)."""

    line_id = models.BigIntegerField()
    order_id = models.BigIntegerField(db_index=True)
    channel = _fk(Channel)
    customer_id = models.BigIntegerField(null=True, blank=True)
    variant = _fk(Variant)
    product = _fk(Product)
    location = _fk(StockLocation, null=True, blank=True)
    day = models.DateField()
    cancelled = models.BooleanField(default=False)
    quantity = models.IntegerField()
    gross = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY)
    net = models.DecimalField(**MONEY)

    class Meta:
        indexes = [models.Index(fields=["day", "variant"])]

    def __str__(self) -> str:
        return f"line {self.line_id} x{self.quantity} @ {self.location_id}"


class ReturnFact(models.Model):
    """Units of an order line returned, on the day and at the location they came back."""

    return_line_id = models.BigIntegerField(unique=True)
    order_id = models.BigIntegerField(db_index=True)
    channel = _fk(Channel)
    variant = _fk(Variant)
    product = _fk(Product)
    location = _fk(StockLocation, null=True, blank=True)
    day = models.DateField()
    quantity = models.IntegerField()
    amount = models.DecimalField(**MONEY)

    class Meta:
        indexes = [models.Index(fields=["day", "channel"])]

    def __str__(self) -> str:
        return f"return line {self.return_line_id} x{self.quantity}"


# --- rollups ----------------------------------------------------------------------------------


class ChannelDay(models.Model):
    """Sales of one channel on one day. Cancelled orders count only in `cancelled_orders`
    (and, for pickups never collected, in `pickup_orders`); returns count on the day they
    came back."""

    channel = _fk(Channel)
    day = models.DateField()
    orders = models.IntegerField(default=0)
    cancelled_orders = models.IntegerField(default=0)
    units = models.IntegerField(default=0)
    gross_sales = models.DecimalField(**MONEY)
    discounts = models.DecimalField(**MONEY)
    net_sales = models.DecimalField(**MONEY)
    returned_units = models.IntegerField(default=0)
    returns_amount = models.DecimalField(**MONEY)
    new_customer_orders = models.IntegerField(default=0)
    returning_customer_orders = models.IntegerField(default=0)
    guest_orders = models.IntegerField(default=0)
    pickup_orders = models.IntegerField(default=0)
    pickups_collected = models.IntegerField(default=0)
    fulfilled_orders = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="analytics_channelday_unique")
        ]
        indexes = [models.Index(fields=["day"])]
        permissions = [
            ("view_kpis", "Can view analytics KPIs, dashboards and exports"),
            ("manage_replenishment", "Can act on replenishment suggestions"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day}"


class Dashboard(ChannelDay):
    """The admin's analytics dashboard entry (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"


class VariantLocationDay(models.Model):
    """Sales of one variant from one location on one day (all channels)."""

    variant = _fk(Variant)
    product = _fk(Product)
    location = _fk(StockLocation, null=True, blank=True)
    day = models.DateField()
    orders = models.IntegerField(default=0)
    units = models.IntegerField(default=0)
    gross_sales = models.DecimalField(**MONEY)
    discounts = models.DecimalField(**MONEY)
    net_sales = models.DecimalField(**MONEY)
    returned_units = models.IntegerField(default=0)
    returns_amount = models.DecimalField(**MONEY)
    new_customer_orders = models.IntegerField(default=0)
    returning_customer_orders = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location", "day"], name="analytics_variantlocday_unique"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id} {self.day}"


class FulfilmentDay(models.Model):
    """Histogram of order-to-fulfilment time: orders placed on `day` fulfilled after `hours`."""

    channel = _fk(Channel)
    day = models.DateField()
    hours = models.IntegerField()
    orders = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "day", "hours"], name="analytics_fulfilmentday_unique"
            )
        ]
        # Covering index: the percentile query over a date range reads only the index.
        indexes = [
            models.Index(
                fields=["day"],
                include=["hours", "orders", "channel"],
                name="analytics_fd_day_cover",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day} {self.hours}h: {self.orders}"


class CustomerChannel(models.Model):
    """A customer's non-cancelled orders in one channel (first/last day, count, net sales)."""

    customer_id = models.BigIntegerField()
    channel = _fk(Channel)
    first_day = models.DateField()
    first_placed_at = models.DateTimeField()
    last_day = models.DateField()
    orders = models.IntegerField(default=0)
    net_sales = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "channel"], name="analytics_customerchannel_unique"
            )
        ]
        indexes = [models.Index(fields=["first_day"])]

    def __str__(self) -> str:
        return f"customer {self.customer_id} in {self.channel_id}"


class CustomerMonth(models.Model):
    """A customer's activity in one calendar month (cohort retention reads this)."""

    customer_id = models.BigIntegerField()
    month = models.DateField(help_text="First day of the month.")
    orders = models.IntegerField(default=0)
    net_sales = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "month"], name="analytics_customermonth_unique"
            )
        ]
        indexes = [models.Index(fields=["month"])]

    def __str__(self) -> str:
        return f"customer {self.customer_id} {self.month:%Y-%m}"


class StockDay(models.Model):
    """End-of-day stock of a variant at a location (stockout rate, turnover, days of cover)."""

    variant = _fk(Variant)
    location = _fk(StockLocation)
    day = models.DateField()
    on_hand = models.IntegerField()
    available = models.IntegerField()
    incoming = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location", "day"], name="analytics_stockday_unique"
            )
        ]
        indexes = [models.Index(fields=["day"])]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id} {self.day}: {self.on_hand}"


# --- behaviour events -------------------------------------------------------------------------


class EventKind(models.TextChoices):
    PRODUCT_VIEW = "product_view", "Product view"
    ADD_TO_CART = "add_to_cart", "Add to cart"
    CHECKOUT_START = "checkout_start", "Checkout start"


class BehaviourEvent(models.Model):
    """A storefront event. `event_id` is the sender's id: a redelivered event is ignored."""

    event_id = models.UUIDField(unique=True)
    channel = _fk(Channel)
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    session_id = models.CharField(max_length=64)
    customer_id = models.BigIntegerField(null=True, blank=True)
    variant = _fk(Variant, null=True, blank=True)
    product = _fk(Product, null=True, blank=True)
    occurred_at = models.DateTimeField()
    day = models.DateField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["channel", "day"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class EventDay(models.Model):
    """Events and distinct sessions per channel, day and kind (the conversion funnel)."""

    channel = _fk(Channel)
    day = models.DateField()
    kind = models.CharField(max_length=20, choices=EventKind.choices)
    events = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "day", "kind"], name="analytics_eventday_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day} {self.kind}"


# --- recommendations --------------------------------------------------------------------------


class ProductAffinity(models.Model):
    """ "Bought together": orders holding both products, and a lift-style score."""

    product = _fk(Product)
    related = _fk(Product)
    orders_together = models.IntegerField()
    score = models.FloatField()

    class Meta:
        ordering = ["product", "-score"]
        constraints = [
            models.UniqueConstraint(fields=["product", "related"], name="analytics_affinity_pair")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} -> {self.related_id} ({self.score:.2f})"


class CustomerSuggestion(models.Model):
    """Products suggested to a customer from their history across channels."""

    customer_id = models.BigIntegerField(db_index=True)
    product = _fk(Product)
    score = models.FloatField()
    rank = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["customer_id", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "product"], name="analytics_suggestion_unique"
            )
        ]

    def __str__(self) -> str:
        return f"customer {self.customer_id}: {self.product_id} #{self.rank}"


# --- forecasts and replenishment ----------------------------------------------------------------


class ForecastMethod(models.TextChoices):
    HOLT_WINTERS = "holt_winters", "Holt-Winters (weekly seasonality)"
    SEASONAL_NAIVE = "seasonal_naive", "Seasonal naive (same weekday last week)"
    MEAN = "mean", "Mean of recent days"


class DemandForecast(models.Model):
    """Forecast units for a day, per variant x location (channel empty) or per channel (variant
    and location empty)."""

    variant = _fk(Variant, null=True, blank=True)
    location = _fk(StockLocation, null=True, blank=True)
    channel = _fk(Channel, null=True, blank=True)
    day = models.DateField()
    quantity = models.FloatField()
    method = models.CharField(max_length=20, choices=ForecastMethod.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["variant", "location", "day"]),
            models.Index(fields=["channel", "day"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(channel__isnull=True, variant__isnull=False, location__isnull=False)
                    | Q(channel__isnull=False, variant__isnull=True, location__isnull=True)
                ),
                name="analytics_forecast_one_scope",
            )
        ]

    def __str__(self) -> str:
        return f"{self.variant_id or self.channel_id} {self.day}: {self.quantity:.1f}"


class SuggestionKind(models.TextChoices):
    PURCHASE = "purchase", "Purchase order"
    TRANSFER = "transfer", "Transfer between locations"


class SuggestionStatus(models.TextChoices):
    OPEN = "open", "Open"
    CONVERTED = "converted", "Turned into a transfer"
    DISMISSED = "dismissed", "Dismissed"


class ReplenishmentSuggestion(models.Model):
    """What to order or move to a location so it covers lead-time demand plus safety stock."""

    variant = _fk(Variant)
    location = _fk(StockLocation)
    kind = models.CharField(max_length=10, choices=SuggestionKind.choices)
    source_location = _fk(StockLocation, null=True, blank=True)
    quantity = models.PositiveIntegerField()
    forecast_daily = models.FloatField()
    lead_time_days = models.PositiveSmallIntegerField()
    lead_time_demand = models.FloatField()
    safety_stock = models.PositiveIntegerField()
    on_hand = models.IntegerField()
    available = models.IntegerField()
    in_transit = models.IntegerField()
    status = models.CharField(
        max_length=10, choices=SuggestionStatus.choices, default=SuggestionStatus.OPEN
    )
    transfer_reference = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-quantity", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="analytics_suggestion_qty"),
            models.UniqueConstraint(
                fields=["variant", "location"],
                condition=Q(status="open"),
                name="analytics_one_open_suggestion",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} x {self.variant_id} -> {self.location_id}"
