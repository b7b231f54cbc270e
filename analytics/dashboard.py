"""The staff dashboard: KPI tiles against the previous period, charts (plotly, its JS served
from the installed package so the page works offline) and tables with CSV export."""

import csv
from datetime import timedelta
from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from analytics import selectors
from analytics.api import channel_ids_from, period_from
from omni.errors import DomainError
from omni.models import Channel

TILES = [
    # (section, key, label, format)
    ("sales", "net_sales", "Net sales", "money"),
    ("sales", "orders", "Orders", "int"),
    ("sales", "average_order_value", "Average order value", "money"),
    ("sales", "units_per_order", "Units per order", "number"),
    ("sales", "conversion_rate", "Conversion rate", "pct"),
    ("sales", "discount_rate", "Discount rate", "pct"),
    ("sales", "return_rate", "Return rate", "pct"),
    ("customers", "repeat_purchase_rate", "Repeat purchase rate", "pct"),
    ("customers", "cross_channel_share", "Cross-channel customers", "pct"),
    ("customers", "clv_historical", "CLV (historical)", "money"),
    ("customers", "clv_predictive", "CLV (predicted)", "money"),
    ("inventory", "stockout_rate", "Stockout rate", "pct"),
    ("inventory", "sell_through", "Sell-through", "pct"),
    ("inventory", "inventory_turnover", "Inventory turnover", "number"),
    ("inventory", "days_of_cover", "Days of cover", "number"),
    ("sales", "fulfilment_hours_median", "Order to fulfilment, median (h)", "int"),
    ("sales", "fulfilment_hours_p90", "Order to fulfilment, p90 (h)", "int"),
    ("sales", "pickups_collected", "Pickups collected", "int"),
    ("sales", "pickups_not_collected", "Pickups not collected", "int"),
]
# For these a rise is bad news: the tile shows it in red.
LOWER_IS_BETTER = {
    "return_rate",
    "discount_rate",
    "stockout_rate",
    "fulfilment_hours_median",
    "fulfilment_hours_p90",
    "pickups_not_collected",
}


def _fmt(value, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "pct":
        return f"{value * 100:.1f} %"
    if kind == "int":
        return f"{value:,}"
    return f"{value:,.2f}"


def tiles(sections: dict) -> list[dict]:
    out = []
    for section, key, label, kind in TILES:
        entry = sections[section]["kpis"].get(key)
        if entry is None:
            continue
        change = entry["change"]
        good = None
        if change is not None and change != 0:
            good = (change > 0) != (key in LOWER_IS_BETTER)
        out.append(
            {
                "label": label,
                "value": _fmt(entry["value"], kind),
                "previous": _fmt(entry["previous"], kind),
                "change": f"{change * 100:+.1f} %" if change is not None else "",
                "good": good,
            }
        )
    return out


# --- tables (shown on the page and exported as CSV) -------------------------------------------


def _table_channels(period, channel_ids):
    header = ["channel", "net_sales", "orders", "aov", "conversion", "return_rate", "share"]
    rows = []
    for row in selectors.kpi_by_channel(period=period):
        if channel_ids and row["channel_id"] not in channel_ids:
            continue
        k = row["kpis"]
        rows.append(
            [
                row["channel"],
                k["net_sales"]["value"],
                k["orders"]["value"],
                k["average_order_value"]["value"],
                k["conversion_rate"]["value"],
                k["return_rate"]["value"],
                k["share_of_net_sales"]["value"],
            ]
        )
    return header, rows


def _table_kpis(period, channel_ids):
    summary = selectors.kpi_summary(period=period, channel_ids=channel_ids)["kpis"]
    customers = selectors.customer_kpis(period=period, channel_ids=channel_ids)["kpis"]
    inventory = selectors.inventory_kpis(period=period)["kpis"]
    rows = [
        [name, v["value"], v["previous"], v["change"]]
        for block in (summary, customers, inventory)
        for name, v in block.items()
    ]
    return ["kpi", "value", "previous", "change"], rows


def _table_sales(period, channel_ids):
    rows = [
        [r["day"], r["channel"], r["net_sales"], r["orders"], r["units"]]
        for r in selectors.sales_series(period=period, channel_ids=channel_ids)
    ]
    return ["day", "channel", "net_sales", "orders", "units"], rows


def _table_top_products(period, channel_ids):
    rows = [
        [r["product_id"], r["name"], r["net_sales"], r["units"], r["return_rate"]]
        for r in selectors.top_products(period=period, limit=20)
    ]
    return ["product_id", "name", "net_sales", "units", "return_rate"], rows


def _table_low_stock(period, channel_ids):
    rows = [
        [r["sku"], r["location"], r["on_hand"], r["available"], r["incoming"], r["reorder_point"]]
        for r in selectors.low_stock(limit=100)
    ]
    return ["sku", "location", "on_hand", "available", "incoming", "reorder_point"], rows


def _table_replenishment(period, channel_ids):
    rows = [
        [
            s.id,
            s.variant.sku,
            s.location.code,
            s.kind,
            s.source_location.code if s.source_location else "",
            s.quantity,
            round(s.forecast_daily, 2),
            s.safety_stock,
            s.on_hand,
            s.in_transit,
        ]
        for s in selectors.open_suggestions(limit=100)
    ]
    header = [
        "id", "sku", "location", "kind", "source", "quantity", "forecast_per_day",
        "safety_stock", "on_hand", "in_transit",
    ]  # fmt: skip
    return header, rows


def _table_cohorts(period, channel_ids):
    data = selectors.cohorts(start_month=period.start, end_month=period.end)
    width = max((len(c["retention"]) for c in data), default=0)
    rows = [[c["cohort"], c["customers"], *c["retention"]] for c in data]
    return ["cohort", "customers", *[f"month_{i}" for i in range(width)]], rows


def _table_channel_flow(period, channel_ids):
    data = selectors.channel_flow(period=period)
    rows = [[f["from"], f["to"], f["customers"], f["share"]] for f in data["flows"]]
    return ["first_channel", "later_channel", "customers", "share"], rows


TABLES = {
    "kpis": _table_kpis,
    "channels": _table_channels,
    "sales": _table_sales,
    "top-products": _table_top_products,
    "low-stock": _table_low_stock,
    "replenishment": _table_replenishment,
    "cohorts": _table_cohorts,
    "channel-flow": _table_channel_flow,
}


# --- charts -----------------------------------------------------------------------------------


def _html(fig) -> str:
    fig.update_layout(margin={"l": 40, "r": 10, "t": 40, "b": 30}, height=340)
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False})


def chart_sales(series: list[dict]) -> str:
    import plotly.graph_objects as go

    by_channel: dict[str, tuple[list, list]] = {}
    for row in series:
        days, values = by_channel.setdefault(row["channel"], ([], []))
        days.append(row["day"])
        values.append(float(row["net_sales"]))
    fig = go.Figure(
        [
            go.Scatter(x=d, y=v, name=code, mode="lines", stackgroup="sales")
            for code, (d, v) in sorted(by_channel.items())
        ]
    )
    fig.update_layout(title="Net sales by channel")
    return _html(fig)


def chart_flow(flow: dict) -> str:
    import plotly.graph_objects as go

    sources = sorted({f["from"] for f in flow["flows"]})
    targets = sorted({f["to"] for f in flow["flows"]})
    labels = [f"first: {s}" for s in sources] + [f"later: {t}" for t in targets]
    fig = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12},
            link={
                "source": [sources.index(f["from"]) for f in flow["flows"]],
                "target": [len(sources) + targets.index(f["to"]) for f in flow["flows"]],
                "value": [f["customers"] for f in flow["flows"]],
            },
        )
    )
    fig.update_layout(title="Channel flow: first channel to later channels")
    return _html(fig)


def chart_cohorts(data: list[dict]) -> str:
    import plotly.graph_objects as go

    width = max((len(c["retention"]) for c in data), default=0)
    z = [
        [float(v) * 100 if v is not None else None for v in c["retention"]]
        + [None] * (width - len(c["retention"]))
        for c in data
    ]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"+{i}" for i in range(width)],
            y=[f"{c['cohort'][:7]} ({c['customers']})" for c in data],
            colorscale="Blues",
            zmin=0,
            zmax=100,
            hovertemplate="%{y} month %{x}: %{z:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(title="Cohort retention (% of cohort buying in month +n)")
    fig.update_yaxes(autorange="reversed")
    return _html(fig)


def chart_top_products(products: list[dict]) -> str:
    import plotly.graph_objects as go

    fig = go.Figure(
        go.Bar(
            x=[float(p["net_sales"]) for p in products][::-1],
            y=[p["name"] for p in products][::-1],
            orientation="h",
        )
    )
    fig.update_layout(title="Top products by net sales")
    return _html(fig)


# --- views (wired into the admin by analytics.admin) ------------------------------------------


def dashboard_view(request, admin_site):
    try:
        period = period_from(request)
        channel_ids = channel_ids_from(request)
    except DomainError as exc:
        messages.error(request, exc.message)
        period = selectors.Period(timezone.localdate() - timedelta(days=29), timezone.localdate())
        channel_ids = None
    sections = {
        "sales": selectors.kpi_summary(period=period, channel_ids=channel_ids),
        "customers": selectors.customer_kpis(period=period, channel_ids=channel_ids),
        "inventory": selectors.inventory_kpis(period=period),
    }
    series = selectors.sales_series(period=period, channel_ids=channel_ids)
    cohort_start = (period.end.replace(day=1) - timedelta(days=330)).replace(day=1)
    cohort_data = selectors.cohorts(start_month=cohort_start, end_month=period.end)
    flow = selectors.channel_flow(period=period)
    products = selectors.top_products(period=period, limit=10)
    query = request.GET.urlencode()
    context = {
        **admin_site.each_context(request),
        "title": "Analytics dashboard",
        "period": period,
        "previous": period.previous(),
        "channels": Channel.objects.order_by("code"),
        "selected_channels": set(channel_ids or []),
        "tiles": tiles(sections),
        "chart_sales": chart_sales(series),
        "chart_flow": chart_flow(flow) if flow["flows"] else "",
        "chart_cohorts": chart_cohorts(cohort_data),
        "chart_top": chart_top_products(products) if products else "",
        "channel_table": _table_channels(period, channel_ids),
        "top_products": products,
        "low_stock": selectors.low_stock(limit=25),
        "suggestions": selectors.open_suggestions(limit=25),
        "funnel": selectors.funnel(period=period, channel_ids=channel_ids),
        "flow": flow,
        "can_replenish": request.user.has_perm("analytics.manage_replenishment"),
        "query": query,
        "exports": list(TABLES),
    }
    return TemplateResponse(request, "analytics/dashboard.html", context)


def export_view(request, table: str):
    builder = TABLES.get(table)
    if builder is None:
        raise Http404("No such table.")
    try:
        period = period_from(request)
        channel_ids = channel_ids_from(request)
    except DomainError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain")
    header, rows = builder(period, channel_ids)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{table}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


def suggestion_transfer_view(request, suggestion_id: int):
    from analytics.replenishment import suggestion_to_transfer

    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        transfer = suggestion_to_transfer(suggestion_id=suggestion_id, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Transfer {transfer.reference or transfer.pk} drafted.")
    return redirect("admin:analytics_dashboard")


def suggestion_dismiss_view(request, suggestion_id: int):
    from analytics.replenishment import suggestion_dismiss

    if request.method != "POST":
        return HttpResponse(status=405)
    try:
        suggestion_dismiss(suggestion_id=suggestion_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("admin:analytics_dashboard")


def plotly_js_view(request):
    """plotly.min.js from the installed plotly package: the dashboard never needs a CDN."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    response = FileResponse(path.open("rb"), content_type="application/javascript")
    response["Cache-Control"] = "max-age=86400"
    return response
