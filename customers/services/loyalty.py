"""The loyalty ledger: earn, redeem, reverse and expire points; spend and tiers.

The balance is the sum of a customer's entries. Every entry has a unique idempotency key, so a
retried sync or checkout writes nothing twice. Debits (redeem, reversed earn, expiry) are written
while holding the customer's row lock and never take the balance below zero.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from customers.errors import InsufficientPoints
from customers.locks import customer_for_update, customers_for_update
from customers.models import (
    Customer,
    LoyaltyChannelRate,
    LoyaltyEntry,
    LoyaltyEntryKind,
    LoyaltyTier,
    SpendRecord,
)
from customers.selectors import loyalty_settings
from omni.errors import InvalidInput
from omni.models import Channel

MONEY = Decimal("0.01")


def _check_key(idempotency_key: str) -> str:
    key = (idempotency_key or "").strip()
    if not key or len(key) > 255:
        raise InvalidInput(
            "An idempotency key of 1 to 255 characters is required.",
            code="invalid_idempotency_key",
            field="idempotency_key",
        )
    return key


def _check_amount(amount, *, field: str = "amount", allow_negative: bool = False) -> Decimal:
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise InvalidInput("Amount must be a decimal number.", field=field) from exc
    if not value.is_finite() or (value < 0 and not allow_negative):
        raise InvalidInput("Amount must be a finite, non-negative number.", field=field)
    return value.quantize(MONEY)


def _create_entry(entry: LoyaltyEntry) -> LoyaltyEntry:
    """Insert in a savepoint; a concurrent insert of the same key wins and is returned."""
    try:
        with transaction.atomic():
            entry.save(force_insert=True)
        return entry
    except IntegrityError:
        existing = LoyaltyEntry.objects.filter(idempotency_key=entry.idempotency_key).first()
        if existing is None:
            raise
        return existing


@transaction.atomic
def loyalty_earn(
    *,
    customer: Customer,
    channel: Channel,
    amount: Decimal,
    idempotency_key: str,
    reference: str,
    occurred_at: datetime | None = None,
) -> LoyaltyEntry:
    """Credit points for `amount` spent in `channel` (on order completion): the channel's earn
    rate (or the default) times the customer's tier multiplier, rounded down. Also records the
    spend (one row per (channel, reference)) and refreshes the tier. Idempotent by key: a retry
    returns the first entry. Credits expire after the configured period. Locks the customer's
    row (a credit cannot make the balance negative, but a concurrent merge must not strand it).
    Fixed number of queries; nests in the caller's transaction."""
    key = _check_key(idempotency_key)
    amount = _check_amount(amount)
    existing = LoyaltyEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    # The row lock keeps a concurrent merge from leaving this entry behind on a merged profile.
    customer_id = customer_for_update(customer.merged_into_id or customer.pk).pk
    settings = loyalty_settings()
    rate = LoyaltyChannelRate.objects.filter(channel=channel).values_list("earn_rate", flat=True)
    rate_value = rate.first()
    if rate_value is None:
        rate_value = settings.default_earn_rate
    multiplier = (
        LoyaltyTier.objects.filter(
            code=Customer.objects.filter(pk=customer_id).values("tier_code")[:1]
        )
        .values_list("earn_multiplier", flat=True)
        .first()
    ) or Decimal("1")
    points = int((amount * rate_value * multiplier).to_integral_value(rounding=ROUND_FLOOR))
    now = timezone.now()
    entry = _create_entry(
        LoyaltyEntry(
            customer_id=customer_id,
            kind=LoyaltyEntryKind.EARN,
            points=points,
            idempotency_key=key,
            reference=reference[:120],
            channel=channel,
            amount=amount,
            expires_at=now + timedelta(days=settings.expiry_days),
        )
    )
    SpendRecord.objects.bulk_create(
        [
            SpendRecord(
                customer_id=customer_id,
                channel=channel,
                amount=amount,
                occurred_at=occurred_at or now,
                reference=reference[:120] or key[:120],
            )
        ],
        ignore_conflicts=True,
    )
    tiers_refresh(customer_ids=[customer_id], settings=settings)
    return entry


@transaction.atomic
def loyalty_redeem(
    *,
    customer: Customer,
    points: int,
    idempotency_key: str,
    reference: str,
    channel: Channel | None = None,
) -> LoyaltyEntry:
    """Debit `points` (checkout). Locks the customer's row, then sums the ledger, so concurrent
    redemptions are serialised and the balance never goes below zero; raises InsufficientPoints
    (409 `insufficient_points`, with `balance` and `requested`) writing nothing. Idempotent by
    key (checked under the lock). Fixed number of queries; nests in the caller's transaction."""
    key = _check_key(idempotency_key)
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidInput(
            "Points to redeem must be a positive integer.", code="invalid_points", field="points"
        )
    locked = customer_for_update(customer.merged_into_id or customer.pk)
    existing = LoyaltyEntry.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    balance = _balance(locked.pk)
    if balance < points:
        raise InsufficientPoints(
            f"Only {balance} points available, {points} requested.",
            field="loyalty_points",
            balance=balance,
            requested=points,
        )
    return _create_entry(
        LoyaltyEntry(
            customer_id=locked.pk,
            kind=LoyaltyEntryKind.REDEEM,
            points=-points,
            idempotency_key=key,
            reference=reference[:120],
            channel=channel,
        )
    )


def _balance(customer_id: int) -> int:
    total = LoyaltyEntry.objects.filter(customer_id=customer_id).aggregate(total=Sum("points"))
    return int(total["total"] or 0)


@transaction.atomic
def loyalty_reverse(
    *,
    idempotency_key: str,
    reference: str,
    original_idempotency_key: str | None = None,
    original_reference: str | None = None,
    points: int | None = None,
    amount: Decimal | None = None,
) -> list[LoyaltyEntry]:
    """Undo earned or redeemed points (returns, cancellations); returns the reversal entries.

    Targets: the entry with `original_idempotency_key`, else every earn/redeem entry whose
    reference is `original_reference` (default: `reference`, e.g. the order number on a
    cancellation). Without `points`/`amount` each target is reversed in full (what is left of it
    after earlier reversals). `amount` (money returned) reverses earned points in proportion and
    books the refund against the spend; `points` reverses that many points of a single target.
    A reversed redemption credits the points back; a reversed earn debits them, capped at the
    balance so it never goes negative (the shortfall is noted on the entry). Nothing to reverse
    returns []. Idempotent by key; locks the customer's row; fixed number of queries.
    """
    key = _check_key(idempotency_key)
    if points is not None and (
        isinstance(points, bool) or not isinstance(points, int) or points <= 0
    ):
        raise InvalidInput(
            "Points must be a positive integer.", code="invalid_points", field="points"
        )
    returned = _check_amount(amount) if amount is not None else None
    if original_idempotency_key:
        targets_q = Q(idempotency_key=original_idempotency_key)
    else:
        targets_q = Q(reference=(original_reference or reference)[:120])
    targets_q &= Q(kind__in=[LoyaltyEntryKind.EARN, LoyaltyEntryKind.REDEEM])
    if returned is not None:
        targets_q &= Q(kind=LoyaltyEntryKind.EARN)
    customer_ids = set(LoyaltyEntry.objects.filter(targets_q).values_list("customer_id", flat=True))
    if not customer_ids:
        return []
    customers_for_update(customer_ids)
    targets = list(
        LoyaltyEntry.objects.filter(targets_q)
        .annotate(reversed_points=Sum("reversals__points"), reversal_count=Count("reversals"))
        .order_by("pk")
    )
    if (points is not None or returned is not None) and len(targets) != 1:
        raise InvalidInput(
            "A partial reversal (points or amount) needs exactly one original entry.",
            code="ambiguous_reversal",
            field="original_idempotency_key",
        )
    keys = {t.pk: key if len(targets) == 1 else f"{key}/{t.pk}"[:255] for t in targets}
    existing = list(LoyaltyEntry.objects.filter(idempotency_key__in=keys.values()))
    if existing:
        return existing
    balances = {cid: _balance(cid) for cid in {t.customer_id for t in targets}}
    settings = loyalty_settings()
    now = timezone.now()
    entries, refunds = [], []
    for target in targets:
        remaining = abs(target.points) - abs(target.reversed_points or 0)
        # An earn worth 0 points (a 0-rate channel) is still reversed once, for its spend.
        zero_earn_pending = target.points == 0 and (
            returned is not None or not target.reversal_count
        )
        if remaining <= 0 and not zero_earn_pending:
            continue
        if points is not None:
            wanted = min(points, remaining)
        elif returned is not None and target.amount:
            share = min(returned / target.amount, Decimal("1"))
            wanted = min(
                int((target.points * share).to_integral_value(rounding=ROUND_FLOOR)), remaining
            )
        else:
            wanted = remaining
        note = ""
        if target.kind == LoyaltyEntryKind.EARN:
            balance = balances[target.customer_id]
            debit = min(wanted, max(balance, 0))
            if debit < wanted:
                note = f"{wanted - debit} points were already spent; reversed what was left."
            balances[target.customer_id] -= debit
            signed, expires = -debit, None
            refund = returned if returned is not None else target.amount
            if refund:
                refunds.append((target, min(refund, target.amount)))
        else:
            balances[target.customer_id] += wanted
            signed, expires = wanted, now + timedelta(days=settings.expiry_days)
        entries.append(
            LoyaltyEntry(
                customer_id=target.customer_id,
                kind=LoyaltyEntryKind.REVERSE,
                points=signed,
                idempotency_key=keys[target.pk],
                reference=reference[:120],
                channel_id=target.channel_id,
                amount=returned,
                reverses=target,
                expires_at=expires,
                note=note,
            )
        )
    if not entries:
        return []
    try:
        with transaction.atomic():
            created = LoyaltyEntry.objects.bulk_create(entries)
    except IntegrityError:
        return list(LoyaltyEntry.objects.filter(idempotency_key__in=keys.values()))
    if refunds:
        SpendRecord.objects.bulk_create(
            [
                SpendRecord(
                    customer_id=target.customer_id,
                    channel_id=target.channel_id,
                    amount=-refund,
                    occurred_at=now,
                    reference=f"refund:{keys[target.pk]}"[:120],
                )
                for target, refund in refunds
                if target.channel_id is not None
            ],
            ignore_conflicts=True,
        )
        tiers_refresh(customer_ids=list(balances), settings=settings)
    return created


def loyalty_adjust(
    *, customer: Customer, points: int, idempotency_key: str, note: str, user=None
) -> LoyaltyEntry:
    """Staff correction of a balance (goodwill credit or a debit). Debits lock the row and never
    take the balance below zero."""
    key = _check_key(idempotency_key)
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise InvalidInput(
            "Points must be a non-zero integer.", code="invalid_points", field="points"
        )
    with transaction.atomic():
        locked = customer_for_update(customer.merged_into_id or customer.pk)
        existing = LoyaltyEntry.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        if points < 0 and _balance(locked.pk) < -points:
            raise InsufficientPoints(field="points", balance=_balance(locked.pk), requested=-points)
        settings = loyalty_settings()
        by = f" by {user}" if user is not None else ""
        return _create_entry(
            LoyaltyEntry(
                customer_id=locked.pk,
                kind=LoyaltyEntryKind.ADJUST,
                points=points,
                idempotency_key=key,
                reference="adjustment",
                expires_at=timezone.now() + timedelta(days=settings.expiry_days)
                if points > 0
                else None,
                note=f"{note}{by}"[:200],
            )
        )


def loyalty_expire(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Expire credits older than their `expires_at`; return the points expired.

    Debits consume the oldest credits first, so what has expired and is still unspent is
    `credits expired so far + all debits` (debits are negative, earlier expiries included).
    Each batch locks its customers (pk order) and re-computes under the lock, so a concurrent
    redemption cannot be counted twice; running it again expires nothing more.
    """
    now = now or timezone.now()
    expired_q = Q(points__gt=0, expires_at__lte=now)
    candidates = sorted(
        LoyaltyEntry.objects.filter(expired_q).values_list("customer_id", flat=True).distinct()
    )
    total = 0
    for start in range(0, len(candidates), batch_size):
        batch = candidates[start : start + batch_size]
        with transaction.atomic(durable=True):
            customers_for_update(batch)
            rows = (
                LoyaltyEntry.objects.filter(customer_id__in=batch)
                .values("customer_id")
                .annotate(
                    expired=Sum("points", filter=expired_q),
                    debits=Sum("points", filter=Q(points__lt=0)),
                    balance=Sum("points"),
                )
            )
            entries = []
            for row in rows:
                due = min((row["expired"] or 0) + (row["debits"] or 0), row["balance"] or 0)
                if due > 0:
                    entries.append(
                        LoyaltyEntry(
                            customer_id=row["customer_id"],
                            kind=LoyaltyEntryKind.EXPIRE,
                            points=-due,
                            idempotency_key=f"expire:{row['customer_id']}:{now.isoformat()}",
                            reference="expiry",
                        )
                    )
                    total += due
            LoyaltyEntry.objects.bulk_create(entries)
    return total


@transaction.atomic
def customer_record_purchase(
    *,
    customer: Customer,
    channel: Channel,
    amount: Decimal,
    occurred_at: datetime,
    reference: str,
) -> SpendRecord:
    """Record money spent (negative: refunded) for tiers and RFM segments, without loyalty
    points. One row per (channel, reference): a retry returns the first row. `loyalty_earn`
    records the spend itself; call this for purchases that earn nothing (or for refunds)."""
    amount = _check_amount(amount, allow_negative=True)
    if not reference:
        raise InvalidInput("A reference is required.", code="required", field="reference")
    customer_id = customer_for_update(customer.merged_into_id or customer.pk).pk
    SpendRecord.objects.bulk_create(
        [
            SpendRecord(
                customer_id=customer_id,
                channel=channel,
                amount=amount,
                occurred_at=occurred_at,
                reference=reference[:120],
            )
        ],
        ignore_conflicts=True,
    )
    tiers_refresh(customer_ids=[customer_id])
    return SpendRecord.objects.get(channel=channel, reference=reference[:120])


def tiers_refresh(
    *, customer_ids: Iterable[int] | None = None, at: datetime | None = None, settings=None
) -> int:
    """Set each customer's tier from their spend over the rolling window (default 365 days).
    All customers when `customer_ids` is None (the nightly run: old spend leaves the window).
    Fixed number of queries per batch; returns how many profiles changed tier."""
    settings = settings or loyalty_settings()
    at = at or timezone.now()
    since = at - timedelta(days=settings.tier_window_days)
    tiers = list(LoyaltyTier.objects.order_by("-min_spend").values_list("code", "min_spend"))
    customers = Customer.objects.all()
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    spend = dict(
        SpendRecord.objects.filter(
            customer__in=customers, occurred_at__gte=since, occurred_at__lte=at
        )
        .values("customer_id")
        .annotate(total=Sum("amount"))
        .values_list("customer_id", "total")
    )
    changed = []
    for pk, tier_code, tier_spend in customers.values_list("pk", "tier_code", "tier_spend"):
        total = (spend.get(pk) or Decimal("0")).quantize(MONEY)
        code = next((c for c, minimum in tiers if total >= minimum), "")
        if code != tier_code or total != tier_spend:
            changed.append(Customer(pk=pk, tier_code=code, tier_spend=total))
    Customer.objects.bulk_update(changed, ["tier_code", "tier_spend"], batch_size=500)
    return len(changed)
