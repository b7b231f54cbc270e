"""Celery tasks of customers: nightly points expiry, tiers and RFM segments."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from customers.models import MergeRecord
from customers.services import (
    customer_merge_sweep,
    loyalty_expire,
    segments_recompute,
    tiers_refresh,
)


@shared_task(name="customers.loyalty_expire")
def loyalty_expire_task() -> int:
    """Expire points past their date; safe to run again (expires nothing twice)."""
    return loyalty_expire()


@shared_task(name="customers.segments_recompute")
def customer_segments_task() -> dict:
    """Sweep late rows of the week's merges, then re-derive every customer's tier (spend leaves
    the rolling window) and RFM segment."""
    since = timezone.now() - timedelta(days=7)
    for record in MergeRecord.objects.filter(merged_at__gte=since, undone_at__isnull=True):
        customer_merge_sweep(record=record)
    changed = tiers_refresh()
    sizes = segments_recompute()
    return {"tiers_changed": changed, "segments": sizes}


@shared_task(name="customers.merge_sweep")
def customer_merge_sweep_task(record_id: int) -> int:
    """Move rows that reached a merged profile after its merge; nothing once undone."""
    record = MergeRecord.objects.filter(pk=record_id).first()
    return customer_merge_sweep(record=record) if record else 0
