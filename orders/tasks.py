"""Celery tasks of the orders app: thin wrappers over services."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from omni.errors import DomainError
from orders.models import Order, OrderStatus
from orders.services import order_complete


@shared_task
def orders_complete_due_task(batch_size: int = 200) -> int:
    """Complete fulfilled orders whose return window has passed (earning loyalty points).
    Each order is its own transaction; an order that changed meanwhile is skipped."""
    days = getattr(settings, "OMNI_ORDER_RETURN_WINDOW_DAYS", 30)
    due = timezone.now() - timedelta(days=days)
    ids = list(
        Order.objects.filter(
            status__in=[OrderStatus.FULFILLED, OrderStatus.PARTIALLY_RETURNED],
            updated_at__lt=due,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:batch_size]
    )
    done = 0
    for order in Order.objects.filter(pk__in=ids).order_by("pk"):
        try:
            order_complete(order=order, actor="system:return-window")
        except DomainError:
            continue
        done += 1
    return done
