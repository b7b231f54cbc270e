"""The orders app's adapter for `customers.order_history`: a profile's orders from every
channel, its export and the erasure of the personal fields copied onto orders."""

from typing import Any

from django.db.models import Count, Prefetch, Sum
from django.urls import reverse

from customers.order_history import OrderSummary
from orders.models import Order, Return


class OrderHistory:
    def orders_for(self, *, customer_id: int, limit: int = 50) -> list[OrderSummary]:
        orders = (
            Order.objects.filter(customer_id=customer_id)
            .select_related("channel")
            .annotate(items=Sum("lines__quantity"))
            .prefetch_related(
                Prefetch(
                    "returns",
                    queryset=Return.objects.select_related("location").annotate(
                        units=Sum("lines__quantity")
                    ),
                )
            )
            .order_by("-created_at", "-pk")[:limit]
        )
        return [
            OrderSummary(
                number=order.number,
                channel=order.channel.code,
                status=order.status,
                placed_at=order.created_at,
                total=order.total,
                currency=order.currency,
                items=order.items or 0,
                returns=[
                    {
                        "id": r.pk,
                        "location": r.location.code,
                        "units": r.units or 0,
                        "at": r.created_at.isoformat(),
                    }
                    for r in order.returns.all()
                ],
                admin_url=reverse("admin:orders_order_change", args=[order.pk]),
            )
            for order in orders
        ]

    def export_for(self, *, customer_id: int) -> list[dict[str, Any]]:
        orders = (
            Order.objects.filter(customer_id=customer_id)
            .select_related("channel")
            .prefetch_related("lines")
            .annotate(fulfilments_count=Count("fulfilments"))
            .order_by("created_at", "pk")
        )
        return [
            {
                "number": o.number,
                "channel": o.channel.code,
                "status": o.status,
                "placed_at": o.created_at.isoformat(),
                "name": o.customer_name,
                "email": o.customer_email,
                "phone": o.customer_phone,
                "shipping_address": o.shipping_address,
                "billing_address": o.billing_address,
                "currency": o.currency,
                "total": f"{o.total:f}",
                "lines": [
                    {"sku": line.sku, "quantity": line.quantity, "total": f"{line.line_total:f}"}
                    for line in o.lines.all()
                ],
            }
            for o in orders
        ]

    def anonymise_for(self, *, customer_id: int) -> int:
        # Order facts (lines, totals, dates) stay for the books; the person goes.
        return Order.objects.filter(customer_id=customer_id).update(
            customer_name="",
            customer_email="",
            customer_phone="",
            shipping_address={},
            billing_address={},
        )
