"""Available-to-sell pushes: changes coalesced per (channel, SKU) within a window, and the
nightly full push of every listed SKU."""

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.availability import availability_provider
from catalog.models import Listing, Variant
from omni.models import Channel
from omni.sync.connectors import connector_for
from omni.sync.models import (
    AvailabilityPending,
    AvailabilityPushed,
    ConnectorSettings,
    Direction,
    PushKind,
)
from omni.sync.services.outbox import message_enqueue
from omni.sync.services.runs import BatchOutcome, run_finish, run_record_batch, run_start

ITEMS_PER_MESSAGE = 500


def pushing_settings(*, kind: str, channel_ids=None) -> dict[int, ConnectorSettings]:
    """Active connector settings that push `kind`, by channel id."""
    found = {}
    queryset = ConnectorSettings.objects.filter(active=True, channel__active=True)
    if channel_ids is not None:
        queryset = queryset.filter(channel_id__in=channel_ids)
    for settings in queryset.select_related("channel"):
        if kind in settings.push_kinds and kind in connector_for(settings).pushes:
            found[settings.channel_id] = settings
    return found


def _kick_due(countdown: float) -> None:
    from omni.sync.tasks import availability_push_due_task

    availability_push_due_task.apply_async(countdown=countdown)


def availability_changes_record(
    *, latest: Mapping[tuple[int, int], int], now: datetime | None = None
) -> int:
    """Note the latest available-to-sell of changed (variant_id, channel_id) pairs for the
    channels that want availability pushes. The first change of a pair sets when it is due
    (now + the channel's coalescing window); later changes in the window only replace the
    value, so however many changes arrive, one push with the latest value goes out.

    Runs in the caller's transaction (inventory's outbox drain), so a drained change is
    either recorded here or still pending there. Two queries whatever the number of pairs."""
    now = now or timezone.now()
    wanted = pushing_settings(
        kind=PushKind.AVAILABILITY, channel_ids={channel_id for _, channel_id in latest}
    )
    rows = [
        AvailabilityPending(
            channel_id=channel_id,
            variant_id=variant_id,
            available=max(0, available),
            due_at=now + timedelta(seconds=wanted[channel_id].coalesce_seconds),
        )
        for (variant_id, channel_id), available in sorted(latest.items())
        if channel_id in wanted
    ]
    if not rows:
        return 0
    AvailabilityPending.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["channel", "variant"],
        update_fields=["available"],
    )
    window = min(s.coalesce_seconds for s in wanted.values())
    transaction.on_commit(lambda: _kick_due(window))
    return len(rows)


def availability_listener(latest: Mapping[tuple[int, int], int]) -> None:
    """Inventory's availability event listener (registered in SyncConfig.ready)."""
    availability_changes_record(latest=latest)


def _enqueue_items(
    *, channel: Channel, settings: ConnectorSettings, items: list[dict], key: str | None, now
) -> int:
    sent = 0
    for start in range(0, len(items), ITEMS_PER_MESSAGE):
        chunk = items[start : start + ITEMS_PER_MESSAGE]
        message = message_enqueue(
            channel=channel,
            kind=PushKind.AVAILABILITY,
            payload={"as_of": now.isoformat(), "items": chunk},
            dedup_key=f"{key}:{start}" if key else None,
            settings=settings,
        )
        sent += message is not None
    return sent


def _remember_pushed(*, channel_id: int, values: dict[int, int], now: datetime) -> None:
    AvailabilityPushed.objects.bulk_create(
        [
            AvailabilityPushed(channel_id=channel_id, variant_id=v, available=a, pushed_at=now)
            for v, a in sorted(values.items())
        ],
        update_conflicts=True,
        unique_fields=["channel", "variant"],
        update_fields=["available", "pushed_at"],
    )


@transaction.atomic(durable=True)
def availability_push_due(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Turn the pending changes whose window has closed into one push per channel (items
    of SKU and latest value; a value equal to the last one pushed is skipped). The pending
    rows are claimed with SKIP LOCKED and deleted in the same transaction as the messages are
    queued, so a redelivered task or a parallel worker pushes nothing twice. Returns the
    number of messages queued."""
    now = now or timezone.now()
    due = list(
        AvailabilityPending.objects.filter(due_at__lte=now)
        .order_by("pk")
        .select_for_update(skip_locked=True)[:limit]
    )
    if not due:
        return 0
    settings = pushing_settings(kind=PushKind.AVAILABILITY, channel_ids={p.channel_id for p in due})
    skus = dict(Variant.objects.filter(pk__in={p.variant_id for p in due}).values_list("pk", "sku"))
    pushed = {
        (row.channel_id, row.variant_id): row.available
        for row in AvailabilityPushed.objects.filter(
            channel_id__in={p.channel_id for p in due}, variant_id__in={p.variant_id for p in due}
        )
    }
    by_channel: dict[int, dict[int, int]] = defaultdict(dict)
    for pending in due:
        if pending.channel_id not in settings:
            continue
        if pushed.get((pending.channel_id, pending.variant_id)) == pending.available:
            continue
        by_channel[pending.channel_id][pending.variant_id] = pending.available
    AvailabilityPending.objects.filter(pk__in=[p.pk for p in due]).delete()
    messages = 0
    for channel_id, values in by_channel.items():
        config = settings[channel_id]
        items = [{"sku": skus[v], "available": a} for v, a in sorted(values.items())]
        messages += _enqueue_items(
            channel=config.channel, settings=config, items=items, key=None, now=now
        )
        _remember_pushed(channel_id=channel_id, values=values, now=now)
    return messages


def availability_push_full(
    *, channel: Channel, run_key: str | None = None, now: datetime | None = None
):
    """Push available-to-sell of every SKU listed (published) in `channel`, in chunks. The
    messages carry a dedup key derived from the run, so a redelivered task queues nothing
    twice. Recorded as a push run."""
    now = now or timezone.now()
    settings = pushing_settings(kind=PushKind.AVAILABILITY, channel_ids=[channel.pk]).get(
        channel.pk
    )
    run, resumed = run_start(
        channel=channel, kind="availability", direction=Direction.PUSH, run_key=run_key
    )
    if resumed and run.finished_at is not None:
        return run
    if settings is None:
        return run_finish(run=run, error="The channel's connector does not push availability.")
    listed = (
        Listing.objects.filter(channel=channel, published=True)
        .order_by("variant_id")
        .values_list("variant_id", "variant__sku")
    )
    provider = availability_provider()
    chunk: list[tuple[int, str]] = []

    def flush(index: int) -> None:
        values = provider.available_to_sell(channel=channel, variant_ids=[v for v, _ in chunk])
        current = {v: max(0, values.get(v, 0)) for v, _ in chunk}
        with transaction.atomic():
            _enqueue_items(
                channel=channel,
                settings=settings,
                items=[{"sku": sku, "available": current[v]} for v, sku in chunk],
                key=f"full:{run.pk}:{index}",
                now=now,
            )
            _remember_pushed(channel_id=channel.pk, values=current, now=now)
            run_record_batch(
                run=run,
                outcome=BatchOutcome(read=len(chunk), applied=len(chunk)),
                last_line=index + len(chunk),
            )

    index = 0
    for variant_id, sku in listed.iterator(chunk_size=ITEMS_PER_MESSAGE):
        chunk.append((variant_id, sku))
        if len(chunk) == ITEMS_PER_MESSAGE:
            if index >= run.lines_done:
                flush(index)
            index += len(chunk)
            chunk = []
    if chunk and index >= run.lines_done:
        flush(index)
    return run_finish(run=run)
