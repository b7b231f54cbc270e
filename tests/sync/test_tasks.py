"""Celery tasks: thin, acks_late, and a redelivered task (same task id) applies nothing twice."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import MovementReason, StockMovement
from omni.sync import tasks
from omni.sync.models import SyncRun
from omni.sync.services import feeds
from omni.sync.services.schedules import DEFAULT_SCHEDULES, schedules_setup

pytestmark = pytest.mark.django_db


def test_every_sync_task_is_acknowledged_late():
    for task in (
        tasks.feed_pull_task,
        tasks.pull_all_task,
        tasks.inbound_event_process_task,
        tasks.outbound_send_task,
        tasks.outbound_dispatch_due_task,
        tasks.availability_push_due_task,
        tasks.availability_push_full_task,
        tasks.reconcile_task,
        tasks.order_status_push_sweep_task,
    ):
        assert task.acks_late is True, task.name


class WorkerKilled(BaseException):
    pass


def test_task_redelivered_after_a_crash_resumes_and_applies_nothing_twice(
    tmp_path, market, connector, warehouse, skus, monkeypatch, settings
):
    as_of = (timezone.now() - timedelta(minutes=5)).isoformat()
    path = tmp_path / "stock.csv"
    path.write_text(
        "sku,quantity,as_of\n" + "".join(f"{s},{n},{as_of}\n" for n, s in enumerate(skus, 1))
    )
    # One row per batch, on the per-row path (BATCH_SIZE) and on the set-based one alike.
    monkeypatch.setattr(feeds, "BATCH_SIZE", 1)
    settings.OMNI_SYNC_FEED_CHUNK_ROWS = 1
    real = feeds._process_batch
    seen = {"n": 0}

    def crash_on_third(**kwargs):
        seen["n"] += 1
        if seen["n"] == 3:
            raise WorkerKilled  # the worker dies mid-run; the broker keeps the message
        return real(**kwargs)

    monkeypatch.setattr(feeds, "_process_batch", crash_on_third)
    with pytest.raises(WorkerKilled):
        tasks.feed_pull_task.apply(args=[market.pk, ["stock"], str(path)], task_id="t-42")
    assert StockMovement.objects.count() == 2

    monkeypatch.setattr(feeds, "_process_batch", real)
    redelivered = tasks.feed_pull_task.apply(args=[market.pk, ["stock"], str(path)], task_id="t-42")

    run = SyncRun.objects.get(pk=redelivered.get())
    assert run.run_key == "pull:t-42"
    assert (run.status, run.rows_read, run.rows_applied) == ("succeeded", 3, 3)
    assert StockMovement.objects.filter(reason=MovementReason.COUNT_CORRECTION).count() == 3
    assert SyncRun.objects.count() == 1


def test_pull_all_queues_a_pull_per_channel_with_a_source(
    tmp_path, market, connector, warehouse, skus, make_channel
):
    path = tmp_path / "stock.csv"
    as_of = (timezone.now() - timedelta(minutes=5)).isoformat()
    path.write_text(f"sku,quantity,as_of\nA-1,2,{as_of}\n")
    connector.stock_source = str(path)
    connector.save(update_fields=["stock_source"])
    make_channel("no-connector")

    assert tasks.pull_all_task.apply(args=["stock"]).get() == [market.pk]
    assert SyncRun.objects.get().rows_applied == 1
    assert tasks.pull_all_task.apply(args=["orders"]).get() == []


def test_schedule_setup_is_idempotent_and_keeps_staff_edits():
    from django_celery_beat.models import PeriodicTask

    first = schedules_setup()
    PeriodicTask.objects.filter(name="sync: pull orders").update(enabled=False)
    second = schedules_setup()

    assert all(first.values()) and not any(second.values())
    assert PeriodicTask.objects.filter(name__startswith="sync:").count() == len(DEFAULT_SCHEDULES)
    assert PeriodicTask.objects.get(name="sync: pull orders").enabled is False
    orders = PeriodicTask.objects.get(name="sync: pull orders")
    assert (orders.task, orders.interval.every) == ("sync.pull_all", 60)
    nightly = PeriodicTask.objects.get(name="sync: full availability push (nightly)")
    assert (nightly.crontab.hour, nightly.crontab.minute) == ("2", "0")
