"""omni.after_commit.Coalesced: one send per window per process, with every id of the window,
and the change notices of orders going through it when a broker is configured."""

import threading
import time

import pytest

from omni.after_commit import Coalesced


class Sent:
    def __init__(self):
        self.calls: list[list[int]] = []
        self.event = threading.Event()

    def __call__(self, ids):
        self.calls.append(list(ids))
        self.event.set()


def test_first_ids_go_at_once_and_the_rest_of_the_window_in_one_later_send():
    sent = Sent()
    coalesced = Coalesced(sent, window=0.3)
    coalesced.add([3])
    assert sent.calls == [[3]]
    sent.event.clear()
    coalesced.add([5, 4])
    coalesced.add([4, 6])
    assert sent.calls == [[3]]  # held for the end of the window
    assert sent.event.wait(2)
    assert sent.calls == [[3], [4, 5, 6]]
    time.sleep(0.35)
    coalesced.add([7])  # a quiet window passed: at once again
    assert sent.calls == [[3], [4, 5, 6], [7]]


def test_flush_sends_what_waits_and_a_failing_send_loses_nothing_else():
    calls = []

    def send(ids):
        calls.append(ids)
        if ids == [1]:
            raise RuntimeError("broker down")

    coalesced = Coalesced(send, window=60)
    coalesced.add([1])  # sent (and failed): logged, not raised
    coalesced.add([2])
    coalesced.add([])
    coalesced.flush()
    coalesced.flush()
    assert calls == [[1], [2]]


def test_a_forked_child_starts_empty(monkeypatch):
    from omni import after_commit

    sent = Sent()
    coalesced = Coalesced(sent, window=60)
    coalesced.add([1])
    coalesced.add([2])  # waits on a timer thread the child will not have
    after_commit._after_fork_in_child()
    coalesced.add([9])
    assert sent.calls == [[1], [9]]
    coalesced.flush()
    assert sent.calls == [[1], [9]]


@pytest.mark.django_db
def test_with_a_broker_placements_queue_one_refresh_per_window(monkeypatch):
    """Analytics' receiver of order changes: with a broker (not eager) it coalesces."""
    from analytics import ports
    from analytics.tasks import rollup_refresh_for_orders_task

    queued = Sent()
    # The suite's autouse fixture restores the eager flag after the test.
    rollup_refresh_for_orders_task.app.conf.task_always_eager = False
    monkeypatch.setattr(rollup_refresh_for_orders_task, "delay", queued)
    coalesced = Coalesced(ports._queue_order_refresh, window=0.3)
    monkeypatch.setattr(ports, "_order_refreshes", coalesced)
    ports.orders_changed([10])
    ports.orders_changed([11])
    ports.orders_changed([12])
    assert queued.calls == [[10]]
    queued.event.clear()
    assert queued.event.wait(2)
    assert queued.calls == [[10], [11, 12]]
