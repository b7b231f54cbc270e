"""RFM scores and named segments, recomputed nightly from recorded spend."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone

from customers.models import Customer, SpendRecord


class Segment:
    """Named segments promotions and analytics can target (PricingProfile.segments)."""

    CHAMPIONS = "champions"
    LOYAL = "loyal"
    NEW = "new"
    PROMISING = "promising"
    NEEDS_ATTENTION = "needs_attention"
    AT_RISK = "at_risk"
    HIBERNATING = "hibernating"
    LOST = "lost"

    ALL = [CHAMPIONS, LOYAL, NEW, PROMISING, NEEDS_ATTENTION, AT_RISK, HIBERNATING, LOST]


# Recency in days since the last purchase -> score (5 best); frequency and monetary are scored
# by quintile among the customers who bought in the window, so they adapt to the business.
RECENCY_DAYS = [(30, 5), (90, 4), (180, 3), (365, 2)]
NEW_CUSTOMER_DAYS = 60
WINDOW_DAYS = 730


def recency_score(days: int) -> int:
    return next((score for limit, score in RECENCY_DAYS if days <= limit), 1)


def quintile_scores(values: dict[int, Decimal | int]) -> dict[int, int]:
    """1-5 by rank: the top fifth scores 5. Ties share the lower rank's score."""
    ordered = sorted(values.items(), key=lambda item: item[1])
    scores, count = {}, len(ordered)
    previous, previous_score = None, 0
    for rank, (pk, value) in enumerate(ordered):
        score = previous_score if value == previous else 1 + (5 * rank) // count
        scores[pk] = score
        previous, previous_score = value, score
    return scores


def segment_for(r: int, f: int, m: int, *, first_purchase_days: int) -> str:
    if r >= 4 and first_purchase_days <= NEW_CUSTOMER_DAYS:
        return Segment.NEW
    if r >= 4 and f >= 4:
        return Segment.CHAMPIONS
    if r >= 3 and f >= 3:
        return Segment.LOYAL
    if r >= 3:
        return Segment.PROMISING
    if r == 2 and f >= 3:
        return Segment.AT_RISK
    if r == 2:
        return Segment.NEEDS_ATTENTION
    if f >= 3 or m >= 4:
        return Segment.HIBERNATING
    return Segment.LOST


def segments_recompute(*, at: datetime | None = None, batch_size: int = 1000) -> dict[str, int]:
    """Score every live customer on recency, frequency and monetary value over the last two
    years of spend and store the named segment; customers without purchases get none. One
    aggregate query, then bulk UPDATEs in batches. Returns the size of each segment."""
    at = at or timezone.now()
    since = at - timedelta(days=WINDOW_DAYS)
    rows = (
        SpendRecord.objects.filter(
            occurred_at__gte=since, occurred_at__lte=at, customer__merged_into__isnull=True
        )
        .values("customer_id")
        .annotate(
            last=Max("occurred_at", filter=Q(amount__gt=0)),
            first=Min("occurred_at", filter=Q(amount__gt=0)),
            frequency=Count("pk", filter=Q(amount__gt=0)),
            monetary=Sum("amount"),
        )
        .filter(frequency__gt=0)
    )
    facts = {row["customer_id"]: row for row in rows}
    f_scores = quintile_scores({pk: row["frequency"] for pk, row in facts.items()})
    m_scores = quintile_scores({pk: row["monetary"] or Decimal("0") for pk, row in facts.items()})
    sizes = dict.fromkeys(Segment.ALL, 0)
    updates = []
    for pk, row in facts.items():
        r = recency_score((at - row["last"]).days)
        f, m = f_scores[pk], m_scores[pk]
        name = segment_for(r, f, m, first_purchase_days=(at - row["first"]).days)
        sizes[name] += 1
        updates.append(
            Customer(
                pk=pk,
                rfm_recency=r,
                rfm_frequency=f,
                rfm_monetary=m,
                segment=name,
                segment_computed_at=at,
            )
        )
    with transaction.atomic():
        # Customers who no longer bought in the window drop out of every segment.
        Customer.objects.exclude(pk__in=list(facts)).exclude(segment="").update(
            segment="",
            rfm_recency=None,
            rfm_frequency=None,
            rfm_monetary=None,
            segment_computed_at=at,
        )
        Customer.objects.bulk_update(
            updates,
            ["rfm_recency", "rfm_frequency", "rfm_monetary", "segment", "segment_computed_at"],
            batch_size=batch_size,
        )
    return sizes
