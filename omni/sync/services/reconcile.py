"""Nightly reconciliation: compare a channel's own view of available-to-sell with Omni's."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from catalog.availability import availability_provider
from catalog.models import Listing, Variant
from omni.models import Channel
from omni.sync.connectors import connector_for
from omni.sync.connectors.base import FeedRow
from omni.sync.errors import FeedUnavailable, RowRejected
from omni.sync.models import Direction, PushKind, SyncMismatch
from omni.sync.services.availability import _enqueue_items, _remember_pushed, pushing_settings
from omni.sync.services.feeds import BATCH_SIZE, _batches, _count, connector_settings_for
from omni.sync.services.runs import (
    BatchOutcome,
    Rejection,
    run_finish,
    run_record_batch,
    run_start,
)


def channel_reconcile(
    *,
    channel: Channel,
    repair: bool = True,
    run_key: str | None = None,
    now: datetime | None = None,
):
    """List every SKU whose available-to-sell in the channel's view differs from Omni's, SKUs
    the channel shows that Omni does not know, and published SKUs missing from the channel's
    view. With `repair` (and a connector that pushes availability) Omni's value is pushed for
    each mismatch, so late or lost webhooks heal overnight. Recorded as a reconcile run."""
    now = now or timezone.now()
    settings = connector_settings_for(channel)
    connector = connector_for(settings)
    run, resumed = run_start(
        channel=channel,
        kind="availability",
        direction=Direction.RECONCILE,
        source=settings.view_source,
        run_key=run_key,
    )
    if resumed and run.finished_at is not None:
        return run
    # A resumed run starts over: mismatches are a report, rebuilt whole.
    SyncMismatch.objects.filter(run=run).delete()
    pusher = pushing_settings(kind=PushKind.AVAILABILITY, channel_ids=[channel.pk]).get(channel.pk)
    provider = availability_provider()
    seen: set[int] = set()
    try:
        for batch in _batches(iter(connector.channel_view()), BATCH_SIZE):
            _reconcile_batch(channel, run, batch, provider, seen, pusher if repair else None, now)
        listed = (
            Listing.objects.filter(channel=channel, published=True)
            .exclude(variant_id__in=seen)
            .values_list("variant_id", "variant__sku")
        )
        missing = list(listed.iterator(chunk_size=2000))
        for start in range(0, len(missing), BATCH_SIZE):
            chunk = missing[start : start + BATCH_SIZE]
            values = provider.available_to_sell(channel=channel, variant_ids=[v for v, _ in chunk])
            SyncMismatch.objects.bulk_create(
                [
                    SyncMismatch(
                        run=run,
                        sku=sku,
                        channel_value=None,
                        omni_value=max(0, values.get(v, 0)),
                        reason="missing_in_channel",
                    )
                    for v, sku in chunk
                ]
            )
    except FeedUnavailable as exc:
        return run_finish(run=run, error=exc.message)
    return run_finish(run=run)


def _reconcile_batch(channel, run, rows: list[FeedRow], provider, seen, pusher, now) -> None:
    outcome = BatchOutcome(read=len(rows))
    parsed: list[tuple[FeedRow, str, int]] = []
    for row in rows:
        if row.data is None:
            outcome.rejections.append(Rejection(row.line, row.raw, "malformed_row", row.error))
            continue
        sku = str(row.data.get("sku") or "").strip()
        try:
            if not sku:
                raise RowRejected("sku is required.", code="required", field="sku")
            parsed.append((row, sku, _count(row.data, "available")))
        except RowRejected as exc:
            outcome.rejections.append(Rejection(row.line, row.raw, exc.code, exc.message))
    variants = dict(
        Variant.objects.filter(sku__in={sku for _, sku, _ in parsed}).values_list("sku", "pk")
    )
    omni = provider.available_to_sell(channel=channel, variant_ids=list(variants.values()))
    mismatches = []
    repairs: dict[int, int] = {}
    for _row, sku, theirs in parsed:
        variant_id = variants.get(sku)
        if variant_id is None:
            mismatches.append(
                SyncMismatch(run=run, sku=sku, channel_value=theirs, reason="unknown_sku")
            )
            continue
        seen.add(variant_id)
        ours = max(0, omni.get(variant_id, 0))
        if ours != theirs:
            mismatches.append(
                SyncMismatch(
                    run=run, sku=sku, channel_value=theirs, omni_value=ours, reason="differs"
                )
            )
            repairs[variant_id] = ours
    outcome.unchanged = len(parsed) - len(mismatches)
    outcome.applied = len(mismatches)
    with transaction.atomic():
        SyncMismatch.objects.bulk_create(mismatches)
        if pusher and repairs:
            skus = {v: s for s, v in variants.items()}
            _enqueue_items(
                channel=channel,
                settings=pusher,
                items=[{"sku": skus[v], "available": a} for v, a in sorted(repairs.items())],
                key=f"reconcile:{run.pk}:{rows[0].line}",
                now=now,
            )
            _remember_pushed(channel_id=channel.pk, values=repairs, now=now)
        run_record_batch(run=run, outcome=outcome, last_line=rows[-1].line)
