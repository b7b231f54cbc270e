"""Channel sync: connector settings, runs, rejected rows, inbound events, outbound messages."""

import os

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from catalog.models import Variant
from omni.models import Channel

# Credentials never live in the database or the repository: settings name an environment
# variable the worker reads at call time, so a dump of the table leaks nothing.
env_name_validator = RegexValidator(
    r"^[A-Z_][A-Z0-9_]*$", "Name an environment variable (upper case, digits, underscores)."
)


class PullKind(models.TextChoices):
    ORDERS = "orders", "Orders"
    STOCK = "stock", "Stock counts"
    PRICES = "prices", "Catalog and prices"


class PushKind(models.TextChoices):
    AVAILABILITY = "availability", "Available-to-sell"
    PRICES = "prices", "Prices"
    ORDER_STATUS = "order_status", "Order status and tracking"


class ConnectorSettings(models.Model):
    """How Omni talks to one channel: the connector kind, where its feeds are, where pushes go,
    and which environment variables hold its credential and webhook signing secret."""

    channel = models.OneToOneField(
        Channel, on_delete=models.CASCADE, related_name="connector_settings"
    )
    kind = models.CharField(max_length=40, help_text="A registered connector kind.")
    active = models.BooleanField(default=True)
    orders_source = models.CharField(
        max_length=500, blank=True, help_text="Local path or http(s) URL of the orders feed."
    )
    stock_source = models.CharField(
        max_length=500, blank=True, help_text="Local path or http(s) URL of the stock count feed."
    )
    prices_source = models.CharField(
        max_length=500, blank=True, help_text="Local path or http(s) URL of the price feed."
    )
    view_source = models.CharField(
        max_length=500,
        blank=True,
        help_text="Local path or http(s) URL of the channel's own stock view (sku, available), "
        "compared nightly with Omni's.",
    )
    push_url = models.URLField(
        max_length=500, blank=True, help_text="Where signed JSON pushes are POSTed."
    )
    stock_location = models.CharField(
        max_length=40,
        blank=True,
        help_text="Location code stock feeds count, when their rows name none.",
    )
    credential_env = models.CharField(
        max_length=80,
        blank=True,
        validators=[env_name_validator],
        help_text="Environment variable holding the bearer token sent with feed fetches and "
        "pushes.",
    )
    signing_secret_env = models.CharField(
        max_length=80,
        blank=True,
        validators=[env_name_validator],
        help_text="Environment variable holding the HMAC secret of webhooks (both ways).",
    )
    pull_kinds = models.JSONField(default=list, blank=True)
    push_kinds = models.JSONField(default=list, blank=True)
    coalesce_seconds = models.PositiveIntegerField(
        default=30, help_text="Availability changes within this window are pushed once."
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=8, validators=[MinValueValidator(1)], help_text="Then the message is dead-lettered."
    )
    backoff_seconds = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)], help_text="First retry delay; doubles."
    )
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1)]
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "connector settings"
        verbose_name_plural = "connector settings"

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.kind}"

    def credential(self) -> str:
        return os.environ.get(self.credential_env, "") if self.credential_env else ""

    def signing_secret(self) -> str:
        return os.environ.get(self.signing_secret_env, "") if self.signing_secret_env else ""


class Direction(models.TextChoices):
    PULL = "pull", "Pull"
    PUSH = "push", "Push"
    RECONCILE = "reconcile", "Reconcile"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Succeeded with rejected rows"
    FAILED = "failed", "Failed"


class SyncRun(models.Model):
    """One pull, push or reconciliation. `lines_done` is committed with each batch, so a run
    redelivered after a crash resumes after the last applied batch instead of re-applying it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="sync_runs")
    kind = models.CharField(max_length=40)
    direction = models.CharField(max_length=10, choices=Direction.choices)
    source = models.CharField(max_length=500, blank=True)
    run_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        unique=True,
        help_text="Celery task id (or caller key) that makes a redelivered task resume this run.",
    )
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    rows_applied = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    lines_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["channel", "kind", "status", "-finished_at"])]

    def __str__(self) -> str:
        return f"{self.channel.code} {self.direction} {self.kind} #{self.pk}"


class SyncRejection(models.Model):
    """A row of a feed (or an item of a push) that was refused, with the reason."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField()
    raw = models.TextField(blank=True)
    code = models.CharField(max_length=40)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["run", "line", "id"]

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class SyncMismatch(models.Model):
    """A SKU whose available-to-sell in the channel's own view differs from Omni's."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="mismatches")
    sku = models.CharField(max_length=64)
    channel_value = models.IntegerField(null=True, blank=True)
    omni_value = models.IntegerField(null=True, blank=True)
    reason = models.CharField(max_length=40)

    class Meta:
        ordering = ["run", "sku"]
        verbose_name_plural = "sync mismatches"

    def __str__(self) -> str:
        return f"{self.sku}: channel {self.channel_value} vs omni {self.omni_value}"


class StockDrift(models.Model):
    """What a stock snapshot found: the count versus what Omni expected at that moment."""

    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="drifts")
    sku = models.CharField(max_length=64)
    location = models.CharField(max_length=40)
    counted = models.IntegerField()
    expected = models.IntegerField()
    drift = models.IntegerField(help_text="Booked as a count correction (counted - expected).")

    class Meta:
        ordering = ["run", "sku", "location"]

    def __str__(self) -> str:
        return f"{self.sku}@{self.location}: {self.drift:+d}"


class StockSnapshotMark(models.Model):
    """The as-of time of the last snapshot applied to one (variant, location), whatever feed
    sent it: an older snapshot arriving late must not overwrite a newer count."""

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    location_id = models.BigIntegerField()
    as_of = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["variant", "location_id"], name="snapshot_mark_variant_location"
            )
        ]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id} as of {self.as_of:%Y-%m-%d %H:%M}"


class EventStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Rejected"


class InboundEvent(models.Model):
    """A verified webhook delivery. Unique per (channel, event id): a redelivery is a no-op."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound_events")
    event_id = models.CharField(max_length=200)
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(
        max_length=10, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    result = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "event_id"], name="inbound_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel.code}:{self.event_id}"


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    DEAD = "dead", "Dead letter"


class OutboundMessage(models.Model):
    """A signed JSON push waiting to be delivered, retried with backoff, or dead-lettered."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="outbound_messages")
    kind = models.CharField(max_length=20, choices=PushKind.choices)
    payload = models.JSONField()
    dedup_key = models.CharField(
        max_length=200,
        null=True,
        blank=True,
        help_text="Same key, same message: enqueueing it again adds nothing.",
    )
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=8)
    next_attempt_at = models.DateTimeField(db_index=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    dead_at = models.DateTimeField(null=True, blank=True)
    replayed_count = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "dedup_key"],
                condition=Q(dedup_key__isnull=False),
                name="outbound_dedup_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.channel_id} #{self.pk} ({self.status})"


class AvailabilityPending(models.Model):
    """A (channel, variant) whose available-to-sell changed and is due to be pushed at
    `due_at`. One row however many changes arrive in the window: that is the coalescing."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    available = models.IntegerField(help_text="The latest value; later changes overwrite it.")
    due_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant"], name="ats_pending_unique")
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} in {self.channel_id}: {self.available} due {self.due_at}"


class AvailabilityPushed(models.Model):
    """The last available-to-sell value pushed to a channel per variant."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="+")
    available = models.IntegerField()
    pushed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "variant"], name="ats_pushed_unique")
        ]

    def __str__(self) -> str:
        return f"{self.variant_id} in {self.channel_id}: {self.available}"


class PushCursor(models.Model):
    """How far a sweep has read an append-only source (e.g. the orders timeline), so each
    entry is turned into a push once."""

    name = models.CharField(max_length=60, unique=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"
