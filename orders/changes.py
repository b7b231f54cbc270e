"""The port through which orders tells the apps above it which orders changed, without
importing them.

Every committed transaction that placed, paid, cancelled, fulfilled, collected, returned,
re-allocated or completed orders (a POS sale replayed too) is announced once, after its commit,
with the ids of every order it touched: `state.record()` (the timeline event every change
writes) and the placement report here. Analytics subscribes in its `AppConfig.ready()` and
queues the incremental rollup refresh for those orders; nothing is announced for a rollback.
"""

from collections.abc import Callable, Iterable

from omni.after_commit import Topic

_topic = Topic("orders.changed")


def order_change_subscribe(receiver: Callable[[list[int]], None]) -> None:
    """`receiver(order_ids)` runs after each commit that changed orders (ids sorted, each
    once). It must be quick (queue a task) and must not raise for ids that no longer exist."""
    _topic.subscribe(receiver)


def order_change_unsubscribe(receiver: Callable[[list[int]], None]) -> None:
    _topic.unsubscribe(receiver)


def orders_changed(order_ids: Iterable[int | None]) -> None:
    """Report orders changed by the current transaction (coalesced per transaction)."""
    _topic.report(order_ids)
