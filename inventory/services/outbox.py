"""Outbox of available-to-sell changes: (variant, location) marks written with each change;
the drain works out the channels' new values after commit and publishes those that changed."""

import functools
import hashlib
import time

from django.db import connection, transaction
from django.db.models import Max

from inventory.models import (
    AvailabilityChange,
    AvailabilityMark,
    ChannelLocation,
    Stock,
    StockLocation,
)
from inventory.selectors import apply_channel_rule
from omni.models import Channel

_MARKS = AvailabilityMark._meta.db_table

# Each process schedules a drain at most once per window, delayed past the window's end, so
# that drain sees every change this process committed while it skipped kicking.
KICK_WINDOW_SECONDS = 1.0
_last_kick = [float("-inf")]


def _kick_outbox_drain() -> None:
    """Runs after commit. Publishing a Celery message per checkout would cost more than the
    checkout, so a process kicks at most once per window with a countdown beyond it: a change
    whose hook skipped the kick committed before the drain already scheduled will run. Without
    a broker (eager mode) the drain simply runs now, through `apply()`: eager `.delay()` sets
    Celery's process-wide "joining would block" flag around the run and restores it after, so
    two threads committing at once could leave it set and break later `result.get()` calls."""
    availability_outbox_drain_task, app = _drain_task()
    if app.conf.task_always_eager:
        availability_outbox_drain_task.apply()
        return
    now = time.monotonic()
    if now - _last_kick[0] < KICK_WINDOW_SECONDS:
        return
    _last_kick[0] = now
    availability_outbox_drain_task.apply_async(countdown=KICK_WINDOW_SECONDS + 1)


@functools.cache
def _drain_task():
    # Imported on first use (tasks import the services), then kept: this runs per checkout.
    from inventory.tasks import availability_outbox_drain_task
    from omni.celery import app

    return availability_outbox_drain_task, app


def schedule_drain() -> None:
    db = transaction.get_connection()
    # One hook per outermost transaction is enough: the task drains everything pending.
    if any(entry[1] is _kick_outbox_drain for entry in db.run_on_commit):
        return
    # Robust: the change is committed whatever happens to the kick (the beat schedule drains
    # the outbox anyway), so a broker hiccup must not turn a successful checkout into an error.
    db.on_commit(_kick_outbox_drain, robust=True)


def availability_changes_statement(
    deltas: dict[tuple[int, int], int],
) -> tuple[str, list] | None:
    """The outbox INSERT of `record_availability_changes` as (sql, params), for callers that
    run it inside another statement; they call `schedule_drain()` themselves."""
    keys = sorted(key for key, d in deltas.items() if d)
    if not keys:
        return None
    rows = ", ".join(["(%s, %s)"] * len(keys))
    sql = f"INSERT INTO {_MARKS} (variant_id, location_id) VALUES {rows}"
    return sql, [value for key in keys for value in key]


def marks_insert_sql(relation: str) -> str:
    """The outbox INSERT marking every (variant_id, location_id) row of `relation`, for a
    statement that changed `available` on those rows and names them (e.g. a CTE over an
    UPDATE's RETURNING rows). No parameters."""
    return (
        f"INSERT INTO {_MARKS} (variant_id, location_id) "
        f"SELECT variant_id, location_id FROM {relation}"
    )


def record_availability_changes(deltas: dict[tuple[int, int], int]) -> int:
    """Note that available-to-sell may have changed, for events after commit.

    `deltas` maps (variant_id, location_id) to the change of `available` already applied in
    this transaction. Each non-zero one marks its (variant, location) in the outbox (one
    INSERT, which waits on no other transaction); after commit the drain publishes the new
    available-to-sell of every active channel selling from a marked location whose value
    differs from the one last published. Returns the number of marks written."""
    statement = availability_changes_statement(deltas)
    if statement is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        written = cursor.rowcount
    schedule_drain()
    return written


# One drain at a time (PostgreSQL transaction-level advisory lock): two drains computing the
# same pair from different moments must not publish the older value last.
_DRAIN_LOCK_KEY = int.from_bytes(hashlib.sha1(b"inventory.availability_outbox").digest()[:4])


def availability_outbox_drain(*, batch_size: int = 500) -> int:
    """Publish the available-to-sell of the (variant, channel) pairs the pending marks touch,
    where it differs from the value last published, and delete the marks. Listeners get one
    value per changed pair, the current one: computed after the marking transactions
    committed, so changes at several locations of a variant add up, and a pair back at its
    published value emits nothing. Drains are serialised (advisory lock on PostgreSQL) and
    each batch is one transaction: the events are recorded and the marks deleted together.
    Returns the number of marks drained."""
    from inventory.events import publish

    drained = 0
    while True:
        with transaction.atomic(durable=True):
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_DRAIN_LOCK_KEY])
            marked = _take_marks(batch_size)
            if not marked:
                return drained
            now_ats = _available_to_sell_at(set(marked))
            last = _last_published(now_ats)
            latest = {pair: value for pair, value in now_ats.items() if last.get(pair) != value}
            if latest:
                AvailabilityChange.objects.bulk_create(
                    AvailabilityChange(
                        variant_id=variant_id, channel_id=channel_id, available=value
                    )
                    for (variant_id, channel_id), value in sorted(latest.items())
                )
                publish(latest)
        drained += len(marked)
        if len(marked) < batch_size:
            return drained


def _take_marks(limit: int) -> list[tuple[int, int]]:
    """Delete the oldest `limit` marks (in the drain's transaction: a rollback puts them
    back) and return their (variant_id, location_id). One statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_MARKS} WHERE id IN (SELECT id FROM {_MARKS} ORDER BY id LIMIT %s) "
            f"RETURNING variant_id, location_id",
            [limit],
        )
        return cursor.fetchall()


def _available_to_sell_at(marked: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Available-to-sell now of every (variant, active channel) where the channel sells from
    a marked (variant, location): the pooled `available` over the channel's active
    locations, shaped by its rule (`selectors.apply_channel_rule`). One query."""
    cl = ChannelLocation._meta.db_table
    sql = f"""
        SELECT p.variant_id, p.channel_id, COALESCE(SUM(s.on_hand - s.reserved), 0),
               c.safety_stock, c.availability_cap, c.availability_share
        FROM (SELECT DISTINCT m.column1 AS variant_id, mcl.channel_id AS channel_id
              FROM (VALUES {", ".join(["(%s, %s)"] * len(marked))}) m
              JOIN {cl} mcl ON mcl.location_id = m.column2) p
        JOIN {Channel._meta.db_table} c ON c.id = p.channel_id
        LEFT JOIN ({cl} cl
                   JOIN {StockLocation._meta.db_table} l ON l.id = cl.location_id AND l.active
                   JOIN {Stock._meta.db_table} s ON s.location_id = cl.location_id)
            ON cl.channel_id = p.channel_id AND s.variant_id = p.variant_id
        WHERE c.active
        GROUP BY p.variant_id, p.channel_id,
                 c.safety_stock, c.availability_cap, c.availability_share
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for key in sorted(marked) for value in key])
        rows = cursor.fetchall()
    return {
        (variant_id, channel_id): apply_channel_rule(
            pool=pool, safety_stock=buffer, availability_cap=cap, availability_share=share
        )
        for variant_id, channel_id, pool, buffer, cap, share in rows
    }


def _last_published(pairs) -> dict[tuple[int, int], int]:
    """The value last published per (variant, channel) among `pairs` (absent: never)."""
    if not pairs:
        return {}
    latest_ids = (
        AvailabilityChange.objects.filter(
            variant_id__in={v for v, _ in pairs}, channel_id__in={c for _, c in pairs}
        )
        .order_by()
        .values("variant_id", "channel_id")
        .annotate(last=Max("id"))
        .values("last")
    )
    return {
        (variant_id, channel_id): available
        for variant_id, channel_id, available in AvailabilityChange.objects.filter(
            pk__in=latest_ids
        ).values_list("variant_id", "channel_id", "available")
    }
