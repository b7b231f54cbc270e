"""Available-to-sell changes leave through the outbox after commit, once per (variant, channel);
cart holds expire; the catalog port and beat schedule are wired."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from celery._state import task_join_will_block
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from catalog.availability import availability_provider
from catalog.models import Variant
from inventory.events import register_availability_listener, unregister_availability_listener
from inventory.models import (
    AvailabilityChange,
    AvailabilityMark,
    Reservation,
    ReservationKind,
    Stock,
)
from inventory.providers import StockAvailabilityProvider
from inventory.services import (
    StockRequest,
    availability_outbox_drain,
    cart_hold_place,
    cart_holds_expire,
    record_availability_changes,
    reservation_commit,
    reservation_release,
    stock_reserve,
)
from inventory.tasks import availability_outbox_drain_task
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import ChannelLocationFactory


@pytest.fixture
def published():
    seen = []
    register_availability_listener(seen.append)
    yield seen
    unregister_availability_listener(seen.append)


@pytest.mark.django_db(transaction=True)
def test_changes_publish_after_commit_once_per_variant_and_channel(
    selling_channel, variant, store, warehouse, receive, published, monkeypatch
):
    from omni.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    kicks = []
    original = availability_outbox_drain_task.apply
    monkeypatch.setattr(
        availability_outbox_drain_task, "apply", lambda: kicks.append(1) or original()
    )
    receive(variant, store, 5)
    receive(variant, warehouse, 5)
    assert len(kicks) == 2  # one per committed receipt
    published.clear()
    with transaction.atomic():
        stock_reserve(
            channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="A"
        )
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, warehouse.pk, 2)],
            reference="B",
        )
        assert published == []  # nothing leaves before the commit
    assert len(kicks) == 3  # one kick for the whole transaction
    assert published == [{(variant.pk, selling_channel.pk): 7}]
    assert not AvailabilityMark.objects.exists()
    assert availability_outbox_drain() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_eager_drains_after_concurrent_commits_publish_all_and_leave_celery_joinable(
    selling_channel, variant, store, receive, published, monkeypatch
):
    """Without a broker every commit's drain runs in the committing thread; threads committing
    at once must not leave Celery's process-wide "joining would block" flag set (eager
    `.delay()` does: its save/restore of the flag races), or a later `result.get()` fails."""
    from omni.celery import app
    from omni.tasks import ping_task

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    receive(variant, store, 100)
    published.clear()
    threads = 8
    barrier = threading.Barrier(threads)

    def checkout(index):
        try:
            barrier.wait()
            stock_reserve(
                channel=selling_channel,
                requests=[StockRequest(variant.pk, store.pk, 1)],
                reference=f"T{index}",
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(checkout, range(threads)))

    assert not task_join_will_block()
    assert ping_task.delay("x").get(timeout=1) == "pong:x"
    # Every change left through a drain after its commit, the last one with the final figure.
    assert AvailabilityChange.objects.count() >= 1
    assert not AvailabilityMark.objects.exists()  # every mark was drained after its commit
    last = AvailabilityChange.objects.order_by("pk").last()
    key = (variant.pk, selling_channel.pk)
    assert (
        last.available
        == availability_provider().available_to_sell(
            channel=selling_channel, variant_ids=[variant.pk]
        )[variant.pk]
    )
    assert last.available in [event[key] for event in published if key in event]


def test_rolled_back_change_leaves_no_event(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    AvailabilityMark.objects.all().delete()
    AvailabilityChange.objects.all().delete()
    with pytest.raises(RuntimeError), transaction.atomic():
        stock_reserve(
            channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="A"
        )
        raise RuntimeError("checkout failed later")
    assert not AvailabilityMark.objects.exists()
    assert not AvailabilityChange.objects.exists()
    assert Stock.objects.get().reserved == 0


def test_commit_of_a_reservation_changes_no_availability(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    (reservation,) = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 2)], reference="A"
    )
    before = AvailabilityMark.objects.count()
    reservation_commit(reservation=reservation, quantity=2, reference="SHIP")
    assert AvailabilityMark.objects.count() == before


def test_drain_publishes_the_current_value_once_per_changed_variant_and_channel(
    selling_channel, make_channel, variant, store, warehouse, receive, published
):
    buffered = make_channel("market", safety_stock=2)
    ChannelLocationFactory(channel=buffered, location=warehouse)
    receive(variant, store, 10)
    receive(variant, warehouse, 10)
    availability_outbox_drain()
    assert published == [{(variant.pk, selling_channel.pk): 20, (variant.pk, buffered.pk): 8}]
    published.clear()
    # Two transactions at two locations: the drain sees both, and the buffered channel, which
    # does not sell from the store, is looked at only for the warehouse's change.
    with transaction.atomic():
        stock_reserve(
            channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="A"
        )
    with transaction.atomic():
        stock_reserve(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, warehouse.pk, 2)],
            reference="B",
        )
    assert AvailabilityMark.objects.count() == 2
    assert availability_outbox_drain() == 2
    assert published == [{(variant.pk, selling_channel.pk): 17, (variant.pk, buffered.pk): 6}]
    assert list(
        AvailabilityChange.objects.order_by("-pk")[:2].values_list("channel_id", "available")
    ) == [(buffered.pk, 6), (selling_channel.pk, 17)]
    assert not AvailabilityMark.objects.exists()


def test_drain_publishes_nothing_when_the_value_is_back_to_the_last_published(
    selling_channel, variant, store, receive, published
):
    receive(variant, store, 5)
    availability_outbox_drain()
    published.clear()
    reservations = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 2)], reference="A"
    )
    reservation_release(reservations=reservations)
    assert AvailabilityMark.objects.count() == 2
    assert availability_outbox_drain() == 2
    assert published == []
    stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="B"
    )
    availability_outbox_drain()
    assert published == [{(variant.pk, selling_channel.pk): 4}]


def test_recorded_changes_are_drained_in_batches_with_one_event_per_pair(
    selling_channel, variant, store, warehouse, receive, published
):
    receive(variant, store, 5)
    availability_outbox_drain()
    published.clear()
    with transaction.atomic():
        # What a caller moving counters itself (e.g. a bulk count) does: it applies the
        # changes, then records them.
        stocks = Stock.objects.filter(variant=variant, location=store)
        stocks.update(on_hand=F("on_hand") - 3)
        assert record_availability_changes({(variant.pk, store.pk): -3}) == 1
        stocks.update(on_hand=F("on_hand") + 1)
        assert record_availability_changes({(variant.pk, store.pk): 1, (variant.pk, 0): 0}) == 1
        assert record_availability_changes({(variant.pk, warehouse.pk): 0}) == 0
    assert availability_outbox_drain(batch_size=1) == 2
    assert published == [{(variant.pk, selling_channel.pk): 3}]


def test_inactive_channel_gets_no_event(selling_channel, variant, store, receive, published):
    selling_channel.active = False
    selling_channel.save(update_fields=["active"])
    receive(variant, store, 5)
    assert availability_outbox_drain() == 1
    assert published == []
    assert not AvailabilityChange.objects.exists()


def test_expired_cart_holds_are_released_and_order_reservations_kept(
    selling_channel, variant, store, receive
):
    receive(variant, store, 5)
    soon = timezone.now() + timedelta(minutes=15)
    cart_hold_place(
        channel=selling_channel,
        requests=[StockRequest(variant.pk, store.pk, 2)],
        reference="cart-1",
        expires_at=soon,
    )
    stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="O"
    )
    assert cart_holds_expire() == 0
    assert cart_holds_expire(now=soon + timedelta(seconds=1)) == 1
    assert list(Reservation.objects.values_list("kind", "quantity")) == [(ReservationKind.ORDER, 1)]
    assert Stock.objects.get().reserved == 1


def test_cart_hold_must_expire_in_the_future(selling_channel, variant, store, receive):
    receive(variant, store, 5)
    with pytest.raises(Exception) as exc:
        cart_hold_place(
            channel=selling_channel,
            requests=[StockRequest(variant.pk, store.pk, 1)],
            reference="cart",
            expires_at=timezone.now() - timedelta(seconds=1),
        )
    assert exc.value.code == "invalid_quantity"
    assert exc.value.field == "expires_at"


def test_cart_hold_beat_task_is_scheduled():
    from omni.celery import app

    entries = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert {"inventory.cart_holds_expire", "inventory.low_stock_scan"} <= entries


def test_catalog_port_is_served_by_inventory(make_channel, warehouse, receive):
    assert isinstance(availability_provider(), StockAvailabilityProvider)
    shop = make_channel("shop", safety_stock=1, availability_share=50)
    ChannelLocationFactory(channel=shop, location=warehouse)
    plenty, scarce, none = (VariantFactory() for _ in range(3))
    receive(plenty, warehouse, 10)  # 50% of 10 = 5, less 1 = 4
    receive(scarce, warehouse, 3)  # 50% of 3 = 1, less 1 = 0
    provider = availability_provider()
    assert provider.available_to_sell(
        channel=shop, variant_ids=[plenty.pk, scarce.pk, none.pk]
    ) == {plenty.pk: 4, scarce.pk: 0, none.pk: 0}
    in_stock = Variant.objects.filter(provider.in_stock_variants_q(channel=shop))
    assert list(in_stock) == [plenty]
