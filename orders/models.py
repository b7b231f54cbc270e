"""Orders: one model and one lifecycle for orders from every channel, with their allocations,
fulfilments, returns, refunds and timeline."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Variant
from customers.models import Customer
from inventory.models import Reservation, StockLocation
from omni.models import Channel

MONEY = {"max_digits": 14, "decimal_places": 3, "default": Decimal("0")}


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending payment"
    CONFIRMED = "confirmed", "Confirmed"
    PARTIALLY_FULFILLED = "partially_fulfilled", "Partially fulfilled"
    FULFILLED = "fulfilled", "Fulfilled"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"
    PARTIALLY_RETURNED = "partially_returned", "Partially returned"
    RETURNED = "returned", "Returned"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    AUTHORIZED = "authorized", "Authorized"
    PAID = "paid", "Paid"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"


class FulfilmentMethod(models.TextChoices):
    SHIP = "ship", "Ship"
    PICKUP = "pickup", "Pick up in store"
    SHIP_FROM_STORE = "ship_from_store", "Ship from store"
    # A sale at the till: the goods left with the shopper when it was rung up.
    IN_STORE = "in_store", "Sold in store"


class SourcingStrategyName(models.TextChoices):
    PRIORITY = "priority", "Channel location priority"
    NEAREST = "nearest", "Nearest location to the shipping address"


class ChannelOrderSettings(models.Model):
    """Per-channel order rules: which sourcing strategy picks locations, tax and shipping."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="order_settings")
    sourcing_strategy = models.CharField(
        max_length=20, choices=SourcingStrategyName.choices, default=SourcingStrategyName.PRIORITY
    )
    tax_rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default=Decimal("0"),
        help_text="Sales tax as a fraction (0.2000 = 20%); 0 means no tax is computed.",
    )
    prices_include_tax = models.BooleanField(
        default=True, help_text="Listing prices already include the tax (VAT style)."
    )
    shipping_fee = models.DecimalField(
        max_digits=14,
        decimal_places=3,
        default=Decimal("0"),
        help_text="Flat fee for shipped orders, waived when a promotion grants free shipping.",
    )

    class Meta:
        verbose_name = "channel order settings"
        verbose_name_plural = "channel order settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lt=1), name="order_settings_tax_rate"
            ),
            models.CheckConstraint(
                condition=Q(shipping_fee__gte=0), name="order_settings_shipping_fee"
            ),
        ]

    def __str__(self) -> str:
        return f"Order settings of {self.channel.code}"


class PostcodeArea(models.Model):
    """Centroid of a postcode (or postcode prefix) so the nearest-location strategy can place a
    shipping address that came without coordinates. The longest matching prefix wins."""

    country = models.CharField(max_length=2)
    prefix = models.CharField(max_length=20)
    latitude = models.DecimalField(max_digits=9, decimal_places=6)
    longitude = models.DecimalField(max_digits=9, decimal_places=6)

    class Meta:
        ordering = ["country", "prefix"]
        constraints = [
            models.UniqueConstraint(fields=["country", "prefix"], name="postcode_area_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.prefix}"


class OrderQuerySet(models.QuerySet):
    def for_channel(self, channel: Channel):
        return self.filter(channel=channel)

    def open(self):
        return self.filter(
            status__in=[
                OrderStatus.PENDING,
                OrderStatus.CONFIRMED,
                OrderStatus.PARTIALLY_FULFILLED,
            ]
        )


class Order(models.Model):
    """An order from any channel. Lines keep the price and discounts quoted when it was placed;
    `quote` stores that whole quote. `status` changes only through orders.state."""

    number = models.CharField(max_length=32, unique=True, null=True, editable=False)
    # Indexed by the (channel, external_id) and (channel, status, created_at) indexes.
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, related_name="orders", db_index=False
    )
    external_id = models.CharField(
        max_length=120,
        null=True,
        blank=True,
        help_text="The channel's own id of the order (feed id, POS client id); unique per channel.",
    )
    status = models.CharField(
        max_length=24, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # Snapshot as given when the order was placed: the profile may change or be erased later.
    customer_name = models.CharField(max_length=200, blank=True)
    customer_email = models.CharField(max_length=254, blank=True)
    customer_phone = models.CharField(max_length=32, blank=True)
    shipping_address = models.JSONField(default=dict, blank=True)
    billing_address = models.JSONField(default=dict, blank=True)
    fulfilment_method = models.CharField(
        max_length=20, choices=FulfilmentMethod.choices, default=FulfilmentMethod.SHIP
    )
    pickup_location = models.ForeignKey(
        StockLocation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(**MONEY)
    discount_total = models.DecimalField(**MONEY)
    shipping_total = models.DecimalField(**MONEY)
    tax_total = models.DecimalField(**MONEY)
    total = models.DecimalField(**MONEY)
    refunded_total = models.DecimalField(**MONEY)
    voucher_code = models.CharField(max_length=64, blank=True)
    loyalty_points_redeemed = models.PositiveIntegerField(default=0)
    loyalty_points_earned = models.PositiveIntegerField(default=0)
    payment_status = models.CharField(
        max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    payment_reference = models.CharField(max_length=120, blank=True)
    payment_amount = models.DecimalField(**MONEY)
    quote = models.JSONField(default=dict, blank=True, help_text="The pricing quote as placed.")
    exchange_for = models.ForeignKey(
        "Return",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchange_orders",
        help_text="The return this order replaces goods for.",
        db_index=False,
    )
    sourcing_strategy = models.CharField(max_length=20, blank=True)
    note = models.TextField(blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"], name="order_channel_external_id"
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(refunded_total__gte=0), name="order_refunded_not_negative"
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "status", "created_at"]),
            # A plain index: status is never matched with LIKE, so no varchar_pattern_ops twin.
            models.Index(fields=["status"], name="order_status"),
            # Mostly NULL (storefront orders): only the rows that have one are indexed, which
            # is all a lookup or an ON DELETE check by these keys reads.
            *(
                models.Index(
                    fields=[name], name=f"order_{name}", condition=Q(**{f"{name}__isnull": False})
                )
                for name in ("pickup_location", "exchange_for", "placed_by")
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"order #{self.pk}"


class OrderLine(models.Model):
    """A variant ordered. Quantities only move through conditional F() updates in services:
    open = quantity - cancelled - fulfilled; returned <= fulfilled."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="order_lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    quantity = models.PositiveIntegerField()
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_cancelled = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)
    unit_price = models.DecimalField(max_digits=14, decimal_places=3)
    discounts = models.JSONField(default=list, blank=True)
    discount_total = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    line_total = models.DecimalField(max_digits=14, decimal_places=3)
    fulfilment_method = models.CharField(max_length=20, choices=FulfilmentMethod.choices)
    pickup_location = models.ForeignKey(
        StockLocation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["order", "id"]
        indexes = [
            # Pickup lines only (see Order's partial indexes).
            models.Index(
                fields=["pickup_location"],
                name="order_line_pickup_location",
                condition=Q(pickup_location__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="order_line_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(
                    quantity__gte=F("quantity_fulfilled") + F("quantity_cancelled"),
                ),
                name="order_line_fulfilled_cancelled_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_fulfilled")),
                name="order_line_returned_within_fulfilled",
            ),
            models.CheckConstraint(
                condition=Q(fulfilment_method="pickup", pickup_location__isnull=False)
                | ~Q(fulfilment_method="pickup"),
                name="order_line_pickup_has_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"

    @property
    def quantity_open(self) -> int:
        return self.quantity - self.quantity_fulfilled - self.quantity_cancelled


class Allocation(models.Model):
    """Units of a line reserved at one location, how they were chosen and why.

    `reservation` points at the inventory hold while units are still held; it is cleared when
    they are committed (goods left) or released (cancelled)."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="allocations")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_fulfilled = models.PositiveIntegerField(default=0)
    quantity_released = models.PositiveIntegerField(default=0)
    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    strategy = models.CharField(max_length=20)
    reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["line", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="allocation_quantity_positive"
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=F("quantity_fulfilled") + F("quantity_released")),
                name="allocation_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id} at {self.location_id}"

    @property
    def quantity_open(self) -> int:
        return self.quantity - self.quantity_fulfilled - self.quantity_released


class FulfilmentStatus(models.TextChoices):
    OPEN = "open", "Picking"
    PACKED = "packed", "Packed"
    SHIPPED = "shipped", "Shipped"
    READY = "ready", "Ready for pickup"
    COLLECTED = "collected", "Collected"
    CANCELLED = "cancelled", "Cancelled"


class Fulfilment(models.Model):
    """Goods of one order leaving one location: shipped (carrier, tracking) or picked up.
    Stock is committed when they leave (shipped or collected)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfilments")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=20, choices=FulfilmentMethod.choices)
    status = models.CharField(
        max_length=12,
        choices=FulfilmentStatus.choices,
        default=FulfilmentStatus.OPEN,
        db_index=True,
    )
    carrier = models.CharField(max_length=60, blank=True)
    tracking_number = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    collected_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["location", "method", "status"])]

    def __str__(self) -> str:
        return f"Fulfilment #{self.pk} of {self.order} at {self.location_id}"


class FulfilmentLine(models.Model):
    fulfilment = models.ForeignKey(Fulfilment, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="fulfilment_lines")
    allocation = models.ForeignKey(
        Allocation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="fulfilment_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id}"


class Return(models.Model):
    """Goods of a fulfilled order brought back at any location (not only where bought)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    channel = models.ForeignKey(
        Channel,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The channel the return was received through.",
    )
    reason = models.CharField(max_length=255, blank=True)
    external_id = models.CharField(max_length=120, null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "external_id"], name="return_external_id"),
        ]

    def __str__(self) -> str:
        return f"Return #{self.pk} of {self.order}"


class ReturnLine(models.Model):
    return_record = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()
    restock = models.BooleanField(
        default=True, help_text="Back on the shelf at the return location; else written off."
    )
    reason = models.CharField(max_length=255, blank=True)
    refund_amount = models.DecimalField(**MONEY)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="return_line_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.line_id}"


class RefundMethod(models.TextChoices):
    ORIGINAL_PAYMENT = "original_payment", "Original payment method"
    CASH = "cash", "Cash"
    STORE_CREDIT = "store_credit", "Store credit"
    EXCHANGE = "exchange", "Exchange credit"


class Refund(models.Model):
    """Money given back (recorded, not processed: the channel or till pays it out)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    return_record = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    method = models.CharField(max_length=20, choices=RefundMethod.choices)
    reference = models.CharField(max_length=120, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} of {self.order}"


class TimelineEvent(models.Model):
    """What happened to an order, when, and who did it (a staff user, a channel, the system)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=40)
    message = models.CharField(max_length=255)
    data = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    actor = models.CharField(max_length=120, help_text="Who acted: staff login, channel, system.")
    # Read per order only (through the order index), never across orders by time.
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Staff actions only: channel and system events carry no user.
            models.Index(
                fields=["user"], name="timeline_event_user", condition=Q(user__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.order_id}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` a channel sent with a placement: the fingerprint of the body it came
    with and the response it got, so a replay returns the same answer."""

    # Indexed by the unique (channel, key) index.
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "key"], name="idempotency_channel_key"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.key}"
