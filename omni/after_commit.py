"""Coalesced after-commit notices: however many times a transaction reports ids, each topic's
receivers hear once, after the commit, with every id it reported; a rollback reports nothing.

The ports through which a lower app tells the apps above it that something changed (orders ->
analytics, customers -> analytics) are built on this, so the lower app never imports them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction

logger = logging.getLogger(__name__)

Receiver = Callable[[list[int]], None]


class Topic:
    """Receivers subscribe (usually in their `AppConfig.ready()`); the owning app calls
    `report(ids)` inside its transactions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._receivers: list[Receiver] = []

    def subscribe(self, receiver: Receiver) -> None:
        if receiver not in self._receivers:
            self._receivers.append(receiver)

    def unsubscribe(self, receiver: Receiver) -> None:
        if receiver in self._receivers:
            self._receivers.remove(receiver)

    @property
    def receivers(self) -> list[Receiver]:
        return list(self._receivers)

    def report(self, ids: Iterable[int | None], *, using: str | None = None) -> None:
        """Note `ids` as changed by the current transaction (delivered at once outside one).

        One pending batch per topic and transaction: the first report registers its
        `on_commit` hook, later ones add to it. The batch is found among the connection's
        pending hooks, so a savepoint rollback that drops the hook drops the batch with it;
        ids reported inside a rolled-back savepoint of a batch registered before it are still
        delivered, which receivers must tolerate (refreshing an unchanged row is harmless).
        """
        wanted = {int(i) for i in ids if i is not None}
        if not wanted or not self._receivers:
            return
        connection = transaction.get_connection(using)
        if not connection.in_atomic_block:
            self._deliver(sorted(wanted))
            return
        for _savepoints, hook, _robust in connection.run_on_commit:
            batch = getattr(hook, "__self__", None)
            if isinstance(batch, _Batch) and batch.topic is self:
                batch.ids |= wanted
                return
        batch = _Batch(self, wanted)
        transaction.on_commit(batch.flush, using=using, robust=True)

    def _deliver(self, ids: list[int]) -> None:
        # A receiver's failure (a broker that is down) must neither undo nor fail the
        # committed change, nor keep the other receivers from hearing of it.
        for receiver in self.receivers:
            try:
                receiver(ids)
            except Exception:
                logger.exception("%s: receiver %r failed for %d ids", self.name, receiver, len(ids))


class _Batch:
    def __init__(self, topic: Topic, ids: set[int]) -> None:
        self.topic = topic
        self.ids = set(ids)

    def flush(self) -> None:
        self.topic._deliver(sorted(self.ids))
