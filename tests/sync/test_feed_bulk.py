"""The set-based (COPY) ingest of stock and price feeds on PostgreSQL: mixed rows in one
combined feed, reruns, older snapshots, counts below reserved, one availability event per
changed (variant, channel), chunks committed with the run's progress."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from catalog.models import ChannelProduct, Listing
from inventory.models import (
    AvailabilityChange,
    ChannelLocation,
    MovementReason,
    Stock,
    StockMovement,
)
from omni.sync.models import StockDrift, SyncRejection
from omni.sync.services import feed_bulk
from omni.sync.services.feeds import feed_pull
from tests.sync.factories import StockLocationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_the_bulk_path_is_taken_for_stock_and_prices_on_postgresql():
    assert feed_bulk.bulk_supported(["stock", "prices"])
    assert not feed_bulk.bulk_supported(["orders"])


def test_combined_feed_in_chunks_applies_good_rows_rejects_bad_ones_and_a_rerun_changes_nothing(
    tmp_path, market, connector, warehouse, skus
):
    t0 = (timezone.now() - timedelta(minutes=30)).isoformat()
    path = write(
        tmp_path,
        "feed.csv",
        "sku,location,quantity,price,as_of\n"
        f"A-1,wh,5,9.99,{t0}\n"
        f"NOPE,wh,5,1.00,{t0}\n"
        f"B-2,wh,-1,1.00,{t0}\n"
        f"B-2,wh,99999999999,1.00,{t0}\n"
        f"C-3,wh,3,1.001,{t0}\n"
        f"C-3,elsewhere,3,1.00,{t0}\n"
        "C-3,wh\n"
        f'"B\\2\t",wh,1,1.00,{t0}\n'
        f"B-2,wh,4,2.50,{t0}\n"
        f"B-2,wh,6,2.75,{t0}\n",
    )

    run = feed_pull(channel=market, kinds=["stock", "prices"], source=path, batch_size=4)
    movements = StockMovement.objects.count()
    again = feed_pull(channel=market, kinds=["stock", "prices"], source=path, batch_size=4)

    codes = dict(SyncRejection.objects.filter(run=run).values_list("line", "code"))
    assert codes == {
        3: "unknown_sku",
        4: "negative_quantity",
        5: "invalid_quantity",
        6: "price_precision",
        7: "unknown_location",
        8: "malformed_row",
        9: "unknown_sku",
    }
    assert SyncRejection.objects.get(run=run, line=3).raw == f"NOPE,wh,5,1.00,{t0}"
    # Lines 10 and 11 count B-2 at the same time: the later line wins, the other is unchanged.
    assert (run.rows_read, run.rows_applied, run.rows_unchanged, run.rows_rejected) == (
        10,
        2,
        1,
        7,
    )
    stock = dict(Stock.objects.values_list("variant__sku", "on_hand"))
    assert stock == {"A-1": 5, "B-2": 6}
    prices = dict(Listing.objects.filter(channel=market).values_list("variant__sku", "price"))
    assert prices == {"A-1": Decimal("9.99"), "B-2": Decimal("2.75")}
    assert ChannelProduct.objects.filter(channel=market).count() == 2
    assert dict(StockDrift.objects.filter(run=run).values_list("sku", "drift")) == {
        "A-1": 5,
        "B-2": 6,
    }
    assert (again.rows_applied, again.rows_unchanged, again.rows_rejected) == (0, 3, 7)
    assert StockMovement.objects.count() == movements


def test_older_snapshot_is_ignored_and_a_count_below_reserved_floors_and_flags(
    tmp_path, market, connector, warehouse, skus
):
    now = timezone.now()
    stock = Stock.objects.create(variant=skus["A-1"], location=warehouse, on_hand=5, reserved=4)
    receipt = StockMovement.objects.create(stock=stock, reason=MovementReason.RECEIPT, quantity=5)
    StockMovement.objects.filter(pk=receipt.pk).update(created_at=now - timedelta(hours=2))
    newer = (now - timedelta(minutes=10)).isoformat()
    older = (now - timedelta(minutes=40)).isoformat()

    low = feed_pull(
        channel=market,
        kinds=["stock"],
        source=write(tmp_path, "a.csv", f"sku,quantity,as_of\nA-1,1,{newer}\nB-2,8,{newer}\n"),
    )
    late = feed_pull(
        channel=market,
        kinds=["stock"],
        source=write(tmp_path, "b.csv", f"sku,quantity,as_of\nA-1,50,{older}\nB-2,1,{older}\n"),
    )

    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.needs_count) == (4, 4, True)
    assert StockDrift.objects.get(run=low, sku="A-1").drift == -4
    assert (late.rows_applied, late.rows_unchanged) == (0, 2)
    assert Stock.objects.get(variant=skus["B-2"]).on_hand == 8
    for row in Stock.objects.all():
        assert row.movements.aggregate(s=Sum("quantity"))["s"] == row.on_hand
    correction = StockMovement.objects.get(stock=stock, reason=MovementReason.COUNT_CORRECTION)
    assert correction.quantity == -1
    assert correction.reference.startswith("snapshot@")
    assert correction.note == f"count 1 feed {market.code}"


def test_count_after_movements_booked_later_and_one_event_per_changed_variant_and_channel(
    tmp_path, market, connector, warehouse, skus
):
    store = StockLocationFactory(code="store")
    ChannelLocation.objects.create(channel=market, location=warehouse, priority=0)
    ChannelLocation.objects.create(channel=market, location=store, priority=1)
    as_of = (timezone.now() - timedelta(minutes=5)).isoformat()
    # A-1 counted at two locations of the same channel: one event for (A-1, market).
    path = write(
        tmp_path,
        "stock.csv",
        f"sku,location,quantity,as_of\nA-1,wh,3,{as_of}\nA-1,store,2,{as_of}\nB-2,wh,0,{as_of}\n",
    )

    feed_pull(channel=market, kinds=["stock"], source=path)

    events = list(AvailabilityChange.objects.values_list("variant_id", "channel_id", "available"))
    assert len(events) == 1
    variant_id, channel_id, available = events[0]
    assert (variant_id, channel_id) == (skus["A-1"].pk, market.pk)
    assert available == max(0, 5 - market.safety_stock)
