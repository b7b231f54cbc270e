"""Analytics state changes: behaviour event intake, rollup refreshes and stock snapshots."""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from analytics.locks import rollup_lock_for_update
from analytics.models import (
    BehaviourEvent,
    ChannelDay,
    CustomerChannel,
    CustomerMonth,
    EventDay,
    FulfilmentDay,
    OrderFact,
    OrderLineFact,
    ReturnFact,
    RollupWatermark,
    StockDay,
    VariantLocationDay,
)
from analytics.rollups import (
    AffectedKeys,
    keys_of_orders,
    rollups_rebuild_all,
    rollups_rebuild_keys,
)
from catalog.models import Product, Variant
from inventory.models import Stock
from omni.errors import InvalidInput
from omni.models import Channel

# --- behaviour events -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventInput:
    event_id: uuid.UUID
    kind: str
    session_id: str
    occurred_at: datetime
    sku: str | None = None
    product_id: int | None = None
    customer_id: int | None = None


@dataclass(frozen=True)
class EventBatchResult:
    received: int
    accepted: int
    duplicates: int
    days: list[date]


def local_day(moment: datetime, tz_name: str) -> date:
    """The calendar day of `moment` in a channel's time zone (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(tz_name or "UTC")
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).date()


@transaction.atomic(durable=True)
def events_record(*, channel: Channel, events: Sequence[EventInput]) -> EventBatchResult:
    """Store a batch of storefront events; an event id seen before is ignored (idempotent).

    SKUs and product ids must exist (`InvalidInput` naming `events.<n>.sku` or
    `events.<n>.product_id`, nothing stored). The unique constraint on `event_id` decides,
    so concurrent redeliveries of one batch insert each event once (INSERT ... ON CONFLICT DO
    NOTHING). The funnel rollup of the touched days is refreshed by a task after commit.
    4 queries whatever the batch size.
    """
    variants = {
        sku: (variant_id, product_id)
        for sku, variant_id, product_id in Variant.objects.filter(
            sku__in={e.sku for e in events if e.sku}
        ).values_list("sku", "id", "product_id")
    }
    known_products = set(
        Product.objects.filter(id__in={e.product_id for e in events if e.product_id}).values_list(
            "id", flat=True
        )
    )
    resolved: list[tuple[int | None, int | None]] = []
    for index, e in enumerate(events):
        variant_id = product_id = None
        if e.sku:
            if e.sku not in variants:
                raise InvalidInput(
                    f"Unknown SKU {e.sku!r}.", code="unknown_sku", field=f"events.{index}.sku"
                )
            variant_id, product_id = variants[e.sku]
        if e.product_id:
            if e.product_id not in known_products:
                raise InvalidInput(
                    f"Unknown product {e.product_id}.",
                    code="unknown_product",
                    field=f"events.{index}.product_id",
                )
            product_id = e.product_id
        resolved.append((variant_id, product_id))
    ids = [e.event_id for e in events]
    seen = set(BehaviourEvent.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    rows = []
    for e, (variant_id, product_id) in zip(events, resolved, strict=True):
        rows.append(
            BehaviourEvent(
                event_id=e.event_id,
                channel=channel,
                kind=e.kind,
                session_id=e.session_id,
                customer_id=e.customer_id,
                variant_id=variant_id,
                product_id=product_id,
                occurred_at=e.occurred_at,
                day=local_day(e.occurred_at, channel.timezone),
            )
        )
    BehaviourEvent.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    days = sorted({row.day for row in rows if row.event_id not in seen})
    if days:
        from analytics.tasks import event_days_refresh_task

        day_strings = [d.isoformat() for d in days]
        transaction.on_commit(lambda: event_days_refresh_task.delay(channel.id, day_strings))
    accepted = len({e.event_id for e in events} - seen)
    return EventBatchResult(
        received=len(events), accepted=accepted, duplicates=len(events) - accepted, days=days
    )


@transaction.atomic
def event_days_rebuild(*, channel_id: int | None, days: Collection[date] | None) -> None:
    """Recount EventDay rows (events and distinct sessions per kind) of a channel's days; all
    rows when both are None. Serialised with the other rollup writers."""
    rollup_lock_for_update()
    table = connection.ops.quote_name(EventDay._meta.db_table)
    source = connection.ops.quote_name(BehaviourEvent._meta.db_table)
    if channel_id is None and days is None:
        EventDay.objects.all().delete()
        where, params = "1=1", []
    else:
        days = sorted(days or [])
        if not days:
            return
        EventDay.objects.filter(channel_id=channel_id, day__in=days).delete()
        where = f"channel_id = %s AND day IN ({', '.join(['%s'] * len(days))})"
        params = [channel_id, *days]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (channel_id, day, kind, events, sessions)
            SELECT channel_id, day, kind, COUNT(*), COUNT(DISTINCT session_id)
            FROM {source} WHERE {where}
            GROUP BY channel_id, day, kind
            """,
            params,
        )


# --- rollups ----------------------------------------------------------------------------------


def _replace_facts(order_ids: Sequence[int]) -> AffectedKeys:
    """Swap the facts of `order_ids` for freshly extracted ones; return old and new keys."""
    from analytics.sources import facts_insert, order_facts_extract

    keys = keys_of_orders(order_ids)
    for model in (OrderFact, OrderLineFact, ReturnFact):
        model.objects.filter(order_id__in=order_ids).delete()
    extracted = order_facts_extract(order_ids=order_ids)
    facts_insert(extracted)
    # The new facts' keys, read from the rows just written (see sources.*_COLUMNS).
    for row in extracted.orders:
        keys.days.add(row[4])
        if row[2] is not None:
            keys.customer_ids.add(row[2])
    for row in extracted.lines:
        keys.days.add(row[7])
        keys.variant_ids.add(row[4])
    for row in extracted.returns:
        keys.days.add(row[6])
        keys.variant_ids.add(row[3])
    return keys


@transaction.atomic
def rollup_refresh_for_orders(*, order_ids: Collection[int]) -> AffectedKeys:
    """Bring the facts and every rollup row they feed up to date for these orders.

    Runs after orders are placed, cancelled, fulfilled, collected or returned: the orders app
    announces each committed change (`orders.changes`), analytics' receiver queues
    `analytics.tasks.rollup_refresh_for_orders_task`, which calls `orders_changed_refresh`.
    Idempotent: refreshing twice gives the same rows. Takes the rollup advisory lock, so
    concurrent refreshes and the nightly rebuild run one after the other. The query count
    grows with the number of affected days and customers, not with the order history.
    """
    rollup_lock_for_update()
    ids = sorted({int(i) for i in order_ids})
    keys = AffectedKeys()
    for start in range(0, len(ids), 2000):
        keys.update(_replace_facts(ids[start : start + 2000]))
    rollups_rebuild_keys(keys)
    return keys


@transaction.atomic
def orders_changed_refresh(*, order_ids: Collection[int]) -> AffectedKeys:
    """What the orders app's change notice triggers (through `tasks.py`): the rollups of these
    orders (`rollup_refresh_for_orders`), then the suggestions of every customer they belong
    or belonged to. Idempotent; serialised with the other analytics writers."""
    from analytics.recommendations import suggestions_refresh

    keys = rollup_refresh_for_orders(order_ids=order_ids)
    suggestions_refresh(customer_ids=keys.customer_ids)
    return keys


@transaction.atomic
def customers_changed_refresh(*, customer_ids: Collection[int]) -> AffectedKeys:
    """After profiles were merged, unmerged or swept (their orders moved by a bulk UPDATE that
    the orders' change notices do not see): re-extract the facts of every order these
    customers hold now or held in the facts, rewrite the rollups behind them (first orders,
    new-vs-returning counts, per-customer rows) and the customers' suggestions."""
    from analytics.recommendations import suggestions_refresh
    from orders.models import Order

    ids = sorted({int(i) for i in customer_ids})
    if not ids:
        return AffectedKeys()
    rollup_lock_for_update()
    order_ids = set(Order.objects.filter(customer_id__in=ids).values_list("id", flat=True))
    order_ids |= set(
        OrderFact.objects.filter(customer_id__in=ids).values_list("order_id", flat=True)
    )
    keys = rollup_refresh_for_orders(order_ids=order_ids)
    keys.customer_ids |= set(ids)
    suggestions_refresh(customer_ids=keys.customer_ids)
    return keys


# Orders committed late (a long transaction) carry an `updated_at` older than the commit:
# each pass re-reads this much before the watermark. Re-refreshing an order is harmless.
WATERMARK_OVERLAP = timedelta(minutes=10)
WATERMARK = "orders_updated_at"


@transaction.atomic
def rollup_refresh_changed(*, batch_size: int = 5000) -> int:
    """Refresh the rollups of every order changed since the last pass (by `updated_at`), up to
    `batch_size` orders, with the suggestions of their customers; the periodic task calls it,
    so rollups stay current even when a change notice was lost (a broker down at commit).
    Returns the orders refreshed.
    """
    from orders.models import Order

    rollup_lock_for_update()
    mark = RollupWatermark.objects.filter(name=WATERMARK).first()
    changed = Order.objects.order_by("updated_at", "id")
    if mark is not None:
        changed = changed.filter(updated_at__gte=mark.value - WATERMARK_OVERLAP)
    rows = list(changed.values_list("id", "updated_at")[:batch_size])
    if not rows:
        return 0
    orders_changed_refresh(order_ids=[order_id for order_id, _ in rows])
    newest = rows[-1][1]
    if mark is None:
        RollupWatermark.objects.create(name=WATERMARK, value=newest)
    elif newest > mark.value:
        RollupWatermark.objects.filter(pk=mark.pk).update(value=newest)
    return len(rows)


@transaction.atomic
def rollups_rebuild(*, with_facts: bool = True) -> None:
    """The nightly full rebuild: re-extract every order's facts (unless `with_facts` is False)
    and rebuild every rollup from them. Gives the same rows as the incremental refreshes."""
    from analytics.sources import order_facts_rebuild_all

    rollup_lock_for_update()
    if with_facts:
        from orders.models import Order

        newest = Order.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
        order_facts_rebuild_all()
        if newest is not None:
            RollupWatermark.objects.update_or_create(name=WATERMARK, defaults={"value": newest})
    rollups_rebuild_all()
    event_days_rebuild(channel_id=None, days=None)
    rewritten = [ChannelDay, VariantLocationDay, FulfilmentDay, CustomerChannel, CustomerMonth]
    if with_facts:
        rewritten += [OrderFact, OrderLineFact, ReturnFact]
    _analyze([*rewritten, EventDay])


def _analyze(models) -> None:
    """Refresh the planner statistics of tables a rebuild rewrote whole, in its transaction
    (they take effect at its commit). Autovacuum gets to them only later, or never where it is
    off, and until then the refreshes that follow plan with the old statistics: with the fact
    tables analysed empty, a refresh of 1,000 orders scanned all 3M line facts for its keys."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


# --- stock snapshots --------------------------------------------------------------------------


@transaction.atomic
def stock_snapshot_take(*, day: date | None = None) -> int:
    """Record every stock row's on-hand, available and incoming for `day` (today by default);
    taking it again the same day replaces it. Returns the number of rows written."""
    day = day or timezone.localdate()
    StockDay.objects.filter(day=day).delete()
    rows = [
        StockDay(
            variant_id=variant_id,
            location_id=location_id,
            day=day,
            on_hand=on_hand,
            available=on_hand - reserved,
            incoming=incoming,
        )
        for variant_id, location_id, on_hand, reserved, incoming in Stock.objects.values_list(
            "variant_id", "location_id", "on_hand", "reserved", "incoming"
        ).iterator(chunk_size=5000)
    ]
    StockDay.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
