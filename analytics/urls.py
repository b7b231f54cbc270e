"""Analytics API routes, mounted under /api/v1/."""

from django.urls import path

from analytics import api

urlpatterns = [
    path("events/", api.EventBatchView.as_view(), name="events"),
    path(
        "products/<int:product_id>/related/",
        api.RelatedProductsView.as_view(),
        name="product-related",
    ),
    path("analytics/kpis/", api.KpiSummaryView.as_view(), name="analytics-kpis"),
    path("analytics/kpis/channels/", api.KpiChannelsView.as_view(), name="analytics-kpis-channels"),
    path(
        "analytics/kpis/customers/", api.KpiCustomersView.as_view(), name="analytics-kpis-customers"
    ),
    path(
        "analytics/kpis/inventory/", api.KpiInventoryView.as_view(), name="analytics-kpis-inventory"
    ),
    path("analytics/sales/", api.SalesSeriesView.as_view(), name="analytics-sales"),
    path("analytics/funnel/", api.FunnelView.as_view(), name="analytics-funnel"),
    path("analytics/channel-flow/", api.ChannelFlowView.as_view(), name="analytics-channel-flow"),
    path("analytics/cohorts/", api.CohortsView.as_view(), name="analytics-cohorts"),
    path("analytics/top-products/", api.TopProductsView.as_view(), name="analytics-top-products"),
    path("analytics/low-stock/", api.LowStockView.as_view(), name="analytics-low-stock"),
    path("analytics/forecasts/", api.ForecastView.as_view(), name="analytics-forecasts"),
    path(
        "analytics/replenishment/",
        api.ReplenishmentListView.as_view(),
        name="analytics-replenishment",
    ),
    path(
        "analytics/replenishment/<int:suggestion_id>/transfer/",
        api.ReplenishmentTransferView.as_view(),
        name="analytics-replenishment-transfer",
    ),
    path(
        "analytics/replenishment/<int:suggestion_id>/dismiss/",
        api.ReplenishmentDismissView.as_view(),
        name="analytics-replenishment-dismiss",
    ),
    path(
        "analytics/customers/<int:customer_id>/suggestions/",
        api.CustomerSuggestionsView.as_view(),
        name="analytics-customer-suggestions",
    ),
]
