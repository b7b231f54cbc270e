"""Read queries over promotions, vouchers and their uses (pricing, admin, report)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Sum

from omni.models import Channel
from promotions.models import Promotion, PromotionUse, Voucher, VoucherRedemption


def voucher_customer_uses(*, voucher: Voucher, customer) -> int:
    """Redemptions of `voucher` by `customer` that were not released. One query."""
    return VoucherRedemption.objects.filter(
        voucher=voucher, customer=customer, released_at__isnull=True
    ).count()


@dataclass(frozen=True)
class PromotionReportRow:
    promotion_id: int
    name: str
    kind: str
    active: bool
    currency: str  # "" for a promotion without uses in the period
    uses: int
    discount: Decimal
    revenue: Decimal
    order_revenue: Decimal


def promotion_report(
    *,
    channel: Channel | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[PromotionReportRow]:
    """Per promotion and currency: orders that used it (cancelled ones left out), the discount
    it gave, the net revenue of the lines it discounted and of those whole orders; optionally
    for one channel and a period [since, until). Promotions without uses get one zero row.
    Two queries."""
    uses = PromotionUse.objects.filter(cancelled_at__isnull=True)
    if channel is not None:
        uses = uses.filter(channel=channel)
    if since is not None:
        uses = uses.filter(created_at__gte=since)
    if until is not None:
        uses = uses.filter(created_at__lt=until)
    totals: dict[int, list[dict]] = defaultdict(list)
    for row in (
        uses.values("promotion_id", "currency")
        .annotate(
            n=Count("pk"),
            discount_sum=Sum("discount"),
            revenue_sum=Sum("revenue"),
            order_sum=Sum("order_total"),
        )
        .order_by("promotion_id", "currency")
    ):
        totals[row["promotion_id"]].append(row)
    zero = Decimal(0)
    report = []
    for promotion in Promotion.objects.order_by("pk").only("pk", "name", "kind", "active"):
        groups = totals.get(promotion.pk) or [
            {"currency": "", "n": 0, "discount_sum": zero, "revenue_sum": zero, "order_sum": zero}
        ]
        for group in groups:
            report.append(
                PromotionReportRow(
                    promotion_id=promotion.pk,
                    name=promotion.name,
                    kind=promotion.kind,
                    active=promotion.active,
                    currency=group["currency"],
                    uses=group["n"],
                    discount=group["discount_sum"],
                    revenue=group["revenue_sum"],
                    order_revenue=group["order_sum"],
                )
            )
    report.sort(key=lambda r: (-r.uses, r.promotion_id, r.currency))
    return report
