"""In a real browser: a store clerk types an order number into the dashboard's lookup box, lands
on the order and hands the pickup over at the counter."""

import pytest
from django.contrib.auth.models import Group

from inventory.models import StaffLocation
from omni import roles
from tests.inventory.factories import StockLocationFactory

PASSWORD = "browser-pass-123"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready_pickup(django_user_model):
    from django.core.cache import cache

    from omni.models import Channel
    from orders.services import fulfilment_create, fulfilment_mark_ready
    from promotions import rules
    from tests.staff.conftest import place_pickup_orders

    cache.clear()
    rules.forget_local()
    roles.roles_setup()
    store_a = StockLocationFactory(code="store-a", kind="store", pickup_enabled=True)
    clerk = django_user_model.objects.create_user(
        "clerk", "clerk@example.com", PASSWORD, is_staff=True
    )
    clerk.groups.add(Group.objects.get(name=roles.STORE_STAFF))
    StaffLocation.objects.create(user=clerk, location=store_a)
    channel = Channel.objects.create(code="web", name="Web shop", kind="web", currency="USD")
    order = place_pickup_orders(channel, [store_a])["store-a"]
    fulfilment = fulfilment_create(order=order, location_code="store-a")
    fulfilment_mark_ready(order=order, fulfilment_id=fulfilment.pk)
    yield order
    cache.clear()
    rules.forget_local()


def test_store_staff_find_an_order_and_hand_it_over(page, admin_login, screenshot, ready_pickup):
    from orders.models import Order, OrderStatus

    order = ready_pickup
    admin_login(page, "clerk", PASSWORD)
    panel = page.locator("#panel-order_lookup")
    panel.get_by_label("Order number, external id, email or phone").fill(order.number)
    panel.get_by_role("button", name="Find").click()
    page.wait_for_selector("#lookup-order")
    assert page.locator("#order-status").inner_text() == "Confirmed"
    assert "Ready for pickup" in page.locator("#order-pickup").inner_text()
    screenshot(page, "order-found")
    page.get_by_role("button", name="Hand over pickup").click()
    page.wait_for_load_state()
    assert "handed over to the customer" in page.locator(".messagelist").inner_text()
    assert page.locator("#order-status").inner_text() == "Fulfilled"
    screenshot(page, "handed-over")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.FULFILLED
