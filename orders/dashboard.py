"""Orders' panels on the staff dashboard: today's sales by channel (with a chart), orders
waiting by state, and pickups waiting at the user's store(s). Store staff see their stores'."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, F, Sum
from django.urls import reverse
from django.utils import timezone

from catalog.money import quantize
from inventory.models import StockLocation
from inventory.scoping import location_scope, scope_queryset
from omni.dashboard import Panel, PanelRow, bar_chart, register_panel
from orders.models import FulfilmentMethod, Order, OrderLine, OrderStatus
from orders.selectors import orders_in_scope

WAITING = [OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_FULFILLED,
           OrderStatus.FULFILLED]  # fmt: skip


def _today_start():
    now = timezone.localtime()
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def sales_today_panel(request) -> Panel | None:
    user = request.user
    if not user.has_perm("orders.view_order"):
        return None
    start = _today_start()
    rows = list(
        orders_in_scope(Order.objects.filter(created_at__gte=start), user)
        .exclude(status=OrderStatus.CANCELLED)
        .values("channel_id", "channel__code", "currency")
        .annotate(sales=Sum("total"), orders=Count("pk"))
        .order_by("channel__code", "currency")
    )
    series = [
        (
            f"{r['channel__code']} ({r['currency']})",
            quantize(r["sales"] or Decimal("0"), r["currency"]),
        )
        for r in rows
    ]
    changelist = reverse("admin:orders_order_changelist")
    day = (
        f"created_at__year={start.year}&created_at__month={start.month}&created_at__day={start.day}"
    )
    return Panel(
        key="sales_today",
        title="Today's sales by channel",
        url=f"{changelist}?{day}",
        link_text="Today's orders",
        empty="No sales yet today.",
        total=sum(r["orders"] for r in rows),
        chart=bar_chart(series, title="Today's sales by channel"),
        rows=[
            PanelRow(
                label=f"{r['channel__code']}",
                value=f"{quantize(r['sales'] or Decimal('0'), r['currency'])} {r['currency']}",
                note=f"{r['orders']} orders",
                url=f"{changelist}?{day}&channel__id__exact={r['channel_id']}",
            )
            for r in rows
        ],
    )


def orders_waiting_panel(request) -> Panel | None:
    user = request.user
    if not user.has_perm("orders.view_order"):
        return None
    counts = dict(
        orders_in_scope(Order.objects.filter(status__in=WAITING), user)
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    changelist = reverse("admin:orders_order_changelist")
    labels = dict(OrderStatus.choices)
    return Panel(
        key="orders_waiting",
        title="Orders waiting",
        url=changelist,
        total=sum(counts.values()),
        rows=[
            PanelRow(label=labels[s], value=counts.get(s, 0), url=f"{changelist}?status__exact={s}")
            for s in WAITING
        ],
    )


def pickups_waiting_panel(request) -> Panel | None:
    user = request.user
    if not user.has_perm("orders.view_fulfilment"):
        return None
    locations = list(
        scope_queryset(
            StockLocation.objects.filter(pickup_enabled=True, active=True), user, "pk"
        ).order_by("code")
    )
    waiting = defaultdict(int)
    for location_id, n in (
        OrderLine.objects.filter(
            pickup_location__in=[loc.pk for loc in locations],
            fulfilment_method=FulfilmentMethod.PICKUP,
            quantity__gt=F("quantity_fulfilled") + F("quantity_cancelled"),
            order__status__in=[OrderStatus.PENDING, OrderStatus.CONFIRMED,
                               OrderStatus.PARTIALLY_FULFILLED],
        )
        .values("pickup_location_id")
        .annotate(n=Count("order_id", distinct=True))
        .values_list("pickup_location_id", "n")
    ):  # fmt: skip
        waiting[location_id] = n
    queue = reverse("admin:orders_order_pickup_queue")
    scoped = location_scope(user) is not None
    return Panel(
        key="pickups_waiting",
        title="Pickups waiting at your store" if scoped else "Pickups waiting",
        url=f"{queue}?location={locations[0].code}" if locations else "",
        link_text="Open the pickup counter",
        empty="No pickup store assigned." if scoped else "No pickup store.",
        total=sum(waiting.values()),
        alert=bool(sum(waiting.values())),
        rows=[
            PanelRow(label=loc.name, value=waiting[loc.pk], url=f"{queue}?location={loc.code}")
            for loc in locations
        ],
    )


def register() -> None:
    register_panel("sales_today", sales_today_panel, order=10)
    register_panel("orders_waiting", orders_waiting_panel, order=20)
    register_panel("pickups_waiting", pickups_waiting_panel, order=30)
