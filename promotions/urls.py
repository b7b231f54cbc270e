"""Promotions API routes, mounted under /api/v1/."""

from django.urls import path

from omni.routers import Router
from promotions.api import PromotionReportView, PromotionViewSet, QuoteView

router = Router()
router.register("promotions", PromotionViewSet, basename="promotion")

urlpatterns = [
    path("quotes/", QuoteView.as_view(), name="quote"),
    path("promotions/report/", PromotionReportView.as_view(), name="promotion-report"),
    *router.urls,
]
