"""Inventory Celery tasks: thin wrappers over services."""

from celery import shared_task


@shared_task(name="inventory.availability_outbox_drain")
def availability_outbox_drain_task() -> int:
    from inventory.services.outbox import availability_outbox_drain

    return availability_outbox_drain()


@shared_task(name="inventory.cart_holds_expire")
def cart_holds_expire_task() -> int:
    from inventory.services.reservations import cart_holds_expire

    return cart_holds_expire()


@shared_task(name="inventory.low_stock_scan")
def low_stock_scan_task() -> dict:
    from inventory.services.low_stock import low_stock_scan

    return low_stock_scan()
