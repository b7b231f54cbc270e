"""The port through which customers tells the apps above it whose profiles were merged or
unmerged, without importing them.

A merge moves orders from one profile to another with a bulk UPDATE, so the orders' own change
notices do not fire; analytics (per-customer rollups, new-vs-returning counts, suggestions)
subscribes here in its `AppConfig.ready()`. Announced once per committed transaction, after the
commit, with both profiles' ids; nothing for a rollback.
"""

from collections.abc import Callable, Iterable

from omni.after_commit import Topic

_topic = Topic("customers.profiles_changed")


def profile_change_subscribe(receiver: Callable[[list[int]], None]) -> None:
    """`receiver(customer_ids)` runs after each commit that merged, unmerged or swept profiles.
    It must be quick (queue a task)."""
    _topic.subscribe(receiver)


def profile_change_unsubscribe(receiver: Callable[[list[int]], None]) -> None:
    _topic.unsubscribe(receiver)


def profiles_changed(customer_ids: Iterable[int | None]) -> None:
    """Report profiles whose owned rows moved in the current transaction."""
    _topic.report(customer_ids)
