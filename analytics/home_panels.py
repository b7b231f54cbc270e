"""Analytics on the staff dashboard home: net sales by channel over the last two weeks, read
from the rollups and drawn with the analytics dashboard's plotly chart (JS served locally)."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from analytics import dashboard, selectors
from omni.dashboard import Panel, register_panel

DAYS = 14


def sales_trend_panel(request) -> Panel | None:
    user = request.user
    if not (user.is_staff and user.has_perm("analytics.view_kpis")):
        return None
    today = timezone.localdate()
    period = selectors.Period(today - timedelta(days=DAYS - 1), today)
    series = selectors.sales_series(period=period)
    return Panel(
        key="sales_trend",
        title=f"Net sales by channel, last {DAYS} days",
        url=reverse("admin:analytics_dashboard"),
        link_text="Open the analytics dashboard",
        # plotly's own markup: a div and a script with the figure JSON-encoded by plotly.
        chart=mark_safe(dashboard.chart_sales(series)),
        scripts=[reverse("admin:analytics_plotly_js")],
    )


def register() -> None:
    register_panel("sales_trend", sales_trend_panel, order=15)
