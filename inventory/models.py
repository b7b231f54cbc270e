"""Inventory: stock locations, stock per (variant, location), reservations and the ledger."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

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

    variant = models.ForeignKey(Variant, on_delete=models.PROTECT, related_name="stocks")
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
    reference = models.CharField(max_length=120, blank=True, db_index=True)
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

    def __str__(self) -> str:
        return f"{self.reason} {self.quantity:+d} ({self.reference})"


class Reservation(models.Model):
    """Units held at one location for an order line or a cart, until committed or released."""

    stock = models.ForeignKey(Stock, on_delete=models.PROTECT, related_name="reservations")
    quantity = models.PositiveIntegerField()
    reference = models.CharField(max_length=120, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="reservation_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x stock {self.stock_id} for {self.reference}"
