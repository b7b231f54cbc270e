"""Pulling feeds: stream a channel's feed, validate each row, apply batches with bulk
operations, record the run. Bad rows are rejected one by one; the rest is applied.

Stock and price feeds on PostgreSQL are applied set-based, a chunk at a time
(omni.sync.services.feed_sql); the handlers' `clean` validates every row on both paths."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import chain, islice
from typing import Any, NamedTuple

from django.conf import settings as django_settings
from django.db import connection, reset_queries, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from catalog.models import Listing, Variant
from inventory.models import StockLocation
from inventory.snapshots import SnapshotCount, stock_snapshots_apply
from omni.errors import DomainError
from omni.models import Channel
from omni.sync.connectors import connector_for
from omni.sync.connectors.base import Connector, FeedRow
from omni.sync.errors import ConnectorError, FeedUnavailable, RowRejected
from omni.sync.models import (
    ConnectorSettings,
    Direction,
    RunStatus,
    StockSnapshotMark,
    SyncRun,
)
from omni.sync.services.runs import (
    BatchOutcome,
    Drift,
    Rejection,
    run_finish,
    run_record_batch,
    run_start,
)

logger = logging.getLogger(__name__)

# Rows per batch of the per-row path (SQLite, orders); the set-based path on PostgreSQL
# applies chunks of settings.OMNI_SYNC_FEED_CHUNK_ROWS.
BATCH_SIZE = 2000
# A count dated further ahead than this is a clock or feed error, not a count.
MAX_CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class Item:
    row: FeedRow
    value: Any


# --- field parsing ---------------------------------------------------------------------------


def _text(data: dict, name: str, *, required: bool = True, max_length: int = 200) -> str:
    value = data.get(name)
    value = "" if value is None else str(value).strip()
    if required and not value:
        raise RowRejected(f"{name} is required.", code="required", field=name)
    if len(value) > max_length:
        raise RowRejected(f"{name} is longer than {max_length}.", code="too_long", field=name)
    return value


def _count(data: dict, name: str) -> int:
    value = data.get(name)
    if isinstance(value, bool) or value is None or str(value).strip() == "":
        raise RowRejected(f"{name} is required.", code="required", field=name)
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise RowRejected(
            f"{name} {value!r} is not a whole number.", code="invalid_quantity", field=name
        ) from None
    if number < 0:
        raise RowRejected(f"{name} {number} is negative.", code="negative_quantity", field=name)
    return number


def _memo(memo: dict, value: Any, clean: Callable[[], Any]) -> Any:
    """`clean()` of a field value, remembered per text: feeds repeat the same quantities,
    prices and times over and over, and the rules are pure functions of the text. Only text
    is remembered (JSON values such as True and 1 compare equal but are judged differently);
    a rejected value raises every time."""
    if type(value) is not str:
        return clean()
    try:
        return memo[value]
    except KeyError:
        result = memo[value] = clean()
        return result


def _as_of(data: dict, default: datetime | None) -> datetime:
    value = data.get("as_of")
    if value is None or str(value).strip() == "":
        if default is None:
            raise RowRejected("as_of is required.", code="required", field="as_of")
        return default
    parsed = _parse_time(str(value).strip())
    if parsed is None:
        raise RowRejected(
            f"as_of {value!r} is not an ISO 8601 time.", code="invalid_time", field="as_of"
        )
    if timezone.is_naive(parsed):
        raise RowRejected("as_of needs a UTC offset.", code="naive_time", field="as_of")
    if parsed > timezone.now() + MAX_CLOCK_SKEW:
        raise RowRejected(f"as_of {value} is in the future.", code="future_time", field="as_of")
    return parsed


@lru_cache(maxsize=256)
def _parse_time(text: str) -> datetime | None:
    # Feeds usually stamp every row with the same time: parse each distinct text once.
    try:
        return parse_datetime(text)
    except ValueError:
        return None


def _variants(skus: Iterable[str], cache: dict[str, int | None] | None = None) -> dict[str, int]:
    """Variant ids by SKU in one query; `cache` (shared by the handlers of one batch) saves
    the second handler of a combined feed the same lookup."""
    cache = {} if cache is None else cache
    wanted = set(skus)
    missing = wanted - cache.keys()
    if missing:
        found = dict(Variant.objects.filter(sku__in=missing).values_list("sku", "id"))
        cache.update({sku: found.get(sku) for sku in missing})
    return {sku: cache[sku] for sku in wanted if cache[sku] is not None}


# --- row handlers ----------------------------------------------------------------------------


class FeedHandler:
    """Turns rows of one pull kind into changes. `clean` checks one row alone; `resolve`
    looks rows up in bulk (one query per batch) and rejects what it cannot place; `apply`
    changes state in bulk and returns the lines that changed something."""

    kind = ""
    # Applied inside the batch transaction (with the run's progress); False for services
    # that own their transaction and are idempotent (re-applying them changes nothing).
    atomic = True

    def __init__(self, *, channel: Channel, settings: ConnectorSettings, options: dict):
        self.channel = channel
        self.settings = settings
        self.options = options
        self.variant_cache: dict[str, int | None] = {}
        # Lines `apply` refused (a service said no); reset for every batch.
        self.rejected_lines: set[int] = set()

    def new_chunk(self) -> None:
        """Called before each batch: forget what `clean` remembered (a time is judged
        against the batch's clock, and memory stays bounded)."""

    def clean(self, data: dict) -> Any:
        """The value of one row, or RowRejected. Both the per-row and the set-based path
        (omni.sync.services.feed_sql) validate every row with this."""
        raise NotImplementedError

    def resolve(self, items: list[Item], reject: Callable[[Item, str, str], None]) -> list[Item]:
        return items

    def apply(self, items: list[Item], outcome: BatchOutcome) -> set[int]:
        raise NotImplementedError


class StockValue(NamedTuple):
    sku: str
    location_code: str
    quantity: int
    as_of: datetime
    variant_id: int = 0
    location_id: int = 0


class StockHandler(FeedHandler):
    """Stock counts as of a time: see inventory.snapshots. Per (variant, location) only a
    snapshot newer than the last one applied (from any feed) is applied."""

    kind = "stock"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._locations: dict[str, int] = dict(
            StockLocation.objects.filter(active=True).values_list("code", "id")
        )
        self._quantities: dict[str, int] = {}
        self._times: dict[str, datetime] = {}

    def new_chunk(self) -> None:
        self._quantities.clear()
        self._times.clear()

    def clean(self, data: dict) -> StockValue:
        location = data.get("location") or self.settings.stock_location
        if not location:
            raise RowRejected("location is required.", code="required", field="location")
        return StockValue(
            _text(data, "sku", max_length=64),
            str(location).strip(),
            _memo(self._quantities, data.get("quantity"), lambda: _count(data, "quantity")),
            _memo(self._times, data.get("as_of"), lambda: _as_of(data, self.options.get("as_of"))),
        )

    def resolve(self, items, reject):
        variants = _variants((item.value.sku for item in items), self.variant_cache)
        kept = []
        for item in items:
            value: StockValue = item.value
            variant_id = variants.get(value.sku)
            location_id = self._locations.get(value.location_code)
            if variant_id is None:
                reject(item, "unknown_sku", f"Unknown SKU {value.sku}.")
            elif location_id is None:
                reject(item, "unknown_location", f"Unknown location {value.location_code}.")
            else:
                item.value = StockValue(
                    value.sku,
                    value.location_code,
                    value.quantity,
                    value.as_of,
                    variant_id,
                    location_id,
                )
                kept.append(item)
        return kept

    def apply(self, items, outcome):
        # Within one batch the newest count of a (variant, location) wins; the others are
        # superseded, exactly as if they had come in an earlier, older feed.
        newest: dict[tuple[int, int], Item] = {}
        for item in items:
            key = (item.value.variant_id, item.value.location_id)
            if key not in newest or item.value.as_of >= newest[key].value.as_of:
                newest[key] = item
        fresh_pairs = _advance_marks({key: item.value.as_of for key, item in newest.items()})
        fresh = [newest[key] for key in sorted(fresh_pairs)]
        results = stock_snapshots_apply(
            counts=[
                SnapshotCount(
                    variant_id=i.value.variant_id,
                    location_id=i.value.location_id,
                    quantity=i.value.quantity,
                    as_of=i.value.as_of,
                )
                for i in fresh
            ],
            reference=f"feed {self.channel.code}",
        )
        changed: set[int] = set()
        by_pair = {(i.value.variant_id, i.value.location_id): i for i in fresh}
        for result in results:
            item = by_pair[(result.variant_id, result.location_id)]
            if result.drift:
                outcome.drifts.append(
                    Drift(
                        sku=item.value.sku,
                        location=item.value.location_code,
                        counted=result.counted,
                        expected=result.expected,
                        drift=result.drift,
                    )
                )
            if result.changed:
                changed.add(item.row.line)
        return changed


def _advance_marks(as_of: dict[tuple[int, int], datetime]) -> set[tuple[int, int]]:
    """Move each (variant, location) mark forward to its new as-of time and return the pairs
    that moved; a pair whose mark is already as new or newer is left out: its count is stale.

    One upsert per batch of pairs, in (variant, location) order: the conditional ON CONFLICT
    UPDATE locks each mark row it touches, so two feeds counting the same rows serialise and
    the older count cannot overwrite the newer one, and no lock-order deadlock arises."""
    table = StockSnapshotMark._meta.db_table
    moved: set[tuple[int, int]] = set()
    pairs = sorted(as_of)
    for start in range(0, len(pairs), BATCH_SIZE):
        chunk = pairs[start : start + BATCH_SIZE]
        params: list = []
        for variant_id, location_id in chunk:
            params += [variant_id, location_id, as_of[(variant_id, location_id)]]
        values = ", ".join(["(%s, %s, %s)"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (variant_id, location_id, as_of) VALUES {values} "
                f"ON CONFLICT (variant_id, location_id) DO UPDATE SET as_of = excluded.as_of "
                f"WHERE {table}.as_of < excluded.as_of "
                f"RETURNING variant_id, location_id",
                params,
            )
            moved.update((int(v), int(loc)) for v, loc in cursor.fetchall())
    return moved


class PriceValue(NamedTuple):
    sku: str
    price: Decimal
    compare_at_price: Decimal | None
    variant_id: int = 0


class PriceHandler(FeedHandler):
    """Prices of the channel's listings, written through the catalog's bulk upsert (its own
    transaction; writing the same price again changes nothing, so a retried batch is safe)."""

    kind = "prices"
    atomic = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._amounts: dict[tuple, tuple[Decimal, Decimal | None]] = {}

    def new_chunk(self) -> None:
        self._amounts.clear()

    def clean(self, data: dict) -> PriceValue:
        sku = _text(data, "sku", max_length=64)
        key = (data.get("price"), data.get("compare_at_price"), data.get("currency"))
        if all(value is None or type(value) is str for value in key):
            amounts = self._amounts.get(key)
            if amounts is None:
                amounts = self._amounts[key] = self._clean_amounts(data)
        else:
            amounts = self._clean_amounts(data)
        return PriceValue(sku, *amounts)

    def _clean_amounts(self, data: dict) -> tuple[Decimal, Decimal | None]:
        from catalog.validation import clean_compare_at, clean_listing_currency, clean_price

        try:
            # The catalog's own rules, so a feed and staff are refused the same prices.
            currency = clean_listing_currency(
                str(data.get("currency") or "").strip() or None, channel=self.channel
            )
            price = clean_price(data.get("price"), currency=currency)
            compare_at = clean_price(
                data.get("compare_at_price") or None,
                currency=currency,
                field="compare_at_price",
                allow_none=True,
            )
            clean_compare_at(price, compare_at, field="compare_at_price")
        except DomainError as exc:
            raise RowRejected(exc.message, code=exc.code, field=exc.field) from None
        return price, compare_at

    def resolve(self, items, reject):
        variants = _variants((item.value.sku for item in items), self.variant_cache)
        kept = []
        for item in items:
            variant_id = variants.get(item.value.sku)
            if variant_id is None:
                reject(item, "unknown_sku", f"Unknown SKU {item.value.sku}.")
                continue
            v = item.value
            item.value = PriceValue(v.sku, v.price, v.compare_at_price, variant_id)
            kept.append(item)
        return kept

    def apply(self, items, outcome):
        from catalog.services import listings_bulk_upsert

        latest: dict[int, Item] = {}
        for item in items:
            latest[item.value.variant_id] = item
        existing = {
            variant_id: (price, compare_at)
            for variant_id, price, compare_at in Listing.objects.filter(
                channel=self.channel, variant_id__in=latest
            ).values_list("variant_id", "price", "compare_at_price")
        }
        to_write = [
            item
            for variant_id, item in latest.items()
            if existing.get(variant_id) != (item.value.price, item.value.compare_at_price)
        ]
        for _attempt in range(2):
            if not to_write:
                break
            try:
                listings_bulk_upsert(
                    channel=self.channel,
                    rows=[
                        {
                            "sku": i.value.sku,
                            "price": i.value.price,
                            "compare_at_price": i.value.compare_at_price,
                        }
                        for i in to_write
                    ],
                )
                break
            except DomainError as exc:
                # All or nothing on the catalog's side: drop the rows it names (e.g. a SKU
                # deleted since the lookup) and write the rest once more.
                bad = _rows_named(exc, len(to_write))
                if not bad:
                    raise
                for index in sorted(bad):
                    item = to_write[index]
                    outcome.rejections.append(
                        Rejection(item.row.line, item.row.raw, exc.code, bad[index])
                    )
                    self.rejected_lines.add(item.row.line)
                to_write = [i for n, i in enumerate(to_write) if n not in bad]
        return {item.row.line for item in to_write}


def _rows_named(exc: DomainError, count: int) -> dict[int, str]:
    """Row indexes (and messages) named `rows.<index>.<field>` in a bulk service's errors."""
    named: dict[int, str] = {}
    for error in exc.extra.get("errors") or []:
        parts = str(error.get("field", "")).split(".")
        if len(parts) >= 2 and parts[0] == "rows" and parts[1].isdigit():
            index = int(parts[1])
            if index < count:
                named.setdefault(index, str(error.get("message") or exc.message))
    return named


@dataclass(frozen=True)
class OrderValue:
    external_id: str
    data: dict


class OrderHandler(FeedHandler):
    """Orders, one JSON object per line, placed through orders.services.order_place, which is
    idempotent by (channel, external_id): a re-read order is found, not placed again."""

    kind = "orders"
    atomic = False

    def clean(self, data: dict) -> OrderValue:
        external_id = _text(data, "external_id", max_length=120)
        lines = data.get("lines")
        if not isinstance(lines, list) or not lines:
            raise RowRejected("lines must be a non-empty list.", code="required", field="lines")
        for index, line in enumerate(lines):
            if not isinstance(line, dict):
                raise RowRejected(
                    f"lines.{index} must be an object.", code="invalid", field=f"lines.{index}"
                )
            _text(line, "sku", max_length=64)
            if _count(line, "quantity") == 0:
                raise RowRejected(
                    f"lines.{index}.quantity must be positive.",
                    code="invalid_quantity",
                    field=f"lines.{index}.quantity",
                )
        return OrderValue(external_id, data)

    def apply(self, items, outcome):
        from omni.sync.services.orders import order_from_feed

        changed: set[int] = set()
        rejected: list[Item] = []
        for item in items:
            try:
                created = order_from_feed(channel=self.channel, data=item.value.data)
            except DomainError as exc:
                outcome.rejections.append(
                    Rejection(item.row.line, item.row.raw, exc.code, exc.message)
                )
                rejected.append(item)
                continue
            if created:
                changed.add(item.row.line)
        self.rejected_lines |= {i.row.line for i in rejected}
        return changed


HANDLERS: dict[str, type[FeedHandler]] = {
    "stock": StockHandler,
    "prices": PriceHandler,
    "orders": OrderHandler,
}


# --- the feed run ----------------------------------------------------------------------------


def _batches(rows: Iterator[FeedRow], size: int) -> Iterator[list[FeedRow]]:
    batch: list[FeedRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _chunks(rows: Iterable[FeedRow], size: int) -> Iterator[Iterator[FeedRow]]:
    """The rows in consecutive runs of at most `size`, each an iterator the batch consumes
    as it goes (so the set-based path streams a chunk without ever holding it)."""
    rows = iter(rows)
    for first in rows:
        yield chain((first,), islice(rows, size - 1))


def _process_batch(
    *,
    run: SyncRun,
    handlers: list[FeedHandler],
    rows: Iterable[FeedRow],
    set_based: bool = False,
) -> BatchOutcome:
    """Apply one batch and record it with the run's progress, all or nothing."""
    for handler in handlers:
        handler.new_chunk()
    if set_based:
        from omni.sync.services.feed_sql import chunk_apply

        return chunk_apply(run=run, handlers=handlers, rows=rows)
    rows = list(rows)
    outcome = BatchOutcome(read=len(rows))
    rejected: set[int] = set()

    def reject(item: Item, code: str, reason: str) -> None:
        if item.row.line not in rejected:
            rejected.add(item.row.line)
            outcome.rejections.append(Rejection(item.row.line, item.row.raw, code, reason))

    per_handler: list[list[Item]] = [[] for _ in handlers]
    for row in rows:
        if row.data is None:
            outcome.rejections.append(Rejection(row.line, row.raw, "malformed_row", row.error))
            rejected.add(row.line)
            continue
        try:
            values = [handler.clean(row.data) for handler in handlers]
        except RowRejected as exc:
            outcome.rejections.append(Rejection(row.line, row.raw, exc.code, exc.message))
            rejected.add(row.line)
            continue
        for bucket, value in zip(per_handler, values, strict=True):
            bucket.append(Item(row, value))
    cache: dict[str, int | None] = {}
    for handler in handlers:
        handler.variant_cache = cache
        handler.rejected_lines = set()
    per_handler = [
        handler.resolve(items, reject) for handler, items in zip(handlers, per_handler, strict=True)
    ]
    # A row is applied by every handler or by none: drop what any handler rejected.
    per_handler = [[i for i in items if i.row.line not in rejected] for items in per_handler]
    changed: set[int] = set()
    for handler, items in zip(handlers, per_handler, strict=True):
        if not handler.atomic and items:
            changed |= handler.apply(items, outcome)
            rejected |= handler.rejected_lines
    with transaction.atomic():
        for handler, items in zip(handlers, per_handler, strict=True):
            if handler.atomic and items:
                changed |= handler.apply(items, outcome)
        outcome.applied = len(changed - rejected)
        outcome.unchanged = outcome.read - outcome.applied - len(outcome.rejections)
        run_record_batch(run=run, outcome=outcome, last_line=rows[-1].line)
    return outcome


def set_based_supported(kinds: Sequence[str]) -> bool:
    """Stock counts and prices are applied set-based (COPY into a staging table, then a few
    statements per chunk) on PostgreSQL; orders, and any kind on SQLite, row by row."""
    return connection.vendor == "postgresql" and bool(kinds) and set(kinds) <= {"stock", "prices"}


def connector_settings_for(channel: Channel) -> ConnectorSettings:
    settings = ConnectorSettings.objects.filter(channel=channel).first()
    if settings is None:
        # A channel without settings can still be fed files by staff from the command line.
        settings = ConnectorSettings(channel=channel, kind="file_feed")
    return settings


def feed_pull(
    *,
    channel: Channel,
    kinds: Sequence[str],
    source: str | None = None,
    run_key: str | None = None,
    as_of: datetime | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncRun:
    """Read the channel's feed of `kinds` (e.g. ["stock"], ["stock", "prices"]) from `source`
    (default: the connector's configured source) and apply it batch by batch.

    Invariants: a bad row is rejected with its line, raw text and reason, and the rest is
    applied; a row is applied by all `kinds` or by none; each batch commits its effect with
    the run's progress, so the same `run_key` (a redelivered task) resumes after the last
    committed batch and re-reading a feed changes nothing (snapshots no newer than the last
    applied are skipped, prices already set are unchanged, orders are keyed by external id).
    Memory stays flat: the feed is streamed and only one batch is held.
    """
    settings = connector_settings_for(channel)
    connector: Connector = connector_for(settings)
    kinds = list(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in HANDLERS or k not in connector.pulls]
    if not kinds or unknown:
        raise ConnectorError(
            f"Connector {connector.kind} cannot pull {', '.join(unknown) or 'nothing'}.",
            code="pull_unsupported",
            field="kinds",
        )
    if len(kinds) > 1 and "orders" in kinds:
        raise ConnectorError(
            "Orders are pulled from their own feed.", code="pull_unsupported", field="kinds"
        )
    source = source or connector.source_for(kinds[0])
    return feed_apply_rows(
        channel=channel,
        kinds=kinds,
        rows=lambda: connector.open_feed(source),
        source=source,
        run_key=run_key,
        as_of=as_of,
        batch_size=batch_size,
        progress=progress,
        settings=settings,
    )


def feed_apply_rows(
    *,
    channel: Channel,
    kinds: Sequence[str],
    rows: Callable[[], Iterable[FeedRow]],
    source: str,
    run_key: str | None = None,
    as_of: datetime | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
    settings: ConnectorSettings | None = None,
) -> SyncRun:
    """Apply rows (from a feed file or a webhook event) as one recorded run; see feed_pull."""
    settings = settings or connector_settings_for(channel)
    run, resumed = run_start(
        channel=channel,
        kind="+".join(kinds),
        direction=Direction.PULL,
        source=source,
        run_key=run_key,
    )
    if resumed and run.status != RunStatus.RUNNING:
        return run
    options = {"as_of": as_of}
    handlers = [HANDLERS[k](channel=channel, settings=settings, options=options) for k in kinds]
    set_based = set_based_supported(kinds)
    size = batch_size or (django_settings.OMNI_SYNC_FEED_CHUNK_ROWS if set_based else BATCH_SIZE)
    skip_to = run.lines_done
    try:
        remaining = (row for row in rows() if row.line > skip_to)
        for batch in _chunks(remaining, size):
            outcome = _process_batch(run=run, handlers=handlers, rows=batch, set_based=set_based)
            # With DEBUG on Django keeps every query's SQL; a long feed would grow memory with
            # it (thousands of multi-row statements), so forget them batch by batch (unless
            # someone, like a test counting queries, asked for them explicitly).
            if not connection.force_debug_cursor:
                reset_queries()
            if progress:
                progress(outcome.read)
    except FeedUnavailable as exc:
        logger.warning("feed %s of %s unavailable: %s", run.kind, channel.code, exc.code)
        return run_finish(run=run, error=exc.message)
    except Exception as exc:
        run_finish(run=run, error=f"{exc.__class__.__name__}: {exc}")
        raise
    return run_finish(run=run)
