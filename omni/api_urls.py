"""Routes of the omni app under /api/v1/."""

from django.urls import path

from omni.api import ApiKeyViewSet, ApiRootView, ChannelViewSet
from omni.routers import Router

router = Router()
router.register("channels", ChannelViewSet, basename="channel")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = [path("", ApiRootView.as_view(), name="api-root"), *router.urls]
