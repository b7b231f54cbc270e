from datetime import timedelta

from django.apps import AppConfig

# Beat schedule of the inventory app (django-celery-beat installs it from the app config).
BEAT_SCHEDULE = {
    "inventory-cart-holds-expire": {
        "task": "inventory.cart_holds_expire",
        "schedule": timedelta(minutes=1),
    },
    "inventory-low-stock-scan": {
        "task": "inventory.low_stock_scan",
        "schedule": timedelta(minutes=30),
    },
    "inventory-availability-outbox-drain": {
        # A safety net: each change kicks a drain after commit; this catches lost kicks.
        "task": "inventory.availability_outbox_drain",
        "schedule": timedelta(minutes=5),
    },
}


class InventoryConfig(AppConfig):
    name = "inventory"

    def ready(self) -> None:
        from catalog.availability import register_availability_provider
        from inventory.providers import StockAvailabilityProvider
        from omni.celery import app

        register_availability_provider(StockAvailabilityProvider())
        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
