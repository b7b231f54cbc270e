"""Celery tasks of the orders app: thin wrappers over services."""

from celery import shared_task

from orders.services import orders_complete_due


@shared_task(name="orders.complete_due")
def orders_complete_due_task(batch_size: int = 200) -> int:
    """Complete fulfilled orders whose return window has passed."""
    return orders_complete_due(batch_size=batch_size)
