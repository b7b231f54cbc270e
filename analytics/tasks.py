"""Celery tasks of analytics: thin wrappers over the services, each idempotent.

The orders and customers apps must not import analytics: they announce committed changes
through their ports (`orders.changes`, `customers.profile_changes`), and the receivers
analytics subscribes in `AnalyticsConfig.ready()` (`analytics.ports`) queue the tasks below,
one per committed transaction (changed orders: one per process and second, with every id).
Should a notice be lost, `analytics.rollup_refresh_changed` runs every 5 minutes over orders
whose `updated_at` moved, and the nightly rebuild redoes everything.
"""

from datetime import date

from celery import shared_task


@shared_task(name="analytics.rollup_refresh_for_orders")
def rollup_refresh_for_orders_task(order_ids: list[int]) -> int:
    """Refresh facts, rollups and the customers' suggestions after these orders changed
    (placed, cancelled, fulfilled, collected, returned)."""
    from analytics.services import orders_changed_refresh

    keys = orders_changed_refresh(order_ids=order_ids)
    return len(keys.days)


@shared_task(name="analytics.customers_refresh")
def customers_refresh_task(customer_ids: list[int]) -> int:
    """Refresh the rollups and suggestions of profiles after a merge, unmerge or sweep."""
    from analytics.services import customers_changed_refresh

    keys = customers_changed_refresh(customer_ids=customer_ids)
    return len(keys.customer_ids)


@shared_task(name="analytics.rollup_refresh_changed")
def rollup_refresh_changed_task() -> int:
    """Every few minutes: refresh the rollups of orders changed since the last pass."""
    from analytics.services import rollup_refresh_changed

    return rollup_refresh_changed()


@shared_task(name="analytics.rollups_rebuild")
def rollups_rebuild_task() -> None:
    """The nightly full rebuild (same numbers as the incremental refreshes)."""
    from analytics.services import rollups_rebuild

    rollups_rebuild()


@shared_task(name="analytics.event_days_refresh")
def event_days_refresh_task(channel_id: int, days: list[str]) -> None:
    from analytics.services import event_days_rebuild

    event_days_rebuild(channel_id=channel_id, days=[date.fromisoformat(d) for d in days])


@shared_task(name="analytics.stock_snapshot")
def stock_snapshot_task() -> int:
    """End-of-day stock snapshot (stockout rate, turnover, days of cover)."""
    from analytics.services import stock_snapshot_take

    return stock_snapshot_take()


@shared_task(name="analytics.recommendations_rebuild")
def recommendations_rebuild_task() -> list[int]:
    """Nightly: every product's "bought together" list, then every customer's suggestions."""
    from analytics.recommendations import recommendations_rebuild

    return list(recommendations_rebuild())


@shared_task(name="analytics.forecasts_rebuild")
def forecasts_rebuild_task() -> int:
    """Nightly demand forecasts, then replenishment suggestions from them."""
    from analytics.forecast import forecasts_rebuild
    from analytics.replenishment import suggestions_rebuild

    count = forecasts_rebuild()
    suggestions_rebuild()
    return count
