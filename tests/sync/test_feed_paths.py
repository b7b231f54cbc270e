"""The two ways a stock-and-price feed is applied: set-based on PostgreSQL (COPY into a
staging table, a few statements per chunk) and row by row (SQLite, orders). Both validate
with the same rules and must leave exactly the same state and run records."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest

from catalog.models import ChannelProduct, Listing
from inventory.models import (
    AvailabilityChange,
    AvailabilityMark,
    ChannelLocation,
    MovementReason,
    Stock,
    StockMovement,
)
from inventory.services.outbox import availability_outbox_drain
from omni.sync.models import StockDrift, StockSnapshotMark, SyncRejection, SyncRun
from omni.sync.services import feed_sql, feeds
from omni.sync.services.feeds import feed_pull
from tests.catalog.factories import ListingFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def mixed_feed(tmp_path, t0) -> str:
    """Good rows, every kind of bad row, a count superseded in a later chunk by an older one
    and by a newer one, and a quoted field."""
    older, newer = t0 - timedelta(minutes=10), t0 + timedelta(minutes=1)
    lines = [
        "sku,location,quantity,price,compare_at_price,as_of",
        f"A-1,wh,5,9.99,,{t0.isoformat()}",  # 2 good
        f"NOPE,wh,5,1.00,,{t0.isoformat()}",  # 3 unknown SKU
        f"B-2,wh,-3,2.00,,{t0.isoformat()}",  # 4 negative count
        "C-3,wh,7",  # 5 malformed
        f"C-3,nowhere,7,3.00,,{t0.isoformat()}",  # 6 unknown location
        f"B-2,wh,abc,2.00,,{t0.isoformat()}",  # 7 not a number
        "C-3,wh,4,3.00,,yesterday",  # 8 not a time
        f"B-2,wh,9,2.001,,{t0.isoformat()}",  # 9 price precision
        f"B-2,wh,9,2.00,3.00,{t0.isoformat()}",  # 10 good (price already set)
        f"A-1,wh,6,9.99,,{older.isoformat()}",  # 11 older than line 2: skipped
        f'C-3,wh,2,"1,50",,{t0.isoformat()}',  # 12 bad price, quoted
        f"C-3,wh,1,4.00,,{t0.isoformat()}",  # 13 good, below reserved
        f"A-1,wh,8,10.50,,{newer.isoformat()}",  # 14 newer than line 2
        f"A-1,wh,8,10.50,,{newer.isoformat()}",  # 15 the same again: unchanged
    ]
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def state(run) -> dict:
    def rows(queryset, *fields):
        return sorted(queryset.values_list(*fields))

    run.refresh_from_db()
    # Which stock rows changed (the outbox marks), then what the drain publishes from them.
    changed = sorted(AvailabilityMark.objects.values_list("variant_id", "location_id"))
    availability_outbox_drain()
    return {
        "changed": changed,
        "run": (
            run.status,
            run.rows_read,
            run.rows_applied,
            run.rows_unchanged,
            run.rows_rejected,
            run.lines_done,
        ),
        "rejections": rows(SyncRejection.objects.filter(run=run), "line", "code", "reason", "raw"),
        "drifts": rows(
            StockDrift.objects.filter(run=run), "sku", "location", "counted", "expected", "drift"
        ),
        "stock": rows(Stock.objects, "variant__sku", "on_hand", "reserved", "needs_count"),
        "ledger": Counter(
            StockMovement.objects.values_list(
                "stock__variant__sku", "reason", "quantity", "reference", "note"
            )
        ),
        "prices": rows(
            Listing.objects, "variant__sku", "price", "compare_at_price", "currency", "published"
        ),
        "marks": rows(StockSnapshotMark.objects, "variant__sku", "as_of"),
        "availability": Counter(
            AvailabilityChange.objects.values_list("variant__sku", "channel_id", "available")
        ),
        "storefront": rows(ChannelProduct.objects, "product_id", "price_from", "price_to"),
    }


def build_scene(market, warehouse, skus, t0) -> None:
    """A channel selling from the warehouse; A-1 with a receipt before the counts and a sale
    after them; C-3 with units reserved; B-2 already priced."""
    ChannelLocation.objects.get_or_create(channel=market, location=warehouse)
    a1 = Stock.objects.create(variant=skus["A-1"], location=warehouse, on_hand=10)
    receipt = StockMovement.objects.create(stock=a1, reason=MovementReason.RECEIPT, quantity=12)
    StockMovement.objects.filter(pk=receipt.pk).update(created_at=t0 - timedelta(hours=1))
    StockMovement.objects.create(stock=a1, reason=MovementReason.SALE, quantity=-2)
    c3 = Stock.objects.create(variant=skus["C-3"], location=warehouse, on_hand=5, reserved=2)
    StockMovement.objects.filter(
        pk=StockMovement.objects.create(stock=c3, reason=MovementReason.RECEIPT, quantity=5).pk
    ).update(created_at=t0 - timedelta(hours=1))
    ListingFactory(
        variant=skus["B-2"], channel=market, price=Decimal("2.00"), compare_at_price=Decimal("3")
    )


def clear_scene() -> None:
    for model in (
        SyncRun,
        StockSnapshotMark,
        AvailabilityChange,
        AvailabilityMark,
        StockMovement,
        Stock,
        ChannelProduct,
        Listing,
    ):
        model.objects.all().delete()


def applied(tmp_path, market, t0, *, set_based: bool, monkeypatch) -> tuple[dict, int]:
    """Pull the mixed feed (4 rows per batch) twice with one path; return the state after the
    first pull with the second run's counters, and how many set-based chunks ran."""
    chunks = {"n": 0}
    real = feed_sql.chunk_apply

    def counting(**kwargs):
        chunks["n"] += 1
        return real(**kwargs)

    monkeypatch.setattr(feed_sql, "chunk_apply", counting)
    monkeypatch.setattr(feeds, "set_based_supported", lambda kinds: set_based)
    path = mixed_feed(tmp_path, t0)
    run = feed_pull(channel=market, kinds=["stock", "prices"], source=path, batch_size=4)
    captured = state(run)
    again = feed_pull(channel=market, kinds=["stock", "prices"], source=path, batch_size=4)
    captured["rerun"] = (again.rows_applied, again.rows_unchanged, again.rows_rejected)
    after = state(again)
    captured["rerun_changed"] = sorted(
        key for key in ("stock", "ledger", "prices", "marks") if after[key] != captured[key]
    )
    return captured, chunks["n"]


@pytest.fixture
def t0():
    from django.utils import timezone

    return timezone.now() - timedelta(hours=1)


def test_set_based_and_row_by_row_paths_leave_the_same_state(
    tmp_path, market, connector, warehouse, skus, t0, monkeypatch
):
    build_scene(market, warehouse, skus, t0)
    set_based, chunks = applied(tmp_path, market, t0, set_based=True, monkeypatch=monkeypatch)
    clear_scene()
    build_scene(market, warehouse, skus, t0)
    row_by_row, no_chunks = applied(tmp_path, market, t0, set_based=False, monkeypatch=monkeypatch)

    assert (chunks, no_chunks) == (8, 0)  # 2 pulls of 14 rows, 4 per chunk; the other: none
    assert set_based == row_by_row
    # And the state itself is the intended one, not merely the same mistake twice.
    # Applied: lines 2, 10, 13 and 15 (line 14 is the same count and price as line 15, which
    # wins within its chunk); unchanged: 11 (older than line 2) and 14.
    assert set_based["run"] == ("partial", 14, 4, 2, 8, 15)
    assert [(line, code) for line, code, *_ in set_based["rejections"]] == [
        (3, "unknown_sku"),
        (4, "negative_quantity"),
        (5, "malformed_row"),
        (6, "unknown_location"),
        (7, "invalid_quantity"),
        (8, "invalid_time"),
        (9, "price_precision"),
        (12, "invalid_price"),
    ]
    assert set_based["rejections"][-1][3] == f'C-3,wh,2,"1,50",,{t0.isoformat()}'
    stock = {sku: rest for sku, *rest in set_based["stock"]}
    # counted 5 at t0 plus the later sale (-2) = 3, then 8 at t0+1min less the sale = 6;
    # C-3: counted 1, floored at its 2 reserved units and flagged for a count.
    assert stock == {"A-1": [6, 0, False], "B-2": [9, 0, False], "C-3": [2, 2, True]}
    newer = f"snapshot@{(t0 + timedelta(minutes=1)).isoformat()}"
    assert set_based["ledger"][("A-1", "count_correction", 3, newer, "count 8 feed market")] == 1
    assert set_based["drifts"] == [
        ("A-1", "wh", 5, 12, -7),
        ("A-1", "wh", 8, 5, 3),
        ("B-2", "wh", 9, 0, 9),
        ("C-3", "wh", 1, 5, -4),
    ]
    assert set_based["prices"] == [
        ("A-1", Decimal("10.500"), None, "USD", True),
        ("B-2", Decimal("2.000"), Decimal("3.000"), "USD", True),
        ("C-3", Decimal("4.000"), None, "USD", True),
    ]
    # One event per changed (variant, channel), with its available-to-sell after the feed.
    assert sorted((sku, available) for sku, _, available in set_based["availability"]) == [
        ("A-1", 6),
        ("B-2", 9),
        ("C-3", 0),
    ]
    # Rerun: no count is newer than its mark; A-1's price of line 2 differs from the 10.50 of
    # line 15 in a later chunk, so both are written again on the way to the same end state.
    assert set_based["rerun"] == (2, 4, 8)
    assert set_based["rerun_changed"] == []


def test_set_based_chunk_size_comes_from_the_setting(
    tmp_path, market, connector, warehouse, skus, t0, settings, monkeypatch
):
    settings.OMNI_SYNC_FEED_CHUNK_ROWS = 2
    calls = []
    real = feeds._process_batch

    def recording(**kwargs):
        outcome = real(**kwargs)
        calls.append((kwargs["set_based"], outcome.read))
        return outcome

    monkeypatch.setattr(feeds, "_process_batch", recording)
    path = tmp_path / "stock.csv"
    path.write_text(
        "sku,quantity,as_of\n"
        + "".join(f"{sku},{n},{t0.isoformat()}\n" for n, sku in enumerate(["A-1", "B-2", "C-3"]))
    )

    run = feed_pull(channel=market, kinds=["stock"], source=str(path))

    assert calls == [(True, 2), (True, 1)]
    assert (run.rows_read, run.rows_applied, run.lines_done) == (3, 2, 4)  # A-1 counted 0
