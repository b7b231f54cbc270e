"""Celery: eager without a broker, and a real round trip through Redis to a worker in CI."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from omni.tasks import ping_task

ROOT = Path(__file__).resolve().parents[2]


def test_acks_late_and_redelivery_on_worker_loss_are_configured():
    from omni.celery import app

    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


def test_task_runs_eagerly_without_broker(settings):
    from omni.celery import app

    if settings.CELERY_BROKER_URL:
        pytest.skip("a broker is configured: tasks are not eager here")
    assert app.conf.task_always_eager is True
    assert ping_task.delay("x").get(timeout=1) == "pong:x"


@pytest.mark.broker
def test_round_trip_through_redis_to_a_real_worker(tmp_path):
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "omni",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=roundtrip-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        started = time.monotonic()
        result = ping_task.delay("round-trip")
        assert result.get(timeout=60) == "pong:round-trip"
        assert time.monotonic() - started < 60
    finally:
        worker.terminate()
        worker.wait(timeout=30)
