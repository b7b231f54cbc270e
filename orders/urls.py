"""Orders API routes, mounted under /api/v1/."""

from django.urls import path

from omni.routers import Router
from orders.api import (
    OrderCancelView,
    OrderCreateView,
    OrderDetailView,
    ReturnCreateView,
    StaffOrderViewSet,
)

router = Router()
router.register("staff/orders", StaffOrderViewSet, basename="staff-order")

urlpatterns = [
    path("orders/", OrderCreateView.as_view(), name="order-create"),
    path("orders/<str:number>/", OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:number>/cancel/", OrderCancelView.as_view(), name="order-cancel"),
    path("returns/", ReturnCreateView.as_view(), name="return-create"),
    *router.urls,
]
