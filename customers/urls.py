"""Customers API routes, mounted under /api/v1/."""

from django.urls import path

from customers.api import (
    CaseViewSet,
    CustomerLedgerViewSet,
    CustomerLookupView,
    CustomerViewSet,
    MergeViewSet,
    StorefrontCaseView,
    StorefrontConsentView,
)
from omni.routers import Router

router = Router()
router.register("customers", CustomerViewSet, basename="customer")
router.register("customers", CustomerLedgerViewSet, basename="customer-ledger")
router.register("customer-merges", MergeViewSet, basename="customer-merge")
router.register("customer-cases", CaseViewSet, basename="customer-case")

urlpatterns = [
    path("customers/lookup/", CustomerLookupView.as_view(), name="customer-lookup"),
    path("customers/consents/", StorefrontConsentView.as_view(), name="customer-consent"),
    path("customers/cases/", StorefrontCaseView.as_view(), name="customer-case-raise"),
    *router.urls,
]
