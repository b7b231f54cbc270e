"""State changes of promotions: creating and editing rules, voucher codes (single and batch),
redeeming and releasing codes for orders, and recording what each promotion gave an order.

How order placement uses promotions (all inside the order's own transaction; each call is a
fixed number of queries):
1. `q = pricing.quote(channel=..., customer=..., lines=..., voucher_code=..., loyalty_points=...)`
   and store `q.as_dict()` on the order: lines keep `unit_price`, `discounts`, `line_total`.
   `POST /api/v1/quotes/` returns the same dict, so the storefront shows what the order gets.
2. if `q.voucher_code`: `voucher_redeem(code=q.voucher_code, channel=..., customer=...,
   order_reference=order.number)` (raises VoucherExhausted etc. if a racing checkout took the
   last use; roll the order back).
3. if `q.loyalty_points`: `customers.services.loyalty_redeem(points=q.loyalty_points, ...)`.
4. `promotion_uses_record(quote=q, order_reference=order.number, channel=...)` for the report.
On cancellation: `voucher_release(order_reference=...)` and
`promotion_uses_cancel(order_reference=...)` (both idempotent).
"""

import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from omni.errors import InvalidInput
from omni.models import Channel
from promotions import customer_terms
from promotions.errors import (
    VoucherExhausted,
    VoucherExpired,
    VoucherNotStarted,
    VoucherOutOfScope,
    VoucherUnknown,
)
from promotions.locks import voucher_for_update, vouchers_for_update
from promotions.models import Promotion, PromotionUse, Trigger, Voucher, VoucherRedemption
from promotions.pricing import Quote
from promotions.rules import channel_rules, rules_changed

# No 0/O or 1/I/L: codes are read aloud at tills and typed from receipts.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_BATCH = 10_000


def voucher_code_normalise(code: str) -> str:
    return (code or "").strip().upper()


def _validation_to_domain(exc: ValidationError) -> InvalidInput:
    field, messages = next(iter(exc.message_dict.items()))
    code = "invalid_window" if field in ("ends_at", "valid_until") else "invalid"
    return InvalidInput(" ".join(messages), code=code, field=field)


@transaction.atomic
def promotion_save(
    *,
    promotion: Promotion | None = None,
    fields: Mapping[str, Any],
    products: Iterable | None = None,
    variants: Iterable | None = None,
    categories: Iterable | None = None,
    channels: Iterable | None = None,
) -> Promotion:
    """Create (`promotion` None) or edit a promotion and its targets. Validates the whole rule
    first (an end before the start is refused with code `invalid_window`) and invalidates
    every channel's cached rules. Orders already placed keep the quote they stored."""
    promotion = promotion or Promotion()
    for name, value in fields.items():
        setattr(promotion, name, value)
    try:
        promotion.full_clean()
    except ValidationError as exc:
        raise _validation_to_domain(exc) from exc
    promotion.save()
    for relation, items in (
        ("products", products),
        ("variants", variants),
        ("categories", categories),
        ("channels", channels),
    ):
        if items is not None:
            getattr(promotion, relation).set(items)
    rules_changed()
    return promotion


@transaction.atomic
def voucher_create(
    *,
    promotion: Promotion,
    code: str,
    usage_limit: int | None = None,
    per_customer_limit: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> Voucher:
    """One code for a voucher-triggered promotion. Codes are unique case-insensitively."""
    code = voucher_code_normalise(code)
    if not code:
        raise InvalidInput("A voucher needs a code.", code="required", field="code")
    voucher = Voucher(
        promotion=promotion,
        code=code,
        usage_limit=usage_limit,
        per_customer_limit=per_customer_limit,
        valid_from=valid_from,
        valid_until=valid_until,
    )
    try:
        voucher.full_clean()
    except ValidationError as exc:
        if "code" in exc.message_dict:
            raise InvalidInput(
                f"Voucher {code} exists already.", code="duplicate_code", field="code"
            ) from exc
        raise _validation_to_domain(exc) from exc
    voucher.save()
    rules_changed()
    return voucher


@transaction.atomic
def voucher_batch_create(
    *,
    promotion: Promotion,
    prefix: str,
    count: int,
    usage_limit: int | None = 1,
    per_customer_limit: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    suffix_length: int = 8,
) -> list[Voucher]:
    """`count` new codes `PREFIX-XXXXXXXX` (random, unambiguous characters) for `promotion`,
    tagged with the batch name `PREFIX`. Inserted in one statement; a code that collides with
    an existing one is drawn again, so exactly `count` are created."""
    prefix = voucher_code_normalise(prefix).rstrip("-")
    if not prefix or not all(ch.isalnum() or ch in "-_" for ch in prefix):
        raise InvalidInput(
            "A prefix of letters, digits, - or _ is needed.", code="invalid_prefix", field="prefix"
        )
    if not 1 <= count <= MAX_BATCH:
        raise InvalidInput(
            f"A batch has 1 to {MAX_BATCH} codes.", code="invalid_count", field="count"
        )
    if promotion.trigger != Trigger.VOUCHER:
        raise InvalidInput(
            "Codes unlock promotions triggered by a voucher.",
            code="not_voucher_promotion",
            field="promotion",
        )
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidInput(
            "The end must come after the start.", code="invalid_window", field="valid_until"
        )
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        drawn = {
            f"{prefix}-{''.join(secrets.choice(CODE_ALPHABET) for _ in range(suffix_length))}"
            for _ in range(wanted)
        }
        drawn -= codes
        taken = set(Voucher.objects.filter(code__in=drawn).values_list("code", flat=True))
        codes |= drawn - taken
    vouchers = Voucher.objects.bulk_create(
        [
            Voucher(
                promotion=promotion,
                code=code,
                batch=prefix,
                usage_limit=usage_limit,
                per_customer_limit=per_customer_limit,
                valid_from=valid_from,
                valid_until=valid_until,
            )
            for code in sorted(codes)
        ]
    )
    rules_changed()
    return vouchers


@transaction.atomic
def voucher_redeem(
    *, code: str, channel: Channel, customer, order_reference: str, at: datetime | None = None
) -> VoucherRedemption:
    """Count one use of `code` for the order `order_reference` (call it when the order is
    placed, inside the order's transaction). Idempotent per (code, order_reference).

    Invariant: unreleased redemptions never exceed the code's `usage_limit`, nor a customer's
    `per_customer_limit`, however many checkouts race. Lock: the voucher row (FOR UPDATE),
    under which the limits are checked; the counter moves by a conditional UPDATE. Fixed
    number of queries. Raises the voucher errors of `promotions.errors`.
    """
    at = at or timezone.now()
    code = voucher_code_normalise(code)
    voucher = voucher_for_update(code=code)
    if voucher is None:
        raise VoucherUnknown(f"No voucher {code!r}.", voucher_code=code)
    existing = VoucherRedemption.objects.filter(
        voucher=voucher, order_reference=order_reference
    ).first()
    if existing is not None and existing.released_at is None:
        return existing
    promotion = voucher.promotion
    if not (voucher.active and promotion.active and promotion.trigger == Trigger.VOUCHER):
        raise VoucherExpired(f"Voucher {code} is no longer valid.", voucher_code=code)
    starts = [d for d in (voucher.valid_from, promotion.starts_at) if d is not None]
    ends = [d for d in (voucher.valid_until, promotion.ends_at) if d is not None]
    if any(at < d for d in starts):
        raise VoucherNotStarted(f"Voucher {code} is not valid yet.", voucher_code=code)
    if any(at >= d for d in ends):
        raise VoucherExpired(f"Voucher {code} has expired.", voucher_code=code)
    rule = next((r for r in channel_rules(channel=channel, at=at) if r.id == promotion.pk), None)
    if rule is None:
        raise VoucherOutOfScope(
            f"Voucher {code} is not valid in {channel.name}.", voucher_code=code
        )
    profile = customer_terms.pricing_profile(customer)
    if not rule.open_to(profile.tier, frozenset(profile.segments)):
        raise VoucherOutOfScope(f"Voucher {code} is not offered to you.", voucher_code=code)
    if voucher.usage_limit is not None and voucher.times_used >= voucher.usage_limit:
        raise VoucherExhausted(voucher_code=code, limit="per_code")
    if customer is not None and voucher.per_customer_limit is not None:
        used = VoucherRedemption.objects.filter(
            voucher=voucher, customer=customer, released_at__isnull=True
        ).count()
        if used >= voucher.per_customer_limit:
            raise VoucherExhausted(
                f"You have already used voucher {code} {used} time(s).",
                voucher_code=code,
                limit="per_customer",
            )
    if existing is not None:  # released earlier (order cancelled, then re-placed): reuse it
        existing.released_at = None
        existing.channel = channel
        existing.customer = customer
        existing.save(update_fields=["released_at", "channel", "customer"])
        redemption = existing
    else:
        redemption = VoucherRedemption.objects.create(
            voucher=voucher, channel=channel, customer=customer, order_reference=order_reference
        )
    counted = (
        Voucher.objects.filter(pk=voucher.pk)
        .filter(Q(usage_limit__isnull=True) | Q(times_used__lt=F("usage_limit")))
        .update(times_used=F("times_used") + 1)
    )
    if not counted:  # cannot happen under the row lock; refuse rather than overshoot
        raise VoucherExhausted(voucher_code=code, limit="per_code")
    return redemption


@transaction.atomic
def voucher_release(*, order_reference: str) -> None:
    """Give back the codes the order `order_reference` used (it was cancelled). Idempotent:
    a second call changes nothing. Locks the vouchers in pk order; fixed number of queries."""
    voucher_ids = set(
        VoucherRedemption.objects.filter(
            order_reference=order_reference, released_at__isnull=True
        ).values_list("voucher_id", flat=True)
    )
    if not voucher_ids:
        return
    vouchers_for_update(ids=voucher_ids)
    # Re-read under the locks: a concurrent release may have released them meanwhile.
    pending = VoucherRedemption.objects.filter(
        order_reference=order_reference, released_at__isnull=True, voucher_id__in=voucher_ids
    )
    released = list(pending.values_list("voucher_id", flat=True))
    if not released:
        return
    pending.update(released_at=timezone.now())
    # One redemption per (voucher, order), so each released voucher gives back exactly one use.
    Voucher.objects.filter(pk__in=released, times_used__gt=0).update(times_used=F("times_used") - 1)


@transaction.atomic
def promotion_uses_record(*, quote: Quote, order_reference: str, channel: Channel) -> list:
    """Record, for the per-promotion report, what each promotion in `quote` gave the order
    `order_reference`: the discount, the net revenue of the lines it discounted (the whole
    order for free shipping) and the order total. Call it when the order is placed, in the
    order's transaction, with the quote stored on the order. Idempotent per (promotion,
    order); two queries (the promotions still existing, a bulk insert skipping rows
    recorded already)."""
    rows = []
    # Tier benefits (promotion_id None) belong to no promotion row and are not reported here.
    for applied in (a for a in quote.promotions if a.promotion_id is not None):
        lines = [
            line
            for line in quote.lines
            if any(d.promotion_id == applied.promotion_id for d in line.discounts)
        ]
        revenue = (
            quote.total
            if applied.free_shipping
            else sum((line.line_total for line in lines), Decimal(0))
        )
        rows.append(
            PromotionUse(
                promotion_id=applied.promotion_id,
                channel=channel,
                order_reference=order_reference,
                voucher_code=applied.voucher_code,
                currency=quote.currency,
                discount=applied.amount,
                revenue=revenue,
                order_total=quote.total,
            )
        )
    if not rows:
        return []
    # A promotion deleted since the quote has nothing left to report on.
    existing = set(
        Promotion.objects.filter(pk__in=[r.promotion_id for r in rows]).values_list("pk", flat=True)
    )
    kept = [r for r in rows if r.promotion_id in existing]
    return PromotionUse.objects.bulk_create(kept, ignore_conflicts=True)


def promotion_uses_cancel(*, order_reference: str) -> int:
    """Leave the uses of a cancelled order out of the report (rows are kept). Idempotent."""
    return PromotionUse.objects.filter(
        order_reference=order_reference, cancelled_at__isnull=True
    ).update(cancelled_at=timezone.now())
