"""Rollups follow order changes and merges as they commit: the orders and customers apps announce
them through their ports, analytics queues one refresh per transaction (Celery runs eagerly
here), and the rollups then equal a full rebuild without waiting for the periodic job."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from analytics.models import (
    ChannelDay,
    CustomerChannel,
    CustomerSuggestion,
    OrderFact,
    ProductAffinity,
)
from analytics.services import rollups_rebuild
from customers.models import Customer
from customers.profile_changes import profile_change_subscribe, profile_change_unsubscribe
from customers.services import customer_merge, customer_unmerge
from orders.changes import order_change_subscribe, order_change_unsubscribe, orders_changed
from orders.models import OrderStatus
from orders.services import (
    CustomerInput,
    LineInput,
    PaymentInput,
    RecordedSale,
    ReturnLineInput,
    fulfilment_create,
    fulfilment_ship,
    order_cancel,
    order_place,
    return_create,
)
from tests.analytics.test_rollup_consistency import _snapshot
from tests.orders import conftest as orders_fixtures

# The orders tests' world: a web channel selling from a warehouse and two pickup stores.
ADDRESS = orders_fixtures.ADDRESS
warehouse = orders_fixtures.warehouse
store = orders_fixtures.store
other_store = orders_fixtures.other_store
shop = orders_fixtures.shop
make_variant = orders_fixtures.make_variant
receive = orders_fixtures.receive


class Spy:
    def __init__(self):
        self.calls: list[list[int]] = []

    def __call__(self, ids: list[int]) -> None:
        self.calls.append(list(ids))


@pytest.fixture
def order_spy():
    spy = Spy()
    order_change_subscribe(spy)
    yield spy
    order_change_unsubscribe(spy)


@pytest.fixture
def stocked(make_variant, receive, warehouse, store):
    tee, mug = make_variant("TEE", "20.00"), make_variant("MUG", "8.00")
    for variant in (tee, mug):
        receive(variant, warehouse, 20)
        receive(variant, store, 20)
    return {"TEE": tee, "MUG": mug}


def _place(channel, email="ada@example.com", lines=(("TEE", 1), ("MUG", 2)), **kwargs):
    kwargs.setdefault("shipping_address", ADDRESS)
    kwargs.setdefault("payment", PaymentInput(status="paid", reference="pay"))
    return order_place(
        channel=channel,
        lines=[LineInput(*line) for line in lines],
        customer=CustomerInput(email=email, first_name="Ada") if email else None,
        **kwargs,
    ).order


def _assert_current():
    """The rollups as the change notices left them equal a full rebuild from scratch."""
    incremental = _snapshot()
    rollups_rebuild()
    assert incremental == _snapshot()
    return incremental


# --- the coalescing port (no commits needed: the captured hooks run at the block's end) ------


def test_one_notice_per_transaction_with_every_order_it_changed(
    db, order_spy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as hooks, transaction.atomic():
        orders_changed([3])
        orders_changed([1, 3])
        orders_changed([None, 2])
    assert len(hooks) == 1
    assert order_spy.calls == [[1, 2, 3]]


def test_a_rolled_back_transaction_announces_nothing(
    db, order_spy, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                orders_changed([7])
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        orders_changed([8])
    assert order_spy.calls == [[8]]


def test_a_failing_receiver_neither_fails_the_commit_nor_silences_the_others(
    db, order_spy, django_capture_on_commit_callbacks
):
    def broken(ids):
        raise ConnectionError("broker down")

    order_change_subscribe(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            orders_changed([5])
    finally:
        order_change_unsubscribe(broken)
    assert order_spy.calls == [[5]]


# --- real commits: placement, cancellation, fulfilment, return, POS sale, merge --------------

live = pytest.mark.django_db(transaction=True)


@live
def test_placing_a_multi_line_order_refreshes_the_rollups_once(shop, stocked, order_spy):
    order = _place(shop)
    assert order_spy.calls == [[order.pk]]
    fact = OrderFact.objects.get(order_id=order.pk)
    assert (fact.units, fact.first_order) == (3, True)
    rows = _assert_current()
    assert len(rows["ChannelDay"]) == 1
    day = ChannelDay.objects.get(channel=shop)
    assert (day.orders, day.units, day.net_sales) == (1, 3, Decimal("36.000"))


@live
def test_refused_placement_announces_nothing(shop, stocked, order_spy):
    from orders.errors import InsufficientStock

    with pytest.raises(InsufficientStock):
        _place(shop, lines=[("TEE", 500)])
    assert order_spy.calls == []
    assert not OrderFact.objects.exists()


@live
def test_cancelling_an_order_reaches_the_rollups_at_once(shop, stocked):
    first = _place(shop)
    second = _place(shop)
    order_cancel(order=first, reason="changed mind")
    assert OrderFact.objects.get(order_id=first.pk).cancelled
    _assert_current()
    day = ChannelDay.objects.get(channel=shop)
    assert (day.orders, day.cancelled_orders) == (1, 1)
    # The cancelled first order hands "new customer" to the second one.
    assert (day.new_customer_orders, day.returning_customer_orders) == (1, 0)
    assert OrderFact.objects.get(order_id=second.pk).first_order


@live
def test_fulfilment_and_a_return_at_another_store_reach_the_rollups(
    shop, stocked, warehouse, other_store
):
    order = _place(shop, lines=[("TEE", 2)])
    fulfilment = fulfilment_create(order=order, location_code=warehouse.code)
    fulfilment_ship(order=order, fulfilment_id=fulfilment.pk, carrier="UPS", tracking_number="1Z")
    assert OrderFact.objects.get(order_id=order.pk).fulfil_hours == 0
    line = order.lines.get()
    return_create(order=order, location_code=other_store.code, lines=[ReturnLineInput(line.pk, 1)])
    _assert_current()
    day = ChannelDay.objects.get(channel=shop)
    assert (day.fulfilled_orders, day.returned_units, day.returns_amount) == (
        1,
        1,
        Decimal("20.000"),
    )


@live
def test_a_replayed_pos_sale_reaches_the_rollups(shop, stocked, store, order_spy):
    sold_at = timezone.now() - timedelta(hours=1)
    order = _place(
        shop,
        lines=[("MUG", 1)],
        external_id="till-1",
        shipping_address={},
        recorded_sale=RecordedSale(store.code, sold_at),
    )
    assert order.status == OrderStatus.COMPLETED
    assert order_spy.calls == [[order.pk]]
    _assert_current()
    assert ChannelDay.objects.get(channel=shop).units == 1


@live
def test_a_merge_moves_new_vs_returning_without_waiting_for_the_nightly_rebuild(shop, stocked):
    first = _place(shop, email="ada@example.com")
    second = _place(shop, email="ada.l@example.com")
    day = ChannelDay.objects.get(channel=shop)
    assert (day.new_customer_orders, day.returning_customer_orders) == (2, 0)
    spy = Spy()
    profile_change_subscribe(spy)
    try:
        record = customer_merge(survivor=first.customer, merged=second.customer)
    finally:
        profile_change_unsubscribe(spy)
    assert spy.calls == [sorted([first.customer_id, second.customer_id])]
    _assert_current()
    day = ChannelDay.objects.get(channel=shop)
    assert (day.new_customer_orders, day.returning_customer_orders) == (1, 1)
    assert list(CustomerChannel.objects.values_list("customer_id", "orders")) == [
        (first.customer_id, 2)
    ]
    # Undoing the merge gives the merged profile its order (and its first order) back.
    customer_unmerge(record=record)
    _assert_current()
    day = ChannelDay.objects.get(channel=shop)
    assert (day.new_customer_orders, day.returning_customer_orders) == (2, 0)


@live
def test_suggestions_follow_a_customers_new_purchase(shop, stocked):
    tee, mug = stocked["TEE"].product_id, stocked["MUG"].product_id
    ProductAffinity.objects.create(product_id=tee, related_id=mug, orders_together=3, score=0.8)
    order = _place(shop, lines=[("TEE", 1)])
    assert list(
        CustomerSuggestion.objects.filter(customer_id=order.customer_id).values_list(
            "product_id", flat=True
        )
    ) == [mug]
    _place(shop, lines=[("MUG", 1)])
    assert not CustomerSuggestion.objects.filter(
        customer_id=order.customer_id, product_id=mug
    ).exists()
    assert Customer.objects.count() == 1


def test_receivers_queue_through_the_broker_when_there_is_one():
    from types import SimpleNamespace

    from analytics.ports import _enqueue

    sent = []
    task = SimpleNamespace(
        app=SimpleNamespace(conf=SimpleNamespace(task_always_eager=False)),
        delay=lambda *args: sent.append(("delay", args)),
        apply=lambda args: sent.append(("apply", args)),
    )
    _enqueue(task, [1, 2])
    task.app.conf.task_always_eager = True
    _enqueue(task, [3])
    assert sent == [("delay", ([1, 2],)), ("apply", ([3],))]
