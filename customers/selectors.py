"""Read queries over customers that the API, admin, pricing engine and orders share."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import Lower, Upper

from customers.models import (
    Address,
    ConsentPurpose,
    ConsentRecord,
    Customer,
    Identity,
    IdentityKind,
    LoyaltyEntry,
    LoyaltySettings,
    LoyaltyTier,
)
from customers.normalize import normalize_email, normalize_phone


@dataclass(frozen=True)
class LoyaltyTerms:
    """What the pricing engine needs: a point is worth `point_value` of the basket's currency,
    and points pay at most `max_basket_share` (0-1) of a basket."""

    point_value: Decimal
    max_basket_share: Decimal
    expiry_days: int = 365


@dataclass(frozen=True)
class PricingProfile:
    """What promotions may target: the tier code (None below the first tier), its benefits and
    the named segments the customer is in."""

    tier: str | None
    segments: frozenset[str]
    tier_benefits: Mapping[str, Any] = field(default_factory=dict)


def loyalty_settings() -> LoyaltySettings:
    """The programme's settings (one query); the model's defaults when nobody saved any yet."""
    return LoyaltySettings.objects.filter(pk=1).first() or LoyaltySettings(pk=1)


def loyalty_terms() -> LoyaltyTerms:
    """One query."""
    settings = loyalty_settings()
    return LoyaltyTerms(
        point_value=settings.point_value,
        max_basket_share=settings.max_basket_share,
        expiry_days=settings.expiry_days,
    )


def loyalty_balance(*, customer: Customer) -> int:
    """The points balance: the sum of the customer's ledger. One query."""
    total = LoyaltyEntry.objects.filter(customer_id=customer.pk).aggregate(total=Sum("points"))
    return int(total["total"] or 0)


def loyalty_balances(*, customer_ids: list[int]) -> dict[int, int]:
    rows = (
        LoyaltyEntry.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(total=Sum("points"))
    )
    balances = dict.fromkeys(customer_ids, 0)
    balances.update({row["customer_id"]: int(row["total"] or 0) for row in rows})
    return balances


def customer_pricing_profile(*, customer: Customer | None) -> PricingProfile:
    """Tier and segments for the pricing engine; two queries whatever the basket."""
    if customer is None or customer.pk is None:
        return PricingProfile(tier=None, segments=frozenset())
    row = (
        Customer.objects.filter(pk=customer.merged_into_id or customer.pk)
        .values("tier_code", "segment")
        .first()
    )
    if row is None:
        return PricingProfile(tier=None, segments=frozenset())
    return _pricing_profile(row["tier_code"], row["segment"])


def pricing_profile_of(*, customer: Customer) -> PricingProfile:
    """`customer_pricing_profile` of a profile the caller has just read or written in its
    transaction (order placement resolving its shopper): its tier and segment as loaded, so
    only a tier's benefits are read (one query, none without a tier). A merged profile's
    survivor is read as `customer_pricing_profile` does."""
    if customer.pk is None or customer.merged_into_id is not None:
        return customer_pricing_profile(customer=customer)
    return _pricing_profile(customer.tier_code, customer.segment)


def _pricing_profile(tier_code: str, segment: str) -> PricingProfile:
    benefits: dict[str, Any] = {}
    if tier_code:
        tier = LoyaltyTier.objects.filter(code=tier_code).values("benefits").first()
        benefits = dict(tier["benefits"]) if tier else {}
    return PricingProfile(
        tier=tier_code or None,
        segments=frozenset({segment} if segment else ()),
        tier_benefits=benefits,
    )


def consents_current(*, customer: Customer) -> dict[str, ConsentRecord | None]:
    """The latest record per purpose (None: never asked, which counts as not given)."""
    latest: dict[str, ConsentRecord | None] = dict.fromkeys(ConsentPurpose.values)
    for record in ConsentRecord.objects.filter(customer_id=customer.pk).select_related("channel"):
        if latest.get(record.purpose) is None:
            latest[record.purpose] = record
    return latest


def has_consent(*, customer: Customer, purpose: str) -> bool:
    record = (
        ConsentRecord.objects.filter(customer_id=customer.pk, purpose=purpose)
        .order_by("-recorded_at", "-pk")
        .values("granted")
        .first()
    )
    return bool(record and record["granted"])


def customer_find(
    *, email: str = "", phone: str = "", region: str | None = None
) -> Customer | None:
    """The live profile owning this email or phone (normalised; InvalidInput names the field)."""
    if email:
        identity_q = Q(kind=IdentityKind.EMAIL, value=normalize_email(email))
    else:
        identity_q = Q(kind=IdentityKind.PHONE, value=normalize_phone(phone, region=region))
    identity = Identity.objects.filter(identity_q).select_related("customer").first()
    if identity is None or identity.customer.erased_at is not None:
        return None
    return identity.customer


def duplicate_candidates(*, limit: int = 100) -> list[dict[str, Any]]:
    """Groups of live profiles that look like one person: email variants of one mailbox
    (plus-tags, dots at gmail), phones with the same national number, or the same name at the
    same postcode. Suggestions for staff; nothing is merged automatically."""
    live = Customer.objects.live()
    groups: list[dict[str, Any]] = []
    for kind, reason in [
        (IdentityKind.EMAIL, "email_variant"),
        (IdentityKind.PHONE, "phone_variant"),
    ]:
        keys = (
            Identity.objects.filter(kind=kind, customer__in=live)
            .exclude(match_key="")
            .values("match_key")
            .annotate(profiles=Count("customer", distinct=True))
            .filter(profiles__gt=1)
            .order_by("match_key")[:limit]
        )
        key_list = [row["match_key"] for row in keys]
        members: dict[str, set[int]] = {}
        for match_key, customer_id in Identity.objects.filter(
            kind=kind, match_key__in=key_list, customer__in=live
        ).values_list("match_key", "customer_id"):
            members.setdefault(match_key, set()).add(customer_id)
        groups.extend(
            {"reason": reason, "key": key, "customer_ids": sorted(ids)}
            for key, ids in sorted(members.items())
        )
    name_postcode = (
        Address.objects.filter(customer__in=live)
        .exclude(postcode="")
        .exclude(customer__last_name="")
        .annotate(
            first=Lower("customer__first_name"),
            last=Lower("customer__last_name"),
            post=Upper("postcode"),
        )
        .values("first", "last", "post")
        .annotate(profiles=Count("customer", distinct=True))
        .filter(profiles__gt=1)
        .order_by("last", "first", "post")[:limit]
    )
    wanted = {(row["first"], row["last"], row["post"]) for row in name_postcode}
    members = {}
    rows = (
        Address.objects.filter(customer__in=live, postcode__in={key[2] for key in wanted})
        .annotate(
            first=Lower("customer__first_name"),
            last=Lower("customer__last_name"),
            post=Upper("postcode"),
        )
        .values_list("first", "last", "post", "customer_id")
    )
    for first, last, post, customer_id in rows:
        if (first, last, post) in wanted:
            members.setdefault((first, last, post), set()).add(customer_id)
    groups.extend(
        {"reason": "name_postcode", "key": " ".join(key), "customer_ids": sorted(ids)}
        for key, ids in sorted(members.items())
    )
    return groups[:limit]


def customer_profile(
    *, customer: Customer, orders_limit: int = 50, channel=None, suggestions_limit: int = 10
) -> dict[str, Any]:
    """The unified profile the lookup endpoint, staff API and admin page show: identities,
    loyalty (balance, tier, terms), current consents, open cases, orders from every channel
    (through the order-history port) and suggested products (through the suggestion port;
    with `channel`, only products published there). A fixed number of queries."""
    from customers.models import ServiceCase
    from customers.order_history import order_history_provider
    from customers.suggestions import suggestion_provider

    identities = list(
        Identity.objects.filter(customer_id=customer.pk).select_related("channel").order_by("pk")
    )
    terms = loyalty_terms()
    balance = loyalty_balance(customer=customer)
    consents = consents_current(customer=customer)
    open_cases = list(
        ServiceCase.objects.filter(customer_id=customer.pk)
        .exclude(status__in=["resolved", "closed"])
        .values("id", "kind", "subject", "status", "order_reference", "created_at")
    )
    orders = order_history_provider().orders_for(customer_id=customer.pk, limit=orders_limit)
    suggestions = suggestion_provider().suggestions_for(
        customer_id=customer.pk, channel=channel, limit=suggestions_limit
    )
    return {
        "id": customer.pk,
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "created_at": customer.created_at,
        "last_seen_at": customer.last_seen_at,
        "erased": customer.erased_at is not None,
        "merged_into": customer.merged_into_id,
        "identities": [
            {
                "kind": i.kind,
                "value": i.value,
                "channel": i.channel.code if i.channel else None,
            }
            for i in identities
        ],
        "loyalty": {
            "balance": balance,
            "balance_value": (Decimal(balance) * terms.point_value).quantize(Decimal("0.01")),
            "point_value": terms.point_value,
            "tier": customer.tier_code or None,
            "tier_spend": customer.tier_spend,
        },
        "segment": customer.segment or None,
        "consents": {
            purpose: (record.granted if record else None) for purpose, record in consents.items()
        },
        "open_cases": open_cases,
        "orders": [order.as_dict() for order in orders],
        "suggestions": [suggestion.as_dict() for suggestion in suggestions],
    }
