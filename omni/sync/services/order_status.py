"""Order status and tracking pushes: the orders timeline (append-only) is read in id order
and each status-relevant event of a pushing channel becomes one outbound message."""

from django.db import transaction

from omni.sync.models import PushCursor, PushKind
from omni.sync.services.availability import pushing_settings
from omni.sync.services.outbox import message_enqueue

CURSOR = "orders-timeline"
PUSHED_EVENTS = {
    "placed",
    "status_changed",
    "fulfilment_shipped",
    "ready_for_pickup",
    "collected",
    "lines_cancelled",
    "returned",
}


@transaction.atomic(durable=True)
def order_status_push_sweep(*, limit: int = 500) -> int:
    """Queue one push per new timeline event of orders in channels that push order status.
    The cursor row is locked for the sweep and advanced in the same transaction as the
    messages are queued (each with the event id as dedup key), so parallel or redelivered
    sweeps queue nothing twice. Returns the number of messages queued."""
    from orders.models import Fulfilment, TimelineEvent

    cursor, _ = PushCursor.objects.get_or_create(name=CURSOR)
    cursor = PushCursor.objects.select_for_update().get(pk=cursor.pk)
    events = list(
        TimelineEvent.objects.filter(pk__gt=cursor.position)
        .select_related("order", "order__channel")
        .order_by("pk")[:limit]
    )
    if not events:
        return 0
    pushing = pushing_settings(
        kind=PushKind.ORDER_STATUS, channel_ids={e.order.channel_id for e in events}
    )
    relevant = [e for e in events if e.kind in PUSHED_EVENTS and e.order.channel_id in pushing]
    tracking: dict[int, list[dict]] = {}
    for fulfilment in Fulfilment.objects.filter(
        order_id__in={e.order_id for e in relevant}
    ).order_by("pk"):
        tracking.setdefault(fulfilment.order_id, []).append(
            {
                "fulfilment": fulfilment.pk,
                "status": fulfilment.status,
                "carrier": fulfilment.carrier,
                "tracking_number": fulfilment.tracking_number,
            }
        )
    queued = 0
    for event in relevant:
        order = event.order
        message = message_enqueue(
            channel=order.channel,
            kind=PushKind.ORDER_STATUS,
            payload={
                "order": order.number,
                "external_id": order.external_id,
                "status": order.status,
                "event": event.kind,
                "message": event.message,
                "at": event.created_at.isoformat(),
                "fulfilments": tracking.get(order.pk, []),
            },
            dedup_key=f"timeline:{event.pk}",
            settings=pushing[order.channel_id],
        )
        queued += message is not None
    cursor.position = events[-1].pk
    cursor.save(update_fields=["position", "updated_at"])
    return queued
