"""Channel sync API routes (webhooks, runs), mounted under /api/v1/."""

from django.urls import path

from omni.routers import Router
from omni.sync.api import (
    ConnectorSettingsViewSet,
    MessageViewSet,
    RunViewSet,
    StatusView,
    WebhookView,
)

router = Router()
router.register("sync/runs", RunViewSet, basename="sync-run")
router.register("sync/connectors", ConnectorSettingsViewSet, basename="sync-connector")
router.register("sync/messages", MessageViewSet, basename="sync-message")

urlpatterns = [
    path("webhooks/<slug:channel_code>/", WebhookView.as_view(), name="sync-webhook"),
    path("sync/status/", StatusView.as_view(), name="sync-status"),
    *router.urls,
]
