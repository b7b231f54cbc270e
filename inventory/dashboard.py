"""Inventory's panels on the staff dashboard: low stock and available units per location, both
limited to a store staff member's store(s)."""

from django.db.models import F, Sum
from django.urls import reverse

from inventory.models import Stock, StockLocation
from inventory.scoping import scope_queryset
from omni.dashboard import Panel, PanelRow, bar_chart, register_panel

LOW_STOCK_ROWS = 8


def low_stock_panel(request) -> Panel | None:
    user = request.user
    if not user.has_perm("inventory.view_stock"):
        return None
    low = scope_queryset(
        Stock.objects.filter(reorder_point__gt=0, on_hand__lte=F("reserved") + F("reorder_point")),
        user,
        "location",
    )
    rows = list(
        low.annotate(units=F("on_hand") - F("reserved"))
        .order_by(F("units") - F("reorder_point"), "pk")
        .values("pk", "units", "reorder_point", "variant__sku", "location__code")[:LOW_STOCK_ROWS]
    )
    total = low.count() if len(rows) == LOW_STOCK_ROWS else len(rows)
    return Panel(
        key="low_stock",
        title="Low stock",
        total=total,
        alert=bool(total),
        url=reverse("admin:inventory_stock_changelist") + "?o=5",
        empty="Nothing at or below its reorder point.",
        rows=[
            PanelRow(
                label=f"{row['variant__sku']} @ {row['location__code']}",
                value=f"{row['units']} / {row['reorder_point']}",
                url=reverse("admin:inventory_stock_change", args=[row["pk"]]),
            )
            for row in rows
        ],
    )


def stock_by_location_panel(request) -> Panel | None:
    user = request.user
    if not user.has_perm("inventory.view_stock"):
        return None
    per_location = list(
        scope_queryset(StockLocation.objects.filter(active=True), user, "pk")
        .annotate(units=Sum(F("stocks__on_hand") - F("stocks__reserved")))
        .order_by("code")
        .values_list("code", "units")
    )
    series = [(code, units or 0) for code, units in per_location]
    return Panel(
        key="stock_by_location",
        title="Available units by location",
        url=reverse("admin:inventory_stock_changelist"),
        chart=bar_chart(series, title="Available units by location", unit=" units"),
        empty="No active location.",
    )


def register() -> None:
    register_panel("low_stock", low_stock_panel, order=40)
    register_panel("stock_by_location", stock_by_location_panel, order=60)
