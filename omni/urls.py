"""Top-level URLs: admin dashboard, health check, API v1 and its OpenAPI schema and docs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from omni.health import healthz

admin.site.site_header = "Omni backoffice"
admin.site.site_title = "Omni"
admin.site.index_title = "Dashboard"

api_v1 = [
    path("", include("omni.api_urls")),
    path("", include("catalog.urls")),
    path("", include("inventory.urls")),
    path("", include("customers.urls")),
    path("", include("promotions.urls")),
    path("", include("orders.urls")),
    path("", include("analytics.urls")),
    path("", include("omni.sync.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("admin/", admin.site.urls),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
