"""Inventory: stock locations, stock per (variant, location), reservations and the ledger."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from catalog.models import Variant
from omni.models import Channel


class LocationKind(models.TextChoices):
    WAREHOUSE = "warehouse", "Warehouse"
    STORE = "store", "Store"
    DROPSHIP = "dropship", "Dropship supplier"


class StockLocation(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LocationKind.choices)
    address_line = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    pickup_enabled = models.BooleanField(default=False)
    ships_enabled = models.BooleanField(default=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ChannelLocation(models.Model):
    """A location a channel sells from; lower `priority` is sourced first."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="channel_locations")
    location = models.ForeignKey(
        StockLocation, on_delete=models.CASCADE, related_name="channel_locations"
    )
    priority = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["channel", "priority", "location"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "location"], name="channel_location_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code} <- {self.location.code} (#{self.priority})"


class Stock(models.Model):
    """Units of one variant at one location. `available = on_hand - reserved`.

    The CHECK constraints are the last line of defence against overselling: every change goes
    through a conditional UPDATE or a row lock in inventory.services.
    """

    # No index of its own: the unique (variant, location) index leads with it.
    variant = models.ForeignKey(
        Variant, on_delete=models.PROTECT, related_name="stocks", db_index=False
    )
    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="stocks")
    on_hand = models.IntegerField(default=0)
    reserved = models.IntegerField(default=0)
    incoming = models.IntegerField(default=0, help_text="Units in transit to this location.")
    reorder_point = models.IntegerField(default=0)
    needs_count = models.BooleanField(
        default=False, help_text="Flagged for a cycle count after a discrepancy."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["variant", "location"], name="stock_variant_location"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(
                condition=Q(reserved__gte=0), name="stock_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
            models.CheckConstraint(
                condition=Q(incoming__gte=0), name="stock_incoming_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reorder_point__gte=0), name="stock_reorder_point_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class MovementReason(models.TextChoices):
    RECEIPT = "receipt", "Receipt"
    SALE = "sale", "Sale"
    RETURN = "return", "Return"
    ADJUSTMENT = "adjustment", "Adjustment"
    COUNT_CORRECTION = "count_correction", "Count correction"
    TRANSFER_OUT = "transfer_out", "Transfer out"
    TRANSFER_IN = "transfer_in", "Transfer in"
    DAMAGE = "damage", "Damage write-off"
    DISCREPANCY = "discrepancy", "Sale discrepancy"


class StockMovement(models.Model):
    """Append-only ledger: one row per change of `on_hand`; their sum equals `on_hand`."""

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="movements")
    reason = models.CharField(max_length=20, choices=MovementReason.choices)
    quantity = models.IntegerField(help_text="Signed change of on_hand.")
    # Indexed for the ledger's exact `reference=` filter (Meta.indexes, so PostgreSQL gets no
    # varchar_pattern_ops twin: nothing matches references by prefix through an index, and
    # every stock movement would write it).
    reference = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=255, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(quantity=0), name="movement_quantity_not_zero"),
        ]
        indexes = [models.Index(fields=["reference"], name="movement_reference")]

    def __str__(self) -> str:
        return f"{self.reason} {self.quantity:+d} ({self.reference})"


class ReservationKind(models.TextChoices):
    ORDER = "order", "Order line"
    CART = "cart", "Cart hold"


class Reservation(models.Model):
    """Units held at one location for an order line or a cart, until committed or released.

    Cart holds carry `expires_at`; a beat task releases them once it has passed.
    """

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservations")
    # A plain integer: `reservation_quantity_positive` is its one CHECK (a PositiveIntegerField
    # would add a weaker `>= 0` twin that every reservation insert evaluates too).
    quantity = models.IntegerField(validators=[MinValueValidator(1)])
    # Not indexed, like `expires_at` alone: every checkout inserts a reservation, and every
    # index is written under the stock row's lock. Reservations are reached through their order
    # allocation; the expiry task reads them by (kind, expires_at).
    reference = models.CharField(max_length=120)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(
        max_length=10, choices=ReservationKind.choices, default=ReservationKind.ORDER
    )
    # No database constraint: every checkout would otherwise take a KEY SHARE lock on the one
    # channel row at commit, and concurrent checkouts of a channel would contend on it. No
    # index either: no query looks reservations up by channel (the admin's channel filter and
    # a channel's deletion scan the open reservations, a small table), and every checkout
    # would write it while the stock row is locked.
    channel = models.ForeignKey(
        Channel,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
        ]
        # Only the expiry task reads by expiry, and only cart holds expire: order reservations,
        # one per checkout, stay out of the index and do not write it.
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="reservation_cart_expiry",
                condition=Q(kind=ReservationKind.CART),
            )
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x stock {self.stock_id} for {self.reference}"


class AvailabilityMark(models.Model):
    """A (variant, location) whose `available` changed: the outbox of available-to-sell
    changes. Written with the change itself (a plain INSERT, no unique key, so concurrent
    checkouts never wait on each other here); the drain task reads the marks after commit,
    works out the channels' available-to-sell then and deletes them."""

    # Written by every checkout while its stock rows are locked: database foreign keys would
    # make each commit take KEY SHARE locks on the hot variant and location rows, and indexes
    # on them would only slow that INSERT (the drain reads the short-lived rows by id; deletes
    # still cascade in Django).
    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    location = models.ForeignKey(
        StockLocation,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"variant {self.variant_id} at location {self.location_id}"


class AvailabilityChange(models.Model):
    """An available-to-sell event as published by the outbox drain: one row per (variant,
    channel) whose value differed from the one last published. The latest row of a pair is
    what its listeners last heard. A row is written when its value is published, so
    `created_at` is the publication time."""

    # No index of its own: `availability_change_last` leads with the variant.
    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    available = models.IntegerField(help_text="Available-to-sell after the change.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["variant", "channel", "id"], name="availability_change_last")
        ]

    def __str__(self) -> str:
        return f"variant {self.variant_id} in channel {self.channel_id}: {self.available}"


class TransferStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_TRANSIT = "in_transit", "In transit"
    PARTIALLY_RECEIVED = "partially_received", "Partially received"
    RECEIVED = "received", "Received"
    CLOSED = "closed", "Closed short"
    CANCELLED = "cancelled", "Cancelled"


class Transfer(models.Model):
    """Goods moving between two locations: shipped (leave the source, in transit as the
    destination's `incoming`), then received, possibly in several parts."""

    source = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    destination = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(
        max_length=20, choices=TransferStatus.choices, default=TransferStatus.DRAFT
    )
    reference = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(source=F("destination")), name="transfer_distinct_locations"
            ),
        ]

    def __str__(self) -> str:
        return f"Transfer #{self.pk} {self.source_id} -> {self.destination_id} ({self.status})"


class TransferLine(models.Model):
    transfer = models.ForeignKey(Transfer, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["transfer", "variant"], name="transfer_line_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="transfer_line_positive"),
            models.CheckConstraint(
                condition=Q(quantity_received__lte=F("quantity")),
                name="transfer_line_received_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.variant_id} ({self.quantity_received} received)"

    @property
    def outstanding(self) -> int:
        return self.quantity - self.quantity_received


class StockCount(models.Model):
    """A cycle count at one location: counted quantities and the corrections they booked."""

    location = models.ForeignKey(StockLocation, on_delete=models.PROTECT, related_name="counts")
    reference = models.CharField(max_length=120, blank=True)
    note = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Count #{self.pk} at {self.location_id}"


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.CASCADE, related_name="lines")
    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="+")
    expected = models.IntegerField(help_text="on_hand when the count was booked.")
    counted = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["count", "variant"], name="count_line_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}: counted {self.counted}, expected {self.expected}"

    @property
    def difference(self) -> int:
        return self.counted - self.expected


class LowStockAlert(models.Model):
    """A stock row that fell to or below its reorder point; resolved once it is back above."""

    stock = models.ForeignKey(Stock, on_delete=models.CASCADE, related_name="low_stock_alerts")
    available = models.IntegerField()
    incoming = models.IntegerField(default=0)
    reorder_point = models.IntegerField()
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["stock"],
                condition=Q(resolved_at__isnull=True),
                name="low_stock_alert_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"low stock {self.stock_id}: {self.available} <= {self.reorder_point}"


class StaffLocation(models.Model):
    """A store staff member's assigned location(s): store staff see and change only these
    (enforced in the admin's and the staff API's querysets, see inventory.scoping)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_locations"
    )
    location = models.ForeignKey(
        StockLocation, on_delete=models.CASCADE, related_name="staff_assignments"
    )

    class Meta:
        ordering = ["user", "location"]
        constraints = [
            models.UniqueConstraint(fields=["user", "location"], name="staff_location_unique"),
        ]
        permissions = [
            ("all_locations", "Can work with every location (not limited to assigned stores)"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} at {self.location_id}"
