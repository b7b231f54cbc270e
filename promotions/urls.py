"""Promotions API routes, mounted under /api/v1/."""

from django.urls import path

from promotions.api import PromotionReportView, QuoteView

urlpatterns = [
    path("quotes/", QuoteView.as_view(), name="quote"),
    path("promotions/report/", PromotionReportView.as_view(), name="promotion-report"),
]
