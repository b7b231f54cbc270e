"""Customers: one profile across channels, its identities, loyalty ledger, consents and cases."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from omni.models import Channel


class CustomerQuerySet(models.QuerySet):
    def live(self):
        """Profiles that are neither merged into another nor erased."""
        return self.filter(merged_into__isnull=True, erased_at__isnull=True)


class Customer(models.Model):
    """A shopper, whichever channels they buy in. Identities attach channel-specific keys."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    preferred_store = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Set when staff merged this profile into a survivor; everything it owned moved there.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_profiles",
        editable=False,
    )
    merged_at = models.DateTimeField(null=True, blank=True, editable=False)
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Derived by customers.services (tiers on every purchase and nightly, RFM nightly).
    tier_code = models.CharField(max_length=32, blank=True, editable=False, db_index=True)
    tier_spend = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), editable=False
    )
    rfm_recency = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    rfm_frequency = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    rfm_monetary = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)
    segment = models.CharField(max_length=32, blank=True, editable=False, db_index=True)
    segment_computed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("merge_customer", "Can merge and unmerge customer profiles"),
            ("export_customer", "Can export a customer's personal data"),
            ("erase_customer", "Can erase a customer's personal data"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or f"Customer #{self.pk}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class IdentityKind(models.TextChoices):
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"
    ACCOUNT = "account", "Channel account id"
    LOYALTY_CARD = "loyalty_card", "Loyalty card"


class Identity(models.Model):
    """A normalised key that points at exactly one profile.

    Emails, phones and loyalty cards are unique per kind; channel account ids are unique per
    (channel, value). `channel` is where the identity was first seen (its scope for accounts).
    `match_key` is a looser form used only to suggest duplicates, never to resolve.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=20, choices=IdentityKind.choices)
    value = models.CharField(max_length=254)
    raw_value = models.CharField(max_length=254, blank=True)
    match_key = models.CharField(max_length=254, blank=True, db_index=True)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "value"]
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value"],
                condition=~Q(kind="account"),
                name="identity_kind_value_unique",
            ),
            models.UniqueConstraint(
                fields=["channel", "value"],
                condition=Q(kind="account"),
                name="identity_account_per_channel_unique",
            ),
            models.CheckConstraint(
                condition=~Q(kind="account") | Q(channel__isnull=False),
                name="identity_account_has_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class Address(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses")
    label = models.CharField(max_length=60, blank=True, help_text="e.g. home, work")
    name = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(max_length=200, blank=True)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "pk"]
        verbose_name_plural = "addresses"

    def __str__(self) -> str:
        return ", ".join(p for p in [self.line1, self.city, self.postcode, self.country] if p)


class ConsentPurpose(models.TextChoices):
    MARKETING_EMAIL = "marketing_email", "Marketing email"
    SMS = "sms", "SMS"
    PERSONALISATION = "personalisation", "Personalisation"


class ConsentRecord(models.Model):
    """Append-only: each grant or withdrawal is a row; the latest per purpose wins."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(max_length=32, choices=ConsentPurpose.choices)
    granted = models.BooleanField()
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=120, blank=True, help_text="Form, checkbox, call...")
    recorded_at = models.DateTimeField(db_index=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["customer", "purpose", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.purpose} {'granted' if self.granted else 'withdrawn'}"


# --- Loyalty ---------------------------------------------------------------------------------


class LoyaltySettings(models.Model):
    """The programme's terms, one row (pk=1). Missing row: the defaults below apply."""

    point_value = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Money one point is worth at checkout, in the channel's currency.",
    )
    max_basket_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.5"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="At most this share of a basket (0-1) may be paid with points.",
    )
    default_earn_rate = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Points per unit of money spent, for channels without their own rate.",
    )
    expiry_days = models.PositiveIntegerField(
        default=365, help_text="Points expire this many days after they were earned."
    )
    tier_window_days = models.PositiveIntegerField(
        default=365, help_text="Tiers are decided by the spend of this many past days."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "loyalty settings"
        verbose_name_plural = "loyalty settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="loyalty_settings_single_row"),
        ]

    def __str__(self) -> str:
        return "Loyalty settings"


class LoyaltyChannelRate(models.Model):
    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="+")
    earn_rate = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Points per unit of money spent in this channel.",
    )

    class Meta:
        ordering = ["channel"]

    def __str__(self) -> str:
        return f"{self.channel.code}: {self.earn_rate}"


class LoyaltyTier(models.Model):
    """A tier reached by rolling spend; promotions read `code` and `benefits`."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=60)
    min_spend = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    earn_multiplier = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    benefits = models.JSONField(
        default=dict,
        blank=True,
        help_text='Free-form benefits promotions may read, e.g. {"free_shipping": true}.',
    )

    class Meta:
        ordering = ["min_spend"]

    def __str__(self) -> str:
        return f"{self.name} (from {self.min_spend})"


class LoyaltyEntryKind(models.TextChoices):
    EARN = "earn", "Earned"
    REDEEM = "redeem", "Redeemed"
    REVERSE = "reverse", "Reversed"
    EXPIRE = "expire", "Expired"
    ADJUST = "adjust", "Adjusted"


class LoyaltyEntry(models.Model):
    """One line of the points ledger. The balance is the sum of `points`.

    Credits (earn, reversed redemptions, positive adjustments) carry `expires_at`; debits consume
    the oldest credits first, which is what the expiry task relies on.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="loyalty_entries")
    kind = models.CharField(max_length=10, choices=LoyaltyEntryKind.choices)
    points = models.IntegerField()
    idempotency_key = models.CharField(max_length=255, unique=True)
    reference = models.CharField(max_length=120, blank=True, db_index=True)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="Money the entry was computed from (spend for earns).",
    )
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "loyalty entries"
        indexes = [models.Index(fields=["customer", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} ({self.reference})"


class SpendRecord(models.Model):
    """Money a customer spent (negative: refunded), for tiers and RFM segments.

    Written by `customer_record_purchase` and by `loyalty_earn` / `loyalty_reverse`; one row per
    (channel, reference), so a retried sync records nothing twice.
    """

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="spend_records")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    occurred_at = models.DateTimeField(db_index=True)
    reference = models.CharField(max_length=120)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "reference"], name="spend_channel_reference")
        ]
        indexes = [models.Index(fields=["customer", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.reference}: {self.amount}"


# --- Merge and privacy audit -------------------------------------------------------------------


class MergeRecord(models.Model):
    """Who merged which profile into which, when, and exactly which rows moved (for unmerge)."""

    survivor = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    merged = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    merged_at = models.DateTimeField(auto_now_add=True)
    # {"app_label.model.field": [pk, ...]} of the rows repointed from `merged` to `survivor`.
    moved = models.JSONField(default=dict)
    # Survivor fields as they were before the merge filled gaps from the merged profile.
    survivor_before = models.JSONField(default=dict)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-merged_at", "-pk"]

    def __str__(self) -> str:
        return f"#{self.merged_id} -> #{self.survivor_id}"

    @property
    def moved_count(self) -> int:
        return sum(len(pks) for pks in self.moved.values())


class PrivacyRequestKind(models.TextChoices):
    EXPORT = "export", "Export"
    ERASURE = "erasure", "Erasure"


class PrivacyRequest(models.Model):
    """The record of an export or an erasure: who asked, when, and what it covered."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10, choices=PrivacyRequestKind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} of #{self.customer_id}"


# --- Service cases -----------------------------------------------------------------------------


class CaseKind(models.TextChoices):
    INQUIRY = "inquiry", "Inquiry"
    COMPLAINT = "complaint", "Complaint"
    RETURN_REQUEST = "return_request", "Return request"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING = "waiting", "Waiting on customer"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


class ServiceCase(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.CharField(max_length=200)
    order_reference = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "assignee"])]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()}: {self.subject}"


class CaseEventKind(models.TextChoices):
    OPENED = "opened", "Opened"
    NOTE = "note", "Note"
    STATUS = "status", "Status changed"
    ASSIGNED = "assigned", "Assigned"


class CaseEvent(models.Model):
    """The case timeline: append-only."""

    case = models.ForeignKey(ServiceCase, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=CaseEventKind.choices)
    body = models.TextField(blank=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} on case #{self.case_id}"
