"""Sales channels and the API keys their storefront, POS and feed servers authenticate with."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q


class ChannelKind(models.TextChoices):
    STORE = "store", "Store (POS)"
    WEB = "web", "Web shop"
    APP = "app", "Mobile app"
    MARKETPLACE = "marketplace", "Marketplace"
    SOCIAL = "social", "Social shop"
    CALLCENTER = "callcenter", "Call centre"


class ChannelQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)


class Channel(models.Model):
    """A place the retailer sells through. Every order, listing and API key belongs to one."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=ChannelKind.choices)
    currency = models.CharField(
        max_length=3,
        validators=[RegexValidator(r"^[A-Z]{3}$", "Use an ISO 4217 code such as EUR.")],
        help_text="ISO 4217 code; listings and orders of this channel are priced in it.",
    )
    active = models.BooleanField(default=True)
    # Availability rule: what the channel may sell of its locations' pooled stock.
    safety_stock = models.PositiveIntegerField(
        default=0,
        help_text="Units per SKU held back from this channel's available-to-sell.",
    )
    availability_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="At most this many units per SKU are offered (empty: no cap).",
    )
    availability_share = models.PositiveSmallIntegerField(
        default=100,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percentage of the pool offered to this channel (100: all of it).",
    )
    phone_region = models.CharField(
        max_length=2,
        default="US",
        help_text="Default ISO 3166 region for phone numbers that arrive without a country code.",
    )
    timezone = models.CharField(max_length=64, default="UTC")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ChannelQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(availability_share__gte=0) & Q(availability_share__lte=100),
                name="channel_availability_share_0_100",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ApiScope(models.TextChoices):
    CATALOG = "catalog", "Catalog and availability"
    ORDERS = "orders", "Quotes, orders and returns"
    CUSTOMERS = "customers", "Customer personal data"
    EVENTS = "events", "Behaviour events"


def default_scopes() -> list[str]:
    return [ApiScope.CATALOG, ApiScope.ORDERS, ApiScope.EVENTS]


class ApiKeyQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(revoked_at__isnull=True, channel__active=True)


class ApiKey(models.Model):
    """A channel's server-side secret. Only a SHA-256 digest of the secret is stored.

    The secret has 256 bits of randomness, so a fast digest is safe (no dictionary to try) and
    keeps authentication to one indexed lookup by the visible prefix.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=120, blank=True)
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    hashed_secret = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=default_scopes)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.channel.code})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class AuditAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    OPERATION = "operation", "Operation"


class AuditEntry(models.Model):
    """One staff write: who changed which object, which fields from what to what, and when.

    Append-only; written by `omni.audit.audit_record` from the admin and staff API write paths.
    `changes` maps a field name to `[before, after]` (JSON-safe values; None when absent).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The username survives the user's deletion (the audit must still say who).
    username = models.CharField(max_length=150, blank=True)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    action = models.CharField(max_length=12, choices=AuditAction.choices)
    operation = models.CharField(
        max_length=60, blank=True, help_text="Name of the service operation, for example receipt."
    )
    changes = models.JSONField(default=dict)
    source = models.CharField(max_length=12, default="admin", help_text="admin or api.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="audit_object"),
            models.Index(fields=["user", "created_at"], name="audit_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.username or 'system'} {self.action} {self.object_repr}"
