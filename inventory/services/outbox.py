"""Outbox of available-to-sell changes: written with each change, drained after commit."""

from collections import defaultdict

from django.db import connection, transaction
from django.utils import timezone

from inventory.models import (
    AvailabilityChange,
    ChannelLocation,
    Stock,
    StockLocation,
)
from inventory.selectors import apply_channel_rule
from omni.models import Channel


def _kick_outbox_drain() -> None:
    from inventory.tasks import availability_outbox_drain_task

    availability_outbox_drain_task.delay()


def _schedule_drain() -> None:
    # One kick per outermost transaction is enough: the task drains everything pending.
    pending = getattr(connection, "run_on_commit", [])
    if any(entry[1] is _kick_outbox_drain for entry in pending):
        return
    transaction.on_commit(_kick_outbox_drain)


def record_availability_changes(deltas: dict[tuple[int, int], int]) -> int:
    """Write one outbox row per (variant, channel) whose available-to-sell changed.

    `deltas` maps (variant_id, location_id) to the change of `available` already applied in
    this transaction. Every active channel selling from a touched active location is examined;
    its before/after available-to-sell is computed from the stock as it is now, less the deltas.
    Two queries (one read, one insert) whatever the number of rows; returns rows written."""
    deltas = {key: d for key, d in deltas.items() if d}
    if not deltas:
        return 0
    variant_ids = sorted({v for v, _ in deltas})
    location_ids = sorted({loc for _, loc in deltas})
    cl = ChannelLocation._meta.db_table
    sql = f"""
        SELECT cl.channel_id, c.safety_stock, c.availability_cap, c.availability_share,
               s.variant_id, s.location_id, s.on_hand - s.reserved
        FROM {cl} cl
        JOIN {StockLocation._meta.db_table} l ON l.id = cl.location_id
        JOIN {Channel._meta.db_table} c ON c.id = cl.channel_id
        JOIN {Stock._meta.db_table} s ON s.location_id = cl.location_id
        WHERE l.active = %s AND c.active = %s
          AND s.variant_id IN ({", ".join(["%s"] * len(variant_ids))})
          AND cl.channel_id IN (
              SELECT cl2.channel_id FROM {cl} cl2
              WHERE cl2.location_id IN ({", ".join(["%s"] * len(location_ids))}))
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [True, True, *variant_ids, *location_ids])
        rows = cursor.fetchall()
    rules: dict[int, tuple[int, int | None, int]] = {}
    after: dict[tuple[int, int], int] = defaultdict(int)
    before: dict[tuple[int, int], int] = defaultdict(int)
    for channel_id, safety, cap, share, variant_id, location_id, available in rows:
        rules[channel_id] = (safety, cap, share)
        after[(channel_id, variant_id)] += available
        before[(channel_id, variant_id)] += available - deltas.get((variant_id, location_id), 0)
    changes = []
    for (channel_id, variant_id), pool in sorted(after.items()):
        safety, cap, share = rules[channel_id]
        new = apply_channel_rule(
            pool=pool, safety_stock=safety, availability_cap=cap, availability_share=share
        )
        old = apply_channel_rule(
            pool=before[(channel_id, variant_id)],
            safety_stock=safety,
            availability_cap=cap,
            availability_share=share,
        )
        if new != old:
            changes.append(
                AvailabilityChange(variant_id=variant_id, channel_id=channel_id, available=new)
            )
    if changes:
        AvailabilityChange.objects.bulk_create(changes)
        _schedule_drain()
    return len(changes)


def availability_outbox_drain(*, batch_size: int = 500) -> int:
    """Publish pending available-to-sell changes to the registered listeners (latest value per
    (variant, channel)) and mark them published. Rows are claimed with SKIP LOCKED so parallel
    drains never publish the same row twice. Returns the number of rows drained."""
    from inventory.events import publish

    drained = 0
    while True:
        with transaction.atomic(durable=True):
            batch = list(
                AvailabilityChange.objects.filter(published_at__isnull=True)
                .order_by("pk")
                .select_for_update(skip_locked=True)[:batch_size]
            )
            if not batch:
                return drained
            latest = {}
            for change in batch:
                latest[(change.variant_id, change.channel_id)] = change.available
            publish(latest)
            AvailabilityChange.objects.filter(pk__in=[c.pk for c in batch]).update(
                published_at=timezone.now()
            )
        drained += len(batch)
        if len(batch) < batch_size:
            return drained
