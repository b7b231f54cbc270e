"""Coalesced after-commit notices: however many times a transaction reports ids, each topic's
receivers hear once, after the commit, with every id it reported; a rollback reports nothing.

The ports through which a lower app tells the apps above it that something changed (orders ->
analytics, customers -> analytics) are built on this, so the lower app never imports them.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
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


class Coalesced:
    """Delivers ids to `send` at most once per `window` seconds in this process, each id of
    the window in the one call: a receiver that publishes a task per committed transaction
    (two checkouts, two Celery messages) publishes once per window instead, with every id.

    The first ids after a quiet window go at once; later ones wait for a timer (a daemon
    thread) that sends whatever gathered when the window ends. Ids still waiting when the
    process exits are sent by an exit hook; a process killed outright loses them, so receivers
    must have a catch-up (a periodic pass) as they must for a broker that is down. `send`
    failures are logged and the ids dropped, as `Topic` does for its receivers."""

    def __init__(self, send: Receiver, *, window: float, name: str = "") -> None:
        self.send = send
        self.window = window
        self.name = name or getattr(send, "__name__", "coalesced")
        self._reset()
        _instances.add(self)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[int] = set()
        self._timer: threading.Timer | None = None
        self._last_sent = float("-inf")

    def add(self, ids: Iterable[int]) -> None:
        with self._lock:
            self._ids.update(ids)
            if self._timer is not None or not self._ids:
                return  # the pending timer sends these too
            wait = self._last_sent + self.window - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self.flush)
                self._timer.daemon = True
                self._timer.start()
                return
            batch = self._take()
        self._send(batch)

    def flush(self) -> None:
        """Send every waiting id now (the timer and the exit hook call this)."""
        with self._lock:
            if self._timer is not None and self._timer is not threading.current_thread():
                self._timer.cancel()
            batch = self._take()
        if batch:
            self._send(batch)

    def _take(self) -> list[int]:
        batch = sorted(self._ids)
        self._ids = set()
        self._timer = None
        self._last_sent = time.monotonic()
        return batch

    def _send(self, ids: list[int]) -> None:
        try:
            self.send(ids)
        except Exception:
            logger.exception("%s: sending %d ids failed", self.name, len(ids))


_instances: weakref.WeakSet[Coalesced] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked child has no timer thread: what the parent had waiting is the parent's to send.
    for coalesced in list(_instances):
        coalesced._reset()


def _flush_all() -> None:
    for coalesced in list(_instances):
        coalesced.flush()


os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_flush_all)
