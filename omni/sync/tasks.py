"""Celery tasks of channel sync: thin, acknowledged late, keyed by their task id so a
redelivered task resumes its run instead of applying it twice."""

from celery import shared_task

from omni.models import Channel


def _run_key(task, prefix: str) -> str | None:
    task_id = getattr(task.request, "id", None)
    return f"{prefix}:{task_id}" if task_id else None


@shared_task(bind=True, acks_late=True, ignore_result=False, name="sync.feed_pull")
def feed_pull_task(self, channel_id: int, kinds: list[str], source: str | None = None) -> int:
    from omni.sync.services.feeds import feed_pull

    channel = Channel.objects.get(pk=channel_id)
    run = feed_pull(channel=channel, kinds=kinds, source=source, run_key=_run_key(self, "pull"))
    return run.pk


@shared_task(bind=True, acks_late=True, name="sync.pull_all")
def pull_all_task(self, kind: str) -> list[int]:
    """Beat entry point: queue a pull of `kind` for every active channel that pulls it."""
    from omni.sync.selectors import channels_pulling

    ids = channels_pulling(kind=kind)
    for channel_id in ids:
        feed_pull_task.delay(channel_id, [kind])
    return ids


@shared_task(bind=True, acks_late=True, name="sync.inbound_event_process")
def inbound_event_process_task(self, event_pk: int) -> str:
    from omni.sync.services.webhooks import inbound_event_process

    return inbound_event_process(event_pk=event_pk).status


@shared_task(acks_late=True, name="sync.outbound_send")
def outbound_send_task(message_id: int) -> str:
    from omni.sync.services.outbox import message_send

    return message_send(message_id=message_id).status


@shared_task(acks_late=True, name="sync.outbound_dispatch_due")
def outbound_dispatch_due_task() -> int:
    """Sweeper: re-kick messages whose retry time has come or whose sender died."""
    from omni.sync.services.outbox import messages_due

    ids = messages_due()
    for message_id in ids:
        outbound_send_task.delay(message_id)
    return len(ids)


@shared_task(acks_late=True, name="sync.availability_push_due")
def availability_push_due_task() -> int:
    from omni.sync.services.availability import availability_push_due

    return availability_push_due()


@shared_task(bind=True, acks_late=True, name="sync.availability_push_full")
def availability_push_full_task(self, channel_id: int | None = None) -> list[int]:
    """Nightly: full availability push of one channel, or of every channel that pushes it."""
    from omni.sync.services.availability import availability_push_full, pushing_settings

    ids = [channel_id] if channel_id else sorted(pushing_settings(kind="availability"))
    runs = []
    for pk in ids:
        channel = Channel.objects.get(pk=pk)
        runs.append(
            availability_push_full(channel=channel, run_key=_run_key(self, f"full:{pk}")).pk
        )
    return runs


@shared_task(bind=True, acks_late=True, name="sync.reconcile")
def reconcile_task(self, channel_id: int | None = None) -> list[int]:
    """Nightly: compare each channel's stock view with Omni's (channels with a view source)."""
    from omni.sync.selectors import channels_with_view
    from omni.sync.services.reconcile import channel_reconcile

    ids = [channel_id] if channel_id else channels_with_view()
    runs = []
    for pk in ids:
        channel = Channel.objects.get(pk=pk)
        runs.append(channel_reconcile(channel=channel, run_key=_run_key(self, f"rec:{pk}")).pk)
    return runs


@shared_task(acks_late=True, name="sync.order_status_push_sweep")
def order_status_push_sweep_task() -> int:
    from omni.sync.services.order_status import order_status_push_sweep

    return order_status_push_sweep()
