"""Outbox of available-to-sell changes: written with each change, drained after commit."""

import functools
import time

from django.db import connection, transaction
from django.utils import timezone

from inventory.models import (
    AvailabilityChange,
    ChannelLocation,
    Stock,
    StockLocation,
)
from omni.models import Channel

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
    from inventory.tasks import availability_outbox_drain_task
    from omni.celery import app

    if app.conf.task_always_eager:
        availability_outbox_drain_task.apply()
        return
    now = time.monotonic()
    if now - _last_kick[0] < KICK_WINDOW_SECONDS:
        return
    _last_kick[0] = now
    availability_outbox_drain_task.apply_async(countdown=KICK_WINDOW_SECONDS + 1)


def schedule_drain() -> None:
    # One hook per outermost transaction is enough: the task drains everything pending.
    pending = getattr(connection, "run_on_commit", [])
    if any(entry[1] is _kick_outbox_drain for entry in pending):
        return
    # Robust: the change is committed whatever happens to the kick (the beat schedule drains
    # the outbox anyway), so a broker hiccup must not turn a successful checkout into an error.
    transaction.on_commit(_kick_outbox_drain, robust=True)


def _rule_sql(pool: str) -> str:
    """The channel availability rule (`selectors.apply_channel_rule`) as portable SQL over the
    joined channel `c`: share of the pool rounded down, less the buffer, capped, floored at 0.
    Pools are never negative, so integer division truncating equals flooring."""
    shown = f"(({pool}) * c.availability_share / 100 - c.safety_stock)"
    capped = (
        f"(CASE WHEN c.availability_cap IS NOT NULL AND c.availability_cap < {shown} "
        f"THEN c.availability_cap ELSE {shown} END)"
    )
    return f"(CASE WHEN {capped} < 0 THEN 0 ELSE {capped} END)"


def availability_changes_statement(
    deltas: dict[tuple[int, int], int],
) -> tuple[str, list] | None:
    """The outbox INSERT of `record_availability_changes` as (sql, params), for callers that
    run it inside another statement; they call `schedule_drain()` themselves."""
    deltas = {key: d for key, d in deltas.items() if d}
    if not deltas:
        return None
    return _statement(deltas)


def record_availability_changes(deltas: dict[tuple[int, int], int]) -> int:
    """Write one outbox row per (variant, channel) whose available-to-sell changed.

    `deltas` maps (variant_id, location_id) to the change of `available` already applied in
    this transaction. Every active channel selling from a touched active location is examined:
    its available-to-sell now and before the deltas are computed in the database and a row is
    inserted where they differ. One statement whatever the number of rows; returns rows written.
    """
    deltas = {key: d for key, d in deltas.items() if d}
    if not deltas:
        return 0
    sql, params = _statement(deltas)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        written = cursor.rowcount
    if written:
        schedule_drain()
    return written


def _statement(deltas: dict[tuple[int, int], int]) -> tuple[str, list]:
    delta_rows = "VALUES " + ", ".join(["(%s, %s, %s)"] * len(deltas))
    delta_params = [value for key, d in sorted(deltas.items()) for value in (*key, d)]
    return outbox_insert_sql(
        keys=deltas,
        deltas_sql=delta_rows,
        deltas_params=delta_params,
        stocks_sql=Stock._meta.db_table,
    )


def outbox_insert_sql(
    *, keys, deltas_sql: str, deltas_params: list, stocks_sql: str
) -> tuple[str, list]:
    """The outbox INSERT over the (variant_id, location_id) `keys` that may have changed.

    `deltas_sql` yields rows (column1=variant_id, column2=location_id, column3=change of
    `available` applied); `stocks_sql` is the stock relation read for the figures after the
    change: the table itself, or (inside one statement with the UPDATE, which it cannot see)
    the table overlaid with the UPDATE's RETURNING rows."""
    variant_ids = sorted({v for v, _ in keys})
    location_ids = sorted({loc for _, loc in keys})
    sql = outbox_insert_text(
        variants=len(variant_ids),
        locations=len(location_ids),
        deltas_sql=deltas_sql,
        stocks_sql=stocks_sql,
        typed=connection.vendor == "postgresql",
    )
    params = [connection.ops.adapt_datetimefield_value(timezone.now())]
    params += [*deltas_params, True, True, *variant_ids, *location_ids]
    return sql, params


@functools.lru_cache(maxsize=256)
def outbox_insert_text(
    *, variants: int, locations: int, deltas_sql: str, stocks_sql: str, typed: bool
) -> str:
    """The text of `outbox_insert_sql`: it depends only on the shape of the call, so it is
    built once per shape (the checkout path runs it on every reservation)."""
    cl = ChannelLocation._meta.db_table
    after = _rule_sql("SUM(s.on_hand - s.reserved)")
    before = _rule_sql("SUM(s.on_hand - s.reserved - COALESCE(d.column3, 0))")
    # Typed for PostgreSQL, where it may be part of a prepared statement.
    stamp = "%s::timestamptz" if typed else "%s"
    return f"""
        INSERT INTO {AvailabilityChange._meta.db_table}
            (variant_id, channel_id, available, created_at)
        SELECT variant_id, channel_id, after_ats, {stamp} FROM (
            SELECT s.variant_id AS variant_id, cl.channel_id AS channel_id,
                   {after} AS after_ats, {before} AS before_ats
            FROM {cl} cl
            JOIN {StockLocation._meta.db_table} l ON l.id = cl.location_id
            JOIN {Channel._meta.db_table} c ON c.id = cl.channel_id
            JOIN {stocks_sql} s ON s.location_id = cl.location_id
            LEFT JOIN ({deltas_sql}) d
                ON d.column1 = s.variant_id AND d.column2 = s.location_id
            WHERE l.active = %s AND c.active = %s
              AND s.variant_id IN ({", ".join(["%s"] * variants)})
              AND cl.channel_id IN (
                  SELECT cl2.channel_id FROM {cl} cl2
                  WHERE cl2.location_id IN ({", ".join(["%s"] * locations)}))
            GROUP BY s.variant_id, cl.channel_id,
                     c.availability_share, c.safety_stock, c.availability_cap
        ) changed
        WHERE after_ats <> before_ats
    """


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
