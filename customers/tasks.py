"""Celery tasks of customers: nightly points expiry, tiers and RFM segments."""

from celery import shared_task

from customers.services import loyalty_expire, segments_recompute, tiers_refresh


@shared_task(name="customers.loyalty_expire")
def loyalty_expire_task() -> int:
    """Expire points past their date; safe to run again (expires nothing twice)."""
    return loyalty_expire()


@shared_task(name="customers.segments_recompute")
def customer_segments_task() -> dict:
    """Re-derive every customer's tier (spend leaves the rolling window) and RFM segment."""
    changed = tiers_refresh()
    sizes = segments_recompute()
    return {"tiers_changed": changed, "segments": sizes}
