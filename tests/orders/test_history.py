"""The adapter registered for customers' order-history port."""

import pytest
from django.apps import apps

from customers.order_history import order_history_provider, register_order_history_provider
from orders.history import OrderHistory
from orders.services import ReturnLineInput, fulfilment_create, fulfilment_ship, return_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered():
    """Whatever other tests registered meanwhile, the orders app's ready() registers ours."""
    previous = order_history_provider()
    apps.get_app_config("orders").ready()
    yield order_history_provider()
    register_order_history_provider(previous)


def test_orders_app_registers_its_adapter(registered):
    assert isinstance(registered, OrderHistory)


def test_customer_history_lists_orders_from_every_channel_and_erasure_blanks_them(
    place, make_variant, receive, warehouse, registered
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 5)
    order = place([("TEE", 2)])
    fulfilment = fulfilment_create(order=order, location_code="wh")
    fulfilment_ship(order=order, fulfilment_id=fulfilment.pk, carrier="UPS", tracking_number="")
    return_create(order=order, location_code="wh", lines=[ReturnLineInput(order.lines.get().pk, 1)])
    provider = registered
    [summary] = provider.orders_for(customer_id=order.customer_id)
    assert (summary.number, summary.channel, summary.items) == (order.number, "web", 2)
    assert summary.returns[0]["units"] == 1
    [exported] = provider.export_for(customer_id=order.customer_id)
    assert exported["email"] == "ada@example.com"
    assert provider.anonymise_for(customer_id=order.customer_id) == 1
    order.refresh_from_db()
    assert (order.customer_email, order.shipping_address) == ("", {})
    assert order.total > 0
