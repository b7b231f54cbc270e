"""Store staff see and work the orders, fulfilments, pickups and returns of their own store;
order writes are audited; the order changelist has a fixed query count."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from omni.models import AuditEntry
from orders.models import Order, OrderStatus
from tests.staff.conftest import api_login, login

pytestmark = pytest.mark.django_db


def test_store_staff_order_changelist_lists_their_store_only(store_user, pickup_orders):
    client = login(store_user)
    response = client.get(reverse("admin:orders_order_changelist"))
    assert [o.number for o in response.context["cl"].result_list] == [
        pickup_orders["store-a"].number
    ]
    other = pickup_orders["store-b"]
    assert client.get(reverse("admin:orders_order_change", args=[other.pk])).status_code == 302


def test_store_staff_api_orders_and_pickup_queue_are_scoped(store_user, pickup_orders):
    client = api_login(store_user)
    body = client.get("/api/v1/staff/orders/").json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["number"] for row in rows] == [pickup_orders["store-a"].number]
    own = client.get("/api/v1/staff/orders/pickup-queue/", {"location": "store-a"})
    assert own.status_code == 200
    other = client.get("/api/v1/staff/orders/pickup-queue/", {"location": "store-b"})
    assert other.status_code == 403
    assert other.json()["code"] == "location_out_of_scope"


def test_store_staff_cannot_fulfil_another_stores_order(store_user, pickup_orders):
    client = api_login(store_user)
    other = pickup_orders["store-b"]
    response = client.post(
        f"/api/v1/staff/orders/{other.number}/fulfilments/", {"location": "store-b"}, format="json"
    )
    assert response.status_code in (403, 404)
    assert not other.fulfilments.exists()
    own = pickup_orders["store-a"]
    response = client.post(
        f"/api/v1/staff/orders/{own.number}/fulfilments/", {"location": "store-a"}, format="json"
    )
    assert response.status_code == 201, response.json()
    entry = AuditEntry.objects.get(operation="fulfilment_create")
    assert entry.user == store_user
    assert entry.object_id == str(own.pk)


def test_store_staff_pickup_counter_completes_a_pickup_and_audits_it(store_user, pickup_orders):
    client = login(store_user)
    order = pickup_orders["store-a"]
    url = reverse("admin:orders_order_pickup_queue") + "?location=store-a"
    page = client.get(url)
    assert [loc.code for loc in page.context["locations"]] == ["store-a"]
    client.post(url, {"order": order.number, "step": "start"})
    fulfilment = order.fulfilments.get()
    client.post(url, {"order": order.number, "step": "ready", "fulfilment": fulfilment.pk})
    client.post(url, {"order": order.number, "step": "collect", "fulfilment": fulfilment.pk})
    order.refresh_from_db()
    assert order.status == OrderStatus.FULFILLED
    operations = list(
        AuditEntry.objects.filter(object_id=str(order.pk))
        .order_by("id")
        .values_list("operation", flat=True)
    )
    assert operations == ["pickup_start", "pickup_ready", "pickup_collect"]
    last = AuditEntry.objects.filter(operation="pickup_collect").get()
    assert last.changes["status"][1] == OrderStatus.FULFILLED


def test_store_staff_cannot_collect_another_stores_pickup(store_user, admin_user, pickup_orders):
    other = pickup_orders["store-b"]
    admin = login(admin_user)
    url_b = reverse("admin:orders_order_pickup_queue") + "?location=store-b"
    admin.post(url_b, {"order": other.number, "step": "start"})
    fulfilment = other.fulfilments.get()
    admin.post(url_b, {"order": other.number, "step": "ready", "fulfilment": fulfilment.pk})
    clerk = login(store_user)
    # Naming their own counter with the other store's fulfilment is refused.
    url_a = reverse("admin:orders_order_pickup_queue") + "?location=store-a"
    clerk.post(url_a, {"order": other.number, "step": "collect", "fulfilment": fulfilment.pk})
    # And the other store's counter is not theirs: it falls back to their own.
    clerk.post(url_b, {"order": other.number, "step": "collect", "fulfilment": fulfilment.pk})
    fulfilment.refresh_from_db()
    assert fulfilment.status == "ready"


def test_dashboard_shows_orders_pickups_and_sales(store_user, admin_user, pickup_orders):
    html = login(store_user).get(reverse("admin:index")).content.decode()
    assert 'data-panel="pickups_waiting"' in html
    assert "Pickups waiting at your store" in html
    assert "?location=store-a" in html and "?location=store-b" not in html
    assert 'data-panel="orders_waiting"' in html
    assert 'data-panel="sales_today"' in html
    admin_html = login(admin_user).get(reverse("admin:index")).content.decode()
    assert "?location=store-b" in admin_html
    assert "24.00 USD" in admin_html  # both orders, web channel
    assert 'aria-label="Today&#x27;s sales by channel"' in admin_html


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


ORDER_QUERIES = 10


def test_order_changelist_query_count_is_fixed(
    admin_user, pickup_orders, channel, django_assert_num_queries
):
    from orders.services import CustomerInput, LineInput, PaymentInput, order_place

    client = login(admin_user)
    url = reverse("admin:orders_order_changelist")
    few = _queries(client, url)
    for n in range(2):
        order_place(
            channel=channel,
            lines=[LineInput("MUG", 1)],
            fulfilment_method="pickup",
            pickup_location_code="store-a",
            payment=PaymentInput(status="paid", reference=f"more-{n}"),
            customer=CustomerInput(email=f"more{n}@example.com"),
        )
    assert Order.objects.count() == 4
    assert _queries(client, url) == few
    with django_assert_num_queries(ORDER_QUERIES):
        client.get(url)


def test_store_staff_pos_lookup_finds_any_order_by_number(store_user, pickup_orders):
    """At the till a shopper shows an order from anywhere (to return goods at this store):
    looking it up by its number works, listing other stores' orders does not."""
    other = pickup_orders["store-b"]
    client = api_login(store_user)
    response = client.get(f"/api/v1/staff/orders/{other.number}/")
    assert response.status_code == 200
    assert response.json()["number"] == other.number
    listed = client.get("/api/v1/staff/orders/", {"q": other.number}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert rows == []
