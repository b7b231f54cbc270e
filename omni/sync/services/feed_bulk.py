"""Set-based ingest of stock and price feeds on PostgreSQL.

The feed is streamed and parsed in Python chunk by chunk; each row is validated alone by the
handlers' rules (same codes, same messages; cheap fast paths for the values those rules
certainly accept); the good rows of a chunk are COPied into a temporary staging table and
applied with a fixed number of set-based statements: SKUs joined to variants (unknown ones
rejected in bulk), snapshot marks advanced (older counts dropped), counts applied through
`inventory.services.counts_bulk`, prices through `catalog.services.listing_prices_apply_bulk`,
drifts and rejections recorded, the run's counters and resume point advanced - all in one
transaction per chunk, so a redelivered run resumes after the last committed chunk and a
rerun of the feed changes nothing. Other databases and kinds go through `feeds`' handlers.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, reset_queries, transaction

from catalog import money
from catalog.models import Variant
from inventory.models import StockLocation
from omni.errors import DomainError
from omni.models import Channel
from omni.sync.connectors.base import Connector, _csv_raw, iter_csv_values
from omni.sync.errors import FeedUnavailable, RowRejected
from omni.sync.models import ConnectorSettings, StockDrift, StockSnapshotMark, SyncRun
from omni.sync.services import feeds
from omni.sync.services.runs import BatchOutcome, Rejection, run_finish, run_record_batch

BULK_KINDS = frozenset({"stock", "prices"})
# Rows per chunk (one COPY and one transaction each): large enough that the per-statement
# cost vanishes, small enough that a chunk's buffer and raw lines stay a few megabytes.
CHUNK_ROWS = 20_000
MAX_QUANTITY = 2_147_483_647  # the stock columns are 32-bit integers

STAGE = "sync_feed_stage"
COUNTS = "sync_feed_counts"
PRICES = "sync_feed_prices"

NULL = "\\N"  # COPY's text format for NULL
_COPY_SPECIAL = re.compile(r"[\\\t\n\r\x00]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def bulk_supported(kinds: Sequence[str]) -> bool:
    return bool(kinds) and set(kinds) <= BULK_KINDS and connection.vendor == "postgresql"


def _copy_text(value: str, name: str) -> str:
    """`value` as a field of COPY's text format."""
    if _COPY_SPECIAL.search(value) is None:
        return value
    if "\x00" in value:
        raise RowRejected(f"{name} holds a NUL character.", code="invalid", field=name)
    return value.translate(_COPY_ESCAPES)


class RowCleaner:
    """Validates one row of a stock and/or price feed, by the rules of `feeds.StockHandler`
    and `feeds.PriceHandler` (whose helpers it calls for anything off the fast path, so a
    rejected row gets exactly their code and message). Returns the COPY fields of the row."""

    def __init__(
        self,
        *,
        kinds: Sequence[str],
        channel: Channel,
        settings: ConnectorSettings,
        as_of: datetime | None,
    ):
        self.kinds = list(kinds)
        self.channel = channel
        self.default_location = settings.stock_location
        self.default_as_of = as_of
        self.locations: dict[str, int] = (
            dict(StockLocation.objects.filter(active=True).values_list("code", "id"))
            if "stock" in kinds
            else {}
        )
        digits = money.minor_units(channel.currency)
        fraction = rf"(?:\.\d{{1,{digits}}})?" if digits else ""
        # Certainly accepted by catalog.validation.clean_price: below 1e11, not negative, no
        # more decimals than the currency has.
        self._plain_price = re.compile(rf"\d{{1,11}}{fraction}")
        self._times: dict[str, str] = {}

    def clean(self, data: dict) -> tuple:
        stock = price = None
        for kind in self.kinds:
            if kind == "stock":
                stock = self._stock(data)
            else:
                price = self._price(data)
        sku = stock[0] if stock else price[0]
        return (
            sku,
            stock[1] if stock else "",
            stock[2] if stock else None,
            stock[3] if stock else None,
            stock[4] if stock else None,
            price[1] if price else None,
            price[2] if price else None,
        )

    def _stock(self, data: dict) -> tuple:
        location = data.get("location") or self.default_location
        if not location:
            raise RowRejected("location is required.", code="required", field="location")
        location = str(location).strip()
        sku = feeds._text(data, "sku", max_length=64)
        quantity = data.get("quantity")
        if type(quantity) is str and quantity.isascii() and quantity.isdigit():
            quantity = int(quantity)
        elif type(quantity) is not int or quantity < 0:
            quantity = feeds._count(data, "quantity")
        if quantity > MAX_QUANTITY:
            raise RowRejected(
                f"quantity {quantity} is too large.", code="invalid_quantity", field="quantity"
            )
        value = data.get("as_of")
        as_of = self._times.get(value) if type(value) is str else None
        if as_of is None:
            parsed = feeds._as_of(data, self.default_as_of)
            as_of = parsed.isoformat()
            if type(value) is str:
                # A time once accepted stays accepted (it only gets further in the past).
                self._times[value] = as_of
        return sku, location, self.locations.get(location), quantity, as_of

    def _price(self, data: dict) -> tuple:
        sku = feeds._text(data, "sku", max_length=64)
        price = data.get("price")
        if (
            type(price) is str
            and not data.get("currency")
            and not data.get("compare_at_price")
            and self._plain_price.fullmatch(price)
        ):
            return sku, price, None
        from catalog.validation import clean_compare_at, clean_listing_currency, clean_price

        try:
            currency = clean_listing_currency(
                str(data.get("currency") or "").strip() or None, channel=self.channel
            )
            amount = clean_price(price, currency=currency)
            compare_at = clean_price(
                data.get("compare_at_price") or None,
                currency=currency,
                field="compare_at_price",
                allow_none=True,
            )
            clean_compare_at(amount, compare_at, field="compare_at_price")
        except DomainError as exc:
            raise RowRejected(exc.message, code=exc.code, field=exc.field) from None
        return sku, str(amount), None if compare_at is None else str(compare_at)


@dataclass
class Chunk:
    """The rows of one chunk: the COPY buffer of the good ones, the rejections found in
    Python, and each line's raw source (for rejections found in SQL)."""

    buffer: io.StringIO = field(default_factory=io.StringIO)
    rows: int = 0
    read: int = 0
    last_line: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    raw: dict[int, list[str] | str] = field(default_factory=dict)

    def raw_text(self, line: int) -> str:
        raw = self.raw.get(line, "")
        return raw if isinstance(raw, str) else _csv_raw(raw)


def _records(stream: io.TextIOBase, fmt: str) -> Iterator[tuple[int, dict | None, object, str]]:
    """(line, data or None, raw source, error) per record, as `iter_csv` / `iter_jsonl` read
    them, but with the raw text of a CSV record built only when it is needed."""
    if fmt == "jsonl":
        for number, text in enumerate(stream, start=1):
            line = text.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except ValueError as exc:
                yield number, None, line, f"malformed JSON: {exc.msg}"
                continue
            if not isinstance(value, dict):
                yield number, None, line, "each line must be a JSON object"
                continue
            yield number, value, line, ""
        return
    records = iter_csv_values(stream)
    first = next(records, None)
    if first is None:
        return
    header = first[1]
    width = len(header)
    for line, values, error in records:
        if values is None:
            yield line, None, "", error
        elif len(values) != width:
            yield line, None, values, f"expected {width} fields, found {len(values)}"
        else:
            yield line, dict(zip(header, values, strict=True)), values, ""


class BulkIngest:
    """One run's set-based ingest: the cleaner, and the SQL that applies a chunk."""

    def __init__(self, *, channel: Channel, kinds: Sequence[str], cleaner: RowCleaner):
        self.channel = channel
        self.kinds = list(kinds)
        self.cleaner = cleaner
        self.reference = f"feed {channel.code}"

    def chunks(self, records, *, skip_to: int, size: int) -> Iterator[Chunk]:
        chunk = Chunk()
        clean = self.cleaner.clean
        write = chunk.buffer.write
        for line, data, raw, error in records:
            if line <= skip_to:
                continue
            chunk.read += 1
            chunk.last_line = line
            chunk.raw[line] = raw
            if data is None:
                chunk.rejections.append(
                    Rejection(line, chunk.raw_text(line), "malformed_row", error)
                )
            else:
                try:
                    sku, location, location_id, quantity, as_of, price, compare_at = clean(data)
                    write(
                        f"{line}\t{_copy_text(sku, 'sku')}\t{_copy_text(location, 'location')}"
                        f"\t{NULL if location_id is None else location_id}"
                        f"\t{NULL if quantity is None else quantity}"
                        f"\t{as_of or NULL}\t{price or NULL}\t{compare_at or NULL}\n"
                    )
                    chunk.rows += 1
                except RowRejected as exc:
                    chunk.rejections.append(
                        Rejection(line, chunk.raw_text(line), exc.code, exc.message)
                    )
            if chunk.read >= size:
                yield chunk
                chunk = Chunk()
                write = chunk.buffer.write
        if chunk.read:
            yield chunk

    def apply(self, *, run: SyncRun, chunk: Chunk) -> BatchOutcome:
        """Apply one chunk and record it in the run, in one transaction."""
        from catalog.services import listing_prices_apply_bulk
        from inventory.services.counts_bulk import stock_apply_counts_bulk

        outcome = BatchOutcome(read=chunk.read, rejections=list(chunk.rejections))
        stock, prices = "stock" in self.kinds, "prices" in self.kinds
        with transaction.atomic(), connection.cursor() as cursor:
            _ensure_tables(cursor)
            if chunk.rows:
                chunk.buffer.seek(0)
                cursor.copy_expert(
                    f"COPY {STAGE} (line, sku, location, location_id, quantity, as_of, price, "
                    "compare_at) FROM STDIN",
                    chunk.buffer,
                )
                cursor.execute(f"ANALYZE {STAGE}")
                cursor.execute(
                    f"UPDATE {STAGE} s SET variant_id = v.id FROM {Variant._meta.db_table} v "
                    "WHERE v.sku = s.sku"
                )
                missing_location = "OR location_id IS NULL" if stock else ""
                cursor.execute(
                    f"DELETE FROM {STAGE} WHERE variant_id IS NULL {missing_location} "
                    "RETURNING line, sku, location, variant_id IS NULL"
                )
                for line, sku, location, unknown_sku in sorted(cursor.fetchall()):
                    code, reason = (
                        ("unknown_sku", f"Unknown SKU {sku}.")
                        if unknown_sku
                        else ("unknown_location", f"Unknown location {location}.")
                    )
                    outcome.rejections.append(Rejection(line, chunk.raw_text(line), code, reason))
            applied = 0
            if chunk.rows:
                changed_lines = []
                results = self._apply_stock(cursor, run, stock_apply_counts_bulk) if stock else None
                if results:
                    changed_lines.append(
                        f"SELECT c.line FROM {COUNTS} c JOIN {results} r "
                        "ON r.variant_id = c.variant_id AND r.location_id = c.location_id "
                        "WHERE r.on_hand_after <> r.on_hand_before"
                    )
                if prices:
                    cursor.execute(
                        f"INSERT INTO {PRICES} (line, variant_id, price, compare_at_price) "
                        f"SELECT DISTINCT ON (variant_id) line, variant_id, price, compare_at "
                        f"FROM {STAGE} ORDER BY variant_id, line DESC"
                    )
                    changes, _ = listing_prices_apply_bulk(
                        channel=self.channel, prices_table=PRICES
                    )
                    changed_lines.append(
                        f"SELECT p.line FROM {PRICES} p JOIN {changes} ch "
                        "ON ch.variant_id = p.variant_id"
                    )
                if changed_lines:
                    cursor.execute(
                        f"SELECT count(*) FROM ({' UNION '.join(changed_lines)}) changed_lines"
                    )
                    applied = cursor.fetchone()[0]
            outcome.applied = applied
            outcome.unchanged = outcome.read - applied - len(outcome.rejections)
            outcome.rejections.sort(key=lambda r: r.line)
            run_record_batch(run=run, outcome=outcome, last_line=chunk.last_line)
        return outcome

    def _apply_stock(self, cursor, run: SyncRun, apply_counts: Callable) -> str | None:
        """Keep the newest count per (variant, location) of the chunk (a later line wins a
        tie), advance the snapshot marks (the upsert locks each mark row, in (variant,
        location) order, so racing feeds serialise), apply the counts whose mark moved, and
        record their drifts. Returns the results table of the counts (None: none applied)."""
        marks = StockSnapshotMark._meta.db_table
        cursor.execute(
            f"WITH newest AS ("
            f"  SELECT DISTINCT ON (variant_id, location_id) line, variant_id, location_id, "
            f"    quantity, as_of FROM {STAGE} "
            "   ORDER BY variant_id, location_id, as_of DESC, line DESC), "
            "moved AS ("
            f"  INSERT INTO {marks} AS m (variant_id, location_id, as_of) "
            "   SELECT variant_id, location_id, as_of FROM newest "
            "   ORDER BY variant_id, location_id "
            "   ON CONFLICT (variant_id, location_id) DO UPDATE SET as_of = excluded.as_of "
            "   WHERE m.as_of < excluded.as_of "
            "   RETURNING m.variant_id, m.location_id) "
            f"INSERT INTO {COUNTS} (line, variant_id, location_id, quantity, as_of) "
            "SELECT n.line, n.variant_id, n.location_id, n.quantity, n.as_of "
            "FROM newest n JOIN moved ON moved.variant_id = n.variant_id "
            "  AND moved.location_id = n.location_id"
        )
        if not cursor.rowcount:
            return None  # every count is older than one already applied
        cursor.execute(f"ANALYZE {COUNTS}")
        results, _ = apply_counts(counts_table=COUNTS, reference=self.reference)
        cursor.execute(
            f"INSERT INTO {StockDrift._meta.db_table} "
            "(run_id, sku, location, counted, expected, drift) "
            "SELECT %s, s.sku, s.location, r.counted, r.expected, r.counted - r.expected "
            f"FROM {results} r JOIN {COUNTS} c "
            "  ON c.variant_id = r.variant_id AND c.location_id = r.location_id "
            f"JOIN {STAGE} s ON s.line = c.line "
            "WHERE r.counted <> r.expected ORDER BY s.sku, s.location",
            [run.pk],
        )
        return results


def _ensure_tables(cursor) -> None:
    """The session's staging tables (temporary, emptied at commit and at each chunk)."""
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} (line integer, sku text, "
        "location text, location_id bigint, quantity integer, as_of timestamptz, "
        "price numeric(14, 3), compare_at numeric(14, 3), variant_id bigint) "
        "ON COMMIT DELETE ROWS"
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {COUNTS} (line integer, variant_id bigint, "
        "location_id bigint, quantity integer, as_of timestamptz) ON COMMIT DELETE ROWS"
    )
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {PRICES} (line integer, variant_id bigint, "
        "price numeric(14, 3), compare_at_price numeric(14, 3)) ON COMMIT DELETE ROWS"
    )
    cursor.execute(f"TRUNCATE {STAGE}, {COUNTS}, {PRICES}")


def feed_ingest_bulk(
    *,
    run: SyncRun,
    channel: Channel,
    settings: ConnectorSettings,
    connector: Connector,
    kinds: Sequence[str],
    source: str,
    as_of: datetime | None = None,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncRun:
    """Apply a stock and/or price feed set-based (see the module); the run is open already.
    Same contract as `feeds.feed_apply_rows`."""
    cleaner = RowCleaner(kinds=kinds, channel=channel, settings=settings, as_of=as_of)
    ingest = BulkIngest(channel=channel, kinds=kinds, cleaner=cleaner)
    try:
        with connector.open_text(source) as (stream, fmt):
            chunks = ingest.chunks(
                _records(stream, fmt), skip_to=run.lines_done, size=batch_size or CHUNK_ROWS
            )
            for chunk in chunks:
                # Through `feeds._process_batch`, the one place a chunk commits.
                feeds._process_batch(run=run, handlers=ingest, rows=chunk)
                if not connection.force_debug_cursor:
                    reset_queries()
                if progress:
                    progress(chunk.read)
    except FeedUnavailable as exc:
        feeds.logger.warning("feed %s of %s unavailable: %s", run.kind, channel.code, exc.code)
        return run_finish(run=run, error=exc.message)
    except Exception as exc:
        run_finish(run=run, error=f"{exc.__class__.__name__}: {exc}")
        raise
    return run_finish(run=run)
