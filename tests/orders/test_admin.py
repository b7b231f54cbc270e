"""Admin: order list filters, detail with allocations and timeline, the staff placement form
and the store pickup queue."""

import pytest
from django.urls import reverse

from orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(make_variant, receive, warehouse, store):
    tee = make_variant("TEE", "20.00")
    receive(tee, warehouse, 5)
    receive(tee, store, 3)
    return tee


def test_changelist_filters_and_detail_show_allocations_and_timeline(admin_client, place, stocked):
    shipped = place([("TEE", 1)])
    pickup = place([("TEE", 1)], fulfilment_method="pickup", pickup_location_code="store-a")
    url = reverse("admin:orders_order_changelist")
    page = admin_client.get(url, {"location": "store-a"})
    assert page.status_code == 200
    assert pickup.number in page.content.decode()
    assert shipped.number not in page.content.decode()
    for params in ({"channel__id__exact": shipped.channel_id}, {"status__exact": "confirmed"}):
        assert admin_client.get(url, params).status_code == 200
    detail = admin_client.get(reverse("admin:orders_order_change", args=[shipped.pk]))
    body = detail.content.decode()
    assert detail.status_code == 200
    assert "channel priority" in body  # why the allocation was chosen
    assert "placed" in body


def test_staff_place_order_form_goes_through_order_place(admin_client, shop, stocked):
    response = admin_client.post(
        reverse("admin:orders_order_place"),
        {
            "channel": shop.pk,
            "email": "grace@example.com",
            "first_name": "Grace",
            "lines": "TEE 2",
            "fulfilment_method": "pickup",
            "pickup_location": "store-a",
            "payment_status": "paid",
            "loyalty_points": "0",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert order.status == OrderStatus.CONFIRMED
    assert order.placed_by.username == "admin"
    assert order.total == 40
    short = admin_client.post(
        reverse("admin:orders_order_place"),
        {
            "channel": shop.pk,
            "lines": "TEE 9",
            "fulfilment_method": "pickup",
            "pickup_location": "store-a",
            "payment_status": "paid",
        },
    )
    assert short.status_code == 200
    assert "TEE (wanted 9, 1 available)" in short.content.decode()


def test_pickup_queue_page_walks_an_order_to_collected(admin_client, place, stocked):
    order = place([("TEE", 1)], fulfilment_method="pickup", pickup_location_code="store-a")
    url = reverse("admin:orders_order_pickup_queue") + "?location=store-a"
    assert order.number in admin_client.get(url).content.decode()
    admin_client.post(url, {"order": order.number, "step": "start"})
    fulfilment = order.fulfilments.get()
    admin_client.post(url, {"order": order.number, "step": "ready", "fulfilment": fulfilment.pk})
    admin_client.post(url, {"order": order.number, "step": "collect", "fulfilment": fulfilment.pk})
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    assert "Nothing waiting for pickup here." in admin_client.get(url).content.decode()
