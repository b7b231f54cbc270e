"""Inventory API routes, mounted under /api/v1/."""

from django.urls import path

from inventory import api
from omni.routers import Router

router = Router()
router.register("inventory/locations", api.StockLocationViewSet, basename="stock-location")
router.register(
    "inventory/channel-locations", api.ChannelLocationViewSet, basename="channel-location"
)
router.register("inventory/stock", api.StockViewSet, basename="stock")
router.register("inventory/movements", api.MovementViewSet, basename="stock-movement")
router.register("inventory/reservations", api.ReservationViewSet, basename="reservation")
router.register("inventory/counts", api.StockCountViewSet, basename="stock-count")
router.register("inventory/transfers", api.TransferViewSet, basename="transfer")
router.register("inventory/low-stock", api.LowStockAlertViewSet, basename="low-stock-alert")

urlpatterns = [
    path("availability/", api.AvailabilityApi.as_view(), name="availability"),
    path("inventory/receipts/", api.ReceiptApi.as_view(), name="stock-receipts"),
    path("inventory/adjustments/", api.AdjustmentApi.as_view(), name="stock-adjustments"),
    path("inventory/write-offs/", api.WriteOffApi.as_view(), name="stock-write-offs"),
    *router.urls,
]
