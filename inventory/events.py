"""The port through which available-to-sell changes leave inventory.

Channel sync (a later app) registers a listener from its `AppConfig.ready()`; the outbox drain
task calls every listener with the latest value per (variant_id, channel_id) after the change
committed. Listeners run inside the drain's short transaction: they must only record or enqueue
work (e.g. with `transaction.on_commit`), never call the network.
"""

from collections.abc import Callable, Mapping

AvailabilityListener = Callable[[Mapping[tuple[int, int], int]], None]

_listeners: list[AvailabilityListener] = []


def register_availability_listener(listener: AvailabilityListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def unregister_availability_listener(listener: AvailabilityListener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(changes: Mapping[tuple[int, int], int]) -> None:
    for listener in list(_listeners):
        listener(changes)
