"""The queries of the orders app that take row locks, always in primary-key order."""

from collections.abc import Iterable

from omni.errors import NotFound
from orders.errors import OrderError
from orders.models import Allocation, Fulfilment, Order, OrderLine


def order_for_update(*, order_id: int) -> Order:
    """Lock one order row: every change of an order's lines, allocations, fulfilments or
    returns takes this lock first, so per-order work is serialised."""
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("channel", "customer")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound("Order not found.", code="order_not_found")
    return order


def lines_for_update(*, order_id: int, line_ids: Iterable[int] | None = None) -> list[OrderLine]:
    qs = OrderLine.objects.filter(order_id=order_id)
    if line_ids is not None:
        qs = qs.filter(pk__in=list(line_ids))
    return list(qs.order_by("pk").select_for_update(of=("self",)))


def allocations_for_update(*, line_ids: Iterable[int]) -> list[Allocation]:
    return list(
        Allocation.objects.filter(line_id__in=list(line_ids))
        .select_related("reservation")
        .order_by("pk")
        .select_for_update(of=("self",))
    )


def fulfilment_for_update(*, fulfilment_id: int, order_id: int) -> Fulfilment:
    fulfilment = (
        Fulfilment.objects.select_for_update(of=("self",))
        .filter(pk=fulfilment_id, order_id=order_id)
        .first()
    )
    if fulfilment is None:
        raise OrderError(
            "No such fulfilment on this order.", code="fulfilment_not_found", status_code=404
        )
    return fulfilment
