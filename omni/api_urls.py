"""Routes of the omni app under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from omni.api import ApiKeyViewSet, ApiRootView, ChannelViewSet

router = SimpleRouter()
router.register("channels", ChannelViewSet, basename="channel")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [path("", ApiRootView.as_view(), name="api-root"), *router.urls]
