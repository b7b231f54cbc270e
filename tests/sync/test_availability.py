"""Available-to-sell pushes: coalescing of change events, skipping unchanged values, the
nightly full push, and nothing pushed twice when a task is redelivered."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omni.sync.models import AvailabilityPending, AvailabilityPushed, OutboundMessage, SyncRun
from omni.sync.services.availability import (
    availability_changes_record,
    availability_push_due,
    availability_push_full,
)
from tests.catalog.factories import ListingFactory

pytestmark = pytest.mark.django_db


def test_many_changes_to_one_sku_in_the_window_send_one_push_with_the_latest_value(
    market, connector, skus, django_capture_on_commit_callbacks
):
    a, b = skus["A-1"].pk, skus["B-2"].pk
    start = timezone.now()
    with django_capture_on_commit_callbacks():
        for value in (5, 4, 3, 2):
            availability_changes_record(latest={(a, market.pk): value}, now=start)
        availability_changes_record(latest={(b, market.pk): 9}, now=start + timedelta(seconds=10))

    assert AvailabilityPending.objects.count() == 2
    assert availability_push_due(now=start + timedelta(seconds=29)) == 0  # window still open

    assert availability_push_due(now=start + timedelta(seconds=31)) == 1
    message = OutboundMessage.objects.get()
    assert message.kind == "availability"
    assert message.payload["items"] == [{"sku": "A-1", "available": 2}]
    assert availability_push_due(now=start + timedelta(seconds=41)) == 1
    assert OutboundMessage.objects.count() == 2
    assert not AvailabilityPending.objects.exists()


def test_a_value_equal_to_the_last_pushed_is_not_pushed_again(market, connector, skus):
    a = skus["A-1"].pk
    now = timezone.now()
    availability_changes_record(latest={(a, market.pk): 5}, now=now)
    availability_push_due(now=now + timedelta(minutes=1))
    availability_changes_record(latest={(a, market.pk): 5}, now=now + timedelta(minutes=2))

    assert availability_push_due(now=now + timedelta(minutes=5)) == 0
    assert OutboundMessage.objects.count() == 1
    assert AvailabilityPushed.objects.get().available == 5


def test_changes_for_channels_without_availability_push_are_ignored(
    market, connector, skus, make_channel
):
    other = make_channel("quiet")
    connector.push_kinds = ["order_status"]
    connector.save(update_fields=["push_kinds"])

    written = availability_changes_record(
        latest={(skus["A-1"].pk, market.pk): 1, (skus["A-1"].pk, other.pk): 1}
    )

    assert written == 0
    assert not AvailabilityPending.objects.exists()


def test_full_push_sends_every_published_listing_and_a_rerun_of_the_task_adds_nothing(
    market, connector, skus, fake_availability
):
    for sku in ("A-1", "B-2"):
        ListingFactory(variant=skus[sku], channel=market)
    ListingFactory(variant=skus["C-3"], channel=market, published=False)
    fake_availability.values[(market.pk, skus["A-1"].pk)] = 7

    run = availability_push_full(channel=market, run_key="nightly-1")
    again = availability_push_full(channel=market, run_key="nightly-1")

    assert again.pk == run.pk
    assert (run.direction, run.status, run.rows_applied) == ("push", "succeeded", 2)
    message = OutboundMessage.objects.get()
    assert message.payload["items"] == [
        {"sku": "A-1", "available": 7},
        {"sku": "B-2", "available": 0},
    ]
    assert SyncRun.objects.filter(direction="push").count() == 1


def test_full_push_for_a_channel_that_cannot_push_fails_the_run(market, connector, skus):
    connector.kind = "file_feed"
    connector.push_kinds = []
    connector.save(update_fields=["kind", "push_kinds"])

    run = availability_push_full(channel=market)

    assert run.status == "failed"
    assert "does not push availability" in run.error


def test_a_stock_count_reaches_the_coalesced_push_through_inventorys_outbox(
    tmp_path, market, connector, warehouse, skus, django_capture_on_commit_callbacks
):
    from inventory.models import AvailabilityMark, ChannelLocation
    from inventory.services import availability_outbox_drain
    from omni.sync.services.feeds import feed_pull

    ChannelLocation.objects.create(channel=market, location=warehouse, priority=0)
    as_of = (timezone.now() - timedelta(minutes=5)).isoformat()
    path = tmp_path / "stock.csv"
    path.write_text(f"sku,quantity,as_of\nA-1,6,{as_of}\nA-1,7,{as_of}\n")
    feed_pull(channel=market, kinds=["stock"], source=str(path))
    assert AvailabilityMark.objects.filter(variant=skus["A-1"], location=warehouse).exists()

    with django_capture_on_commit_callbacks():
        availability_outbox_drain()

    pending = AvailabilityPending.objects.get()
    assert (pending.variant_id, pending.channel_id) == (skus["A-1"].pk, market.pk)
    assert pending.available == 7 - market.safety_stock
    assert availability_push_due(now=timezone.now() + timedelta(minutes=1)) == 1
    assert OutboundMessage.objects.get().payload["items"] == [
        {"sku": "A-1", "available": pending.available}
    ]
