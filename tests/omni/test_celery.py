"""Celery: eager without a broker, and a real round trip through Redis to a worker in CI."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.result import allow_join_result

from omni.tasks import ping_task

ROOT = Path(__file__).resolve().parents[2]


def test_acks_late_and_redelivery_on_worker_loss_are_configured():
    from omni.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_only_tasks_whose_value_is_awaited_keep_their_result():
    """Publishing a task that keeps its result subscribes the publisher to the result
    channel; order placement and stock changes publish fire-and-forget tasks only."""
    from omni.celery import app

    app.loader.import_default_modules()
    keeping = sorted(
        name
        for name, task in app.tasks.items()
        if not name.startswith("celery.") and not task.ignore_result
    )
    assert keeping == ["omni.ping", "sync.feed_pull"]
    assert app.tasks["inventory.availability_outbox_drain"].ignore_result is True


def test_task_runs_eagerly_without_broker(settings):
    from omni.celery import app

    if settings.CELERY_BROKER_URL:
        pytest.skip("a broker is configured: tasks are not eager here")
    assert app.conf.task_always_eager is True
    assert ping_task.delay("x").get(timeout=1) == "pong:x"


@pytest.mark.broker
def test_round_trip_through_redis_to_a_real_worker():
    # A queue of its own: nothing else queued on the shared broker can delay this task.
    queue = f"roundtrip-{os.getpid()}"
    command = [
        *(sys.executable, "-m", "celery", "-A", "omni", "worker", "--pool=solo"),
        *("--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        *(f"--hostname={queue}@%h", "--queues", queue),
    ]
    worker = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        result = ping_task.apply_async(args=["round-trip"], queue=queue)
        # Eager tasks run from other tests' threads can leave Celery's global "inside a task"
        # flag set (its save/restore races); this test is not inside a task.
        with allow_join_result():
            assert result.get(timeout=90) == "pong:round-trip"
    finally:
        worker.terminate()
        worker.wait(timeout=30)
