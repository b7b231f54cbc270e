"""Customers API routes, mounted under /api/v1/."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import CaseViewSet, CustomerLookupView, CustomerViewSet, MergeViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="customer")
router.register("customer-merges", MergeViewSet, basename="customer-merge")
router.register("customer-cases", CaseViewSet, basename="customer-case")

urlpatterns = [
    path("customers/lookup/", CustomerLookupView.as_view(), name="customer-lookup"),
    *router.urls,
]
