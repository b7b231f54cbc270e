"""Analytics' side of the lower apps' ports: the suggestion provider the customer lookup reads,
and the receivers of the orders' and customers' change notices (registered in
`AnalyticsConfig.ready()`)."""

from django.urls import NoReverseMatch, reverse

from customers.suggestions import ProductSuggestion
from omni.after_commit import Coalesced


class CustomerSuggestions:
    """`customers.suggestions.SuggestionProvider` over the stored `CustomerSuggestion` rows."""

    def suggestions_for(self, *, customer_id: int, channel=None, limit: int = 10):
        from analytics.recommendations import customer_suggestion_rows

        rows = customer_suggestion_rows(customer_id=customer_id, channel=channel, limit=limit)
        return [
            ProductSuggestion(
                product_id=row.product_id,
                name=row.product.name,
                slug=row.product.slug,
                score=row.score,
                rank=rank,
                admin_url=_product_admin_url(row.product_id),
            )
            for rank, row in enumerate(rows, start=1)
        ]


def _product_admin_url(product_id: int) -> str:
    try:
        return reverse("admin:catalog_product_change", args=[product_id])
    except NoReverseMatch:
        return ""


def _enqueue(task, *args) -> None:
    """Queue `task`; without a broker (eager) run it here through `apply()`. Eager `.delay()`
    sets Celery's process-wide "joining would block" flag around the run and restores it
    after, so two threads committing at once (a threaded dev server, concurrent checkouts)
    can leave it set and break every later `result.get()` in the process."""
    if task.app.conf.task_always_eager:
        task.apply(args=args)
    else:
        task.delay(*args)


# With a broker, a process queues at most one refresh of changed orders per window (with every
# order reported in it): a Celery message per checkout cost the checkout more CPU than most of
# its SQL. The periodic `rollup_refresh_changed` catches up whatever a killed process held.
ORDER_NOTICE_WINDOW_SECONDS = 1.0


def _queue_order_refresh(order_ids: list[int]) -> None:
    from analytics.tasks import rollup_refresh_for_orders_task

    rollup_refresh_for_orders_task.delay(order_ids)


_order_refreshes = Coalesced(
    _queue_order_refresh, window=ORDER_NOTICE_WINDOW_SECONDS, name="analytics.orders_changed"
)


def orders_changed(order_ids: list[int]) -> None:
    """Receiver of `orders.changes`: an incremental refresh of the orders each committed
    transaction changed; without a broker (eager) at once, with one coalesced per window."""
    from analytics.tasks import rollup_refresh_for_orders_task

    if rollup_refresh_for_orders_task.app.conf.task_always_eager:
        _enqueue(rollup_refresh_for_orders_task, order_ids)
    else:
        _order_refreshes.add(order_ids)


def profiles_changed(customer_ids: list[int]) -> None:
    """Receiver of `customers.profile_changes`: merges move orders between profiles."""
    from analytics.tasks import customers_refresh_task

    _enqueue(customers_refresh_task, customer_ids)
