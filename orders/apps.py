"""The orders app: registers its adapter for the customers order-history port."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # customers shows a profile's orders through its port; orders provides them.
        from customers.order_history import register_order_history_provider
        from orders.history import OrderHistory

        register_order_history_provider(OrderHistory())
