"""Admin: the analytics dashboard (charts, KPI tiles, CSV exports) and read-only views of
forecasts and replenishment suggestions."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.urls import path

from analytics import dashboard, home_panels
from analytics.models import Dashboard, DemandForecast, ReplenishmentSuggestion


def _can_view(request) -> bool:
    user = request.user
    return bool(user.is_active and user.is_staff and user.has_perm("analytics.view_kpis"))


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Dashboard)
class DashboardAdmin(ReadOnlyAdmin):
    """`/admin/analytics/dashboard/` is the dashboard itself, for holders of view_kpis."""

    def has_module_permission(self, request) -> bool:
        return _can_view(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _can_view(request)

    def get_urls(self):
        def guarded(view, *, replenish: bool = False):
            def wrapper(request, *args, **kwargs):
                if not _can_view(request):
                    raise PermissionDenied
                if replenish and not request.user.has_perm("analytics.manage_replenishment"):
                    raise PermissionDenied
                return view(request, *args, **kwargs)

            return self.admin_site.admin_view(wrapper)

        return [
            path(
                "",
                guarded(lambda request: dashboard.dashboard_view(request, self.admin_site)),
                name="analytics_dashboard",
            ),
            path(
                "export/<slug:table>.csv",
                guarded(dashboard.export_view),
                name="analytics_dashboard_export",
            ),
            path("plotly.min.js", guarded(dashboard.plotly_js_view), name="analytics_plotly_js"),
            path(
                "replenishment/<int:suggestion_id>/transfer/",
                guarded(dashboard.suggestion_transfer_view, replenish=True),
                name="analytics_suggestion_transfer",
            ),
            path(
                "replenishment/<int:suggestion_id>/dismiss/",
                guarded(dashboard.suggestion_dismiss_view, replenish=True),
                name="analytics_suggestion_dismiss",
            ),
        ]


@admin.register(ReplenishmentSuggestion)
class ReplenishmentSuggestionAdmin(ReadOnlyAdmin):
    list_display = [
        "variant",
        "location",
        "kind",
        "source_location",
        "quantity",
        "forecast_daily",
        "safety_stock",
        "on_hand",
        "in_transit",
        "status",
        "transfer_reference",
    ]
    list_filter = ["status", "kind", "location"]
    list_select_related = ["variant", "location", "source_location"]
    search_fields = ["variant__sku"]


@admin.register(DemandForecast)
class DemandForecastAdmin(ReadOnlyAdmin):
    list_display = ["day", "variant", "location", "channel", "quantity", "method"]
    list_filter = ["method", "channel", "location"]
    list_select_related = ["variant", "location", "channel"]
    search_fields = ["variant__sku"]


home_panels.register()
