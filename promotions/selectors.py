"""Read queries over promotions, vouchers and their uses (pricing, admin, report)."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from promotions.models import Promotion, Voucher, VoucherRedemption


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
    uses: int
    discount: Decimal
    revenue: Decimal
    order_revenue: Decimal


def promotion_report(*, promotions: QuerySet[Promotion] | None = None) -> list[PromotionReportRow]:
    """Per promotion: orders that used it (cancelled ones excluded), discount it gave, net
    revenue of the lines it discounted and of those whole orders. One query. Amounts add
    across channels as recorded; a multi-currency business filters by channel first."""
    kept = Q(uses__cancelled_at__isnull=True)
    rows = (
        (promotions if promotions is not None else Promotion.objects.all())
        .annotate(
            n_uses=Count("uses", filter=kept),
            discount_sum=Sum("uses__discount", filter=kept),
            revenue_sum=Sum("uses__revenue", filter=kept),
            order_sum=Sum("uses__order_total", filter=kept),
        )
        .order_by("-n_uses", "pk")
    )
    zero = Decimal(0)
    return [
        PromotionReportRow(
            promotion_id=p.pk,
            name=p.name,
            kind=p.kind,
            active=p.active,
            uses=p.n_uses,
            discount=p.discount_sum or zero,
            revenue=p.revenue_sum or zero,
            order_revenue=p.order_sum or zero,
        )
        for p in rows
    ]
