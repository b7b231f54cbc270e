"""The orders app: registers its adapter for the customers order-history port and its
nightly schedule."""

from celery.schedules import crontab
from django.apps import AppConfig

# django-celery-beat's DatabaseScheduler copies this into its table at start, where staff can
# change the time in the admin.
BEAT_SCHEDULE = {
    "orders-complete-due": {
        "task": "orders.complete_due",
        "schedule": crontab(hour=4, minute=0),
    },
}


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # customers shows a profile's orders through its port; orders provides them.
        from customers.order_history import register_order_history_provider
        from omni.celery import app
        from orders.history import OrderHistory

        register_order_history_provider(OrderHistory())
        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
