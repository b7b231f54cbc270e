"""After placement: the state machine, cancellation, fulfilment (ship and pickup),
re-allocation, returns at any store, exchanges, loyalty."""

from decimal import Decimal

import pytest

from customers.selectors import loyalty_balance
from inventory.models import MovementReason, Reservation, StockMovement
from inventory.selectors import ledger_drift
from omni.errors import DomainError
from orders import state
from orders.errors import IllegalTransition
from orders.models import (
    Allocation,
    Order,
    OrderStatus,
    PaymentStatus,
    Refund,
    TimelineEvent,
)
from orders.selectors import pickup_queue
from orders.services import (
    FulfilLine,
    LineInput,
    ReturnLineInput,
    allocation_move,
    exchange_create,
    fulfilment_collect,
    fulfilment_create,
    fulfilment_mark_ready,
    fulfilment_ship,
    order_cancel,
    order_complete,
    order_lines_cancel,
    order_payment_record,
    return_create,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(make_variant, receive, warehouse, store, other_store):
    tee, cap = make_variant("TEE", "20.00"), make_variant("CAP", "10.00")
    receive(tee, warehouse, 2)
    receive(tee, store, 4)
    receive(cap, warehouse, 5)
    receive(cap, store, 3)
    return tee, cap


def ship_all(order, location_code="wh"):
    fulfilment = fulfilment_create(order=order, location_code=location_code)
    return fulfilment_ship(
        order=order, fulfilment_id=fulfilment.pk, carrier="UPS", tracking_number="1Z"
    )


def test_transition_table_refuses_illegal_moves_with_409():
    assert state.can_transition(OrderStatus.PENDING, OrderStatus.CONFIRMED)
    assert not state.can_transition(OrderStatus.CANCELLED, OrderStatus.CONFIRMED)
    assert not state.can_transition(OrderStatus.FULFILLED, OrderStatus.CANCELLED)
    assert not state.can_transition(OrderStatus.PENDING, OrderStatus.FULFILLED)
    assert state.TRANSITIONS[OrderStatus.RETURNED] == frozenset()


def test_illegal_transition_leaves_the_order_unchanged(place, stocked):
    order = place([("TEE", 1)])
    with pytest.raises(IllegalTransition) as err:
        state.transition(order, OrderStatus.COMPLETED)
    assert err.value.code == "illegal_transition" and err.value.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_cancel_releases_exactly_what_was_reserved(place, stocked, stock_of, warehouse, store):
    tee, cap = stocked
    before = {(v.sku, loc.code): stock_of(v, loc) for v in stocked for loc in (warehouse, store)}
    keep = place([("CAP", 1)])
    order = place([("TEE", 5), ("CAP", 2)])
    # TEE splits 2 + 3; CAP comes from the warehouse.
    assert stock_of(tee, warehouse) == (2, 2) and stock_of(tee, store) == (4, 3)
    order_cancel(order=order, reason="changed my mind")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancelled_at is not None
    assert stock_of(tee, warehouse) == before[("TEE", "wh")]
    assert stock_of(tee, store) == before[("TEE", "store-a")]
    # The other order's reservation is untouched.
    assert stock_of(cap, warehouse) == (5, 1)
    assert list(Reservation.objects.values_list("reference", flat=True)) == [keep.number]
    assert all(
        a.quantity_released == a.quantity for a in Allocation.objects.filter(line__order=order)
    )
    assert set(order.lines.values_list("quantity_cancelled", flat=True)) == {5, 2}
    refund = Refund.objects.get(order=order)
    assert refund.amount == order.total
    assert order.payment_status == PaymentStatus.REFUNDED
    with pytest.raises(IllegalTransition):
        order_cancel(order=order)


def test_cancel_one_line_releases_only_that_line(place, stocked, stock_of, warehouse):
    tee, cap = stocked
    order = place([("TEE", 1), ("CAP", 2)])
    cap_line = order.lines.get(sku="CAP")
    order_lines_cancel(order=order, line_ids=[cap_line.pk])
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert stock_of(cap, warehouse) == (5, 0)
    assert stock_of(tee, warehouse) == (2, 1)
    assert order.refunded_total == Decimal("20.00")
    order_lines_cancel(order=order, line_ids=[order.lines.get(sku="TEE").pk])
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


def test_shipping_commits_stock_and_fulfils_the_order(place, stocked, stock_of, warehouse, store):
    tee, _ = stocked
    order = place([("TEE", 5)])
    first = fulfilment_create(order=order, location_code="wh")
    fulfilment_ship(order=order, fulfilment_id=first.pk, carrier="UPS", tracking_number="1Z1")
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_FULFILLED
    assert stock_of(tee, warehouse) == (0, 0)
    # Nothing can cancel the whole order now that goods left.
    with pytest.raises(IllegalTransition):
        order_cancel(order=order)
    second = fulfilment_create(order=order, location_code="store-a")
    fulfilment_ship(order=order, fulfilment_id=second.pk, carrier="DHL", tracking_number="9")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert stock_of(tee, store) == (1, 0)
    assert order.lines.get().quantity_fulfilled == 5
    assert not Reservation.objects.exists()
    assert ledger_drift() == []
    kinds = list(TimelineEvent.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds.count("fulfilment_shipped") == 2 and "status_changed" in kinds


def test_partial_fulfilment_of_some_units(place, stocked, stock_of, warehouse):
    tee, _ = stocked
    order = place([("TEE", 2)])
    line = order.lines.get()
    fulfilment = fulfilment_create(order=order, location_code="wh", lines=[FulfilLine(line.pk, 1)])
    fulfilment_ship(order=order, fulfilment_id=fulfilment.pk, carrier="UPS", tracking_number="")
    assert stock_of(tee, warehouse) == (1, 1)
    with pytest.raises(DomainError) as err:
        fulfilment_create(order=order, location_code="wh", lines=[FulfilLine(line.pk, 2)])
    assert err.value.code == "quantity_exceeded"


def test_unpaid_order_cannot_be_fulfilled_until_payment_is_recorded(place, stocked):
    from orders.services import PaymentInput

    order = place([("TEE", 1)], payment=PaymentInput())
    with pytest.raises(IllegalTransition):
        fulfilment_create(order=order, location_code="wh")
    order_payment_record(order=order, status="paid", reference="psp-9")
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED and order.payment_amount == order.total
    assert fulfilment_create(order=order, location_code="wh").pk


def test_pickup_flow_ready_then_collected_and_the_store_queue(place, stocked, stock_of, store):
    tee, _ = stocked
    order = place([("TEE", 2)], fulfilment_method="pickup", pickup_location_code="store-a")
    assert [o.pk for o in pickup_queue(location=store)] == [order.pk]
    fulfilment = fulfilment_create(order=order, location_code="store-a")
    assert fulfilment.method == "pickup"
    with pytest.raises(IllegalTransition):
        fulfilment_ship(order=order, fulfilment_id=fulfilment.pk, carrier="x", tracking_number="")
    with pytest.raises(IllegalTransition):
        fulfilment_collect(order=order, fulfilment_id=fulfilment.pk)
    fulfilment_mark_ready(order=order, fulfilment_id=fulfilment.pk)
    assert stock_of(tee, store) == (4, 2)  # still reserved until collected
    queued = pickup_queue(location=store).get()
    assert [f.status for f in queued.pickup_fulfilments] == ["ready"]
    fulfilment_collect(order=order, fulfilment_id=fulfilment.pk)
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert stock_of(tee, store) == (2, 0)
    assert list(pickup_queue(location=store)) == []


def test_reallocation_moves_the_reservation_checking_the_destination(
    place, stocked, stock_of, warehouse, store, other_store, make_variant, receive
):
    tee, _ = stocked
    order = place([("TEE", 2)])
    allocation = Allocation.objects.get(line__order=order)
    assert allocation.location == warehouse
    with pytest.raises(DomainError) as err:
        allocation_move(order=order, allocation_id=allocation.pk, location_code="store-b")
    assert err.value.code == "insufficient_stock"
    assert stock_of(tee, warehouse) == (2, 2)
    new = allocation_move(
        order=order, allocation_id=allocation.pk, location_code="store-a", reason="not found"
    )
    assert (new.location, new.quantity, new.strategy) == (store, 2, "manual")
    assert stock_of(tee, warehouse) == (2, 0) and stock_of(tee, store) == (4, 2)
    allocation.refresh_from_db()
    assert allocation.quantity_released == 2 and allocation.reservation is None
    ship_all(order, "store-a")
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED


def test_return_at_another_store_restocks_there_and_the_ledger_reconciles(
    place, stocked, stock_of, warehouse, other_store
):
    tee, cap = stocked
    order = place([("TEE", 2), ("CAP", 1)])
    ship_all(order)
    tee_line, cap_line = order.lines.get(sku="TEE"), order.lines.get(sku="CAP")
    result = return_create(
        order=order,
        location_code="store-b",
        lines=[ReturnLineInput(tee_line.pk, 1), ReturnLineInput(cap_line.pk, 1, restock=False)],
        refund_reference="rf-1",
    )
    assert stock_of(tee, other_store) == (1, 0)
    assert stock_of(cap, other_store) == (0, 0)  # written off, recorded in the ledger
    assert stock_of(tee, warehouse) == (0, 0)
    assert StockMovement.objects.filter(reason=MovementReason.DAMAGE).count() == 1
    assert ledger_drift() == []
    assert result.refund.amount == Decimal("30.00")
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_RETURNED
    assert order.payment_status == PaymentStatus.PARTIALLY_REFUNDED
    with pytest.raises(DomainError) as err:
        return_create(order=order, location_code="store-b", lines=[ReturnLineInput(tee_line.pk, 2)])
    assert err.value.code == "quantity_exceeded"
    return_create(order=order, location_code="wh", lines=[ReturnLineInput(tee_line.pk, 1)])
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert order.refunded_total == order.total


def test_return_before_fulfilment_is_an_illegal_transition(place, stocked):
    order = place([("TEE", 1)])
    with pytest.raises(IllegalTransition):
        return_create(
            order=order,
            location_code="wh",
            lines=[ReturnLineInput(order.lines.get().pk, 1)],
        )


def test_return_is_deduplicated_by_its_external_id(place, stocked, stock_of, other_store):
    tee, _ = stocked
    order = place([("TEE", 2)])
    ship_all(order)
    line = order.lines.get()
    kwargs = {
        "order": order,
        "location_code": "store-b",
        "lines": [ReturnLineInput(line.pk, 1)],
        "external_id": "till-ret-1",
    }
    first = return_create(**kwargs)
    again = return_create(**kwargs)
    assert first.created and not again.created
    assert stock_of(tee, other_store) == (1, 0)


def test_exchange_returns_goods_and_places_a_linked_order(place, stocked, stock_of, store):
    tee, cap = stocked
    order = place([("TEE", 1)])
    ship_all(order)
    result, placement = exchange_create(
        order=order,
        location_code="store-a",
        lines=[ReturnLineInput(order.lines.get().pk, 1)],
        new_lines=[LineInput("CAP", 2)],
    )
    new = placement.order
    assert new.exchange_for == result.return_record
    assert new.pickup_location == store
    assert new.payment_amount == Decimal("20.00")
    assert stock_of(tee, store) == (5, 0)
    assert stock_of(cap, store) == (3, 2)


def test_loyalty_earned_on_completion_and_reversed_on_return(place, stocked):
    order = place([("TEE", 2)])
    ship_all(order)
    order_complete(order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETED
    earned = order.loyalty_points_earned
    assert earned > 0
    assert loyalty_balance(customer=order.customer) == earned
    order_complete_again = Order.objects.get(pk=order.pk)
    with pytest.raises(IllegalTransition):
        order_complete(order=order_complete_again)
    return_create(order=order, location_code="wh", lines=[ReturnLineInput(order.lines.get().pk, 1)])
    assert loyalty_balance(customer=order.customer) == earned - earned // 2


def test_return_window_task_completes_old_fulfilled_orders(place, stocked, settings):
    from datetime import timedelta

    from django.utils import timezone

    from orders.tasks import orders_complete_due_task

    settings.OMNI_ORDER_RETURN_WINDOW_DAYS = 14
    old, recent = place([("TEE", 1)]), place([("CAP", 1)])
    ship_all(old)
    ship_all(recent)
    Order.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=15))
    assert orders_complete_due_task() == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == OrderStatus.COMPLETED and old.loyalty_points_earned > 0
    assert recent.status == OrderStatus.FULFILLED
    assert old.timeline.filter(actor="system:return-window").exists()
