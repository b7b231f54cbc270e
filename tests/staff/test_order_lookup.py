"""The admin's till lookup: who may open it, what a number, an external id, an email or a phone
finds, store staff scoping (the same as the staff API's), and the counter actions from the
order view (hand over a pickup, receive a return), audited and CSRF-protected."""

import pytest
from django.test import Client
from django.urls import reverse

from inventory.models import Stock
from omni import roles
from omni.models import AuditEntry
from orders.models import FulfilmentStatus, Order, OrderStatus
from orders.services import fulfilment_collect, fulfilment_create, fulfilment_mark_ready
from tests.staff.conftest import api_login, login

pytestmark = pytest.mark.django_db

LOOKUP = "admin:orders_order_lookup"
ALL = {
    roles.ADMIN,
    roles.MERCHANDISER,
    roles.INVENTORY_MANAGER,
    roles.STORE_STAFF,
    roles.CUSTOMER_SERVICE,
    roles.ANALYST,
}
MAY_LOOK_UP = ALL - {roles.MERCHANDISER}


def _ready(order, location):
    fulfilment = fulfilment_create(order=order, location_code=location.code)
    fulfilment_mark_ready(order=order, fulfilment_id=fulfilment.pk)
    return fulfilment


def _find(client, term):
    return client.get(reverse(LOOKUP), {"q": term})


@pytest.mark.parametrize("role", sorted(ALL))
def test_lookup_page_per_role(role, make_role_user, store_a, pickup_orders):
    user = make_role_user(role, locations=[store_a] if role == roles.STORE_STAFF else ())
    client = login(user)
    order = pickup_orders["store-a"]
    page = client.get(reverse(LOOKUP))
    found = _find(client, order.number)
    if role in MAY_LOOK_UP:
        assert page.status_code == 200
        assert found.status_code == 200
        assert found.context["order"].pk == order.pk
    else:
        assert page.status_code == 403
        assert found.status_code == 403
    # The dashboard home offers the lookup to exactly the same roles.
    home = client.get(reverse("admin:index")).content.decode()
    assert ('id="panel-order_lookup"' in home) == (role in MAY_LOOK_UP)


def test_lookup_needs_a_staff_login(client, pickup_orders):
    response = _find(client, pickup_orders["store-a"].number)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_lookup_by_number_shows_the_whole_order(admin_user, pickup_orders, store_a):
    order = pickup_orders["store-a"]
    _ready(order, store_a)
    response = _find(login(admin_user), order.number.lower())
    assert response.status_code == 200
    assert response.context["result"].kind == "number"
    html = response.content.decode()
    assert f'data-order="{order.number}"' in html
    for section in ("order-lines", "order-pickup", "order-fulfilments", "order-payment"):
        assert f'id="{section}"' in html
    assert "MUG" in html
    assert "Ready for pickup: waiting for the customer" in html
    assert [f.pk for f in response.context["handovers"]] == [order.fulfilments.get().pk]
    assert response.context["change_url"] == reverse("admin:orders_order_change", args=[order.pk])


def test_lookup_by_external_id(admin_user, pickup_orders):
    order = pickup_orders["store-b"]
    Order.objects.filter(pk=order.pk).update(external_id="MKT-778")
    response = _find(login(admin_user), "MKT-778")
    assert response.context["result"].kind == "external_id"
    assert response.context["order"].pk == order.pk


def test_lookup_by_email_lists_the_customers_recent_orders(admin_user, pickup_orders, channel):
    from orders.services import CustomerInput, LineInput, PaymentInput, order_place

    first = pickup_orders["store-a"]
    second = order_place(
        channel=channel,
        lines=[LineInput("MUG", 1)],
        fulfilment_method="pickup",
        pickup_location_code="store-a",
        payment=PaymentInput(status="paid", reference="pay-2"),
        customer=CustomerInput(email="STORE-A@example.com"),
    ).order
    response = _find(login(admin_user), "Store-A@Example.com")
    result = response.context["result"]
    assert result.kind == "email"
    assert [o.number for o in result.orders] == [second.number, first.number]
    assert "order" not in response.context  # several: a list to choose from
    html = response.content.decode()
    assert f"?q={second.number}" in html


def test_lookup_by_phone_finds_the_profiles_orders(admin_user, channel, pickup_orders):
    from customers.services import identity_add

    order = pickup_orders["store-b"]
    identity_add(customer=order.customer, kind="phone", value="+1 415 555 2671")
    response = _find(login(admin_user), "(415) 555-2671")
    assert response.context["result"].kind == "phone"
    assert response.context["order"].pk == order.pk


def test_lookup_says_when_nothing_matches(admin_user, pickup_orders):
    response = _find(login(admin_user), "WEB-999999")
    assert response.status_code == 200
    assert response.context["result"].orders == []
    assert "No order matches “WEB-999999”." in response.content.decode()


def test_store_staff_find_other_stores_orders_by_exact_number_only(store_user, pickup_orders):
    client = login(store_user)
    other = pickup_orders["store-b"]
    Order.objects.filter(pk=other.pk).update(external_id="MKT-9")
    # Email and external id list only orders touching their store (as GET /staff/orders/?q=).
    for term in ("store-b@example.com", "MKT-9"):
        response = _find(client, term)
        assert response.context["result"].orders == []
        assert "found by their exact order number only" in response.content.decode()
    assert _find(client, "store-a@example.com").context["order"].pk == pickup_orders["store-a"].pk
    # The exact number finds it (as GET /staff/orders/{number}/ does), read-only: no link to
    # the change page, which stays scoped.
    response = _find(client, other.number)
    assert response.context["order"].pk == other.pk
    assert response.context["change_url"] == ""
    assert client.get(reverse("admin:orders_order_change", args=[other.pk])).status_code == 302


def test_admin_lookup_agrees_with_the_staff_api_for_store_staff(store_user, pickup_orders):
    api, admin = api_login(store_user), login(store_user)
    for order in pickup_orders.values():
        api_found = api.get(f"/api/v1/staff/orders/{order.number}/").status_code == 200
        assert api_found == (_find(admin, order.number).context.get("order") is not None)
    for email in ("store-a@example.com", "store-b@example.com"):
        body = api.get("/api/v1/staff/orders/", {"q": email}).json()
        rows = body["results"] if isinstance(body, dict) else body
        admin_found = [o.number for o in _find(admin, email).context["result"].orders]
        assert [row["number"] for row in rows] == admin_found


def test_store_staff_hand_over_a_pickup_from_the_lookup(store_user, pickup_orders, store_a):
    order = pickup_orders["store-a"]
    fulfilment = _ready(order, store_a)
    client = login(store_user)
    page = _find(client, order.number)
    assert f'id="handover-{fulfilment.pk}"' in page.content.decode()
    response = client.post(
        reverse(LOOKUP), {"order": order.number, "action": "handover", "fulfilment": fulfilment.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{reverse(LOOKUP)}?q={order.number}"
    fulfilment.refresh_from_db()
    order.refresh_from_db()
    assert fulfilment.status == FulfilmentStatus.COLLECTED
    assert order.status == OrderStatus.FULFILLED
    entry = AuditEntry.objects.get(operation="pickup_collect")
    assert entry.user == store_user
    assert entry.object_id == str(order.pk)
    assert entry.changes["status"] == [OrderStatus.CONFIRMED, OrderStatus.FULFILLED]
    assert entry.changes["location"] == [None, "store-a"]
    follow = client.get(response["Location"])
    assert "handed over to the customer" in follow.content.decode()
    assert follow.context["handovers"] == []


def test_store_staff_cannot_hand_over_another_stores_pickup(store_user, pickup_orders, store_b):
    other = pickup_orders["store-b"]
    fulfilment = _ready(other, store_b)
    client = login(store_user)
    page = _find(client, other.number)
    assert page.context["handovers"] == []
    response = client.post(
        reverse(LOOKUP),
        {"order": other.number, "action": "handover", "fulfilment": fulfilment.pk},
        follow=True,
    )
    fulfilment.refresh_from_db()
    assert fulfilment.status == FulfilmentStatus.READY
    assert not AuditEntry.objects.filter(operation="pickup_collect").exists()
    assert "assigned store" in response.content.decode()


def test_handover_needs_the_fulfilment_permission(make_role_user, pickup_orders, store_a):
    order = pickup_orders["store-a"]
    fulfilment = _ready(order, store_a)
    client = login(make_role_user(roles.ANALYST))
    assert _find(client, order.number).context["handovers"] == []
    response = client.post(
        reverse(LOOKUP), {"order": order.number, "action": "handover", "fulfilment": fulfilment.pk}
    )
    assert response.status_code == 403
    fulfilment.refresh_from_db()
    assert fulfilment.status == FulfilmentStatus.READY


def test_store_staff_receive_a_return_of_another_stores_order(
    store_user, pickup_orders, store_a, store_b
):
    other = pickup_orders["store-b"]
    fulfilment = _ready(other, store_b)
    fulfilment_collect(order=other, fulfilment_id=fulfilment.pk)
    client = login(store_user)
    page = _find(client, other.number)
    form = page.context["return_form"]
    assert [loc.code for loc in form.fields["location"].queryset] == ["store-a"]
    line = other.lines.get()
    before = Stock.objects.get(variant=line.variant, location=store_a).on_hand
    response = client.post(
        reverse(LOOKUP),
        {
            "order": other.number,
            "action": "return",
            "location": "store-a",
            "refund_method": "cash",
            "reason": "too small",
            f"qty_{line.pk}": "1",
            f"restock_{line.pk}": "on",
        },
    )
    assert response.status_code == 302
    ret = other.returns.get()
    assert ret.location == store_a
    assert Stock.objects.get(variant=line.variant, location=store_a).on_hand == before + 1
    other.refresh_from_db()
    assert other.status == OrderStatus.RETURNED
    entry = AuditEntry.objects.get(operation="return")
    assert (entry.user, entry.object_id) == (store_user, str(other.pk))
    assert entry.changes["return"] == [None, ret.pk]
    assert "received at Store A" in client.get(response["Location"]).content.decode()


def test_store_staff_cannot_receive_a_return_at_another_store(
    store_user, pickup_orders, store_a, store_b
):
    order = pickup_orders["store-a"]
    fulfilment = _ready(order, store_a)
    fulfilment_collect(order=order, fulfilment_id=fulfilment.pk)
    line = order.lines.get()
    response = login(store_user).post(
        reverse(LOOKUP),
        {
            "order": order.number,
            "action": "return",
            "location": "store-b",
            "refund_method": "original_payment",
            f"qty_{line.pk}": "1",
        },
    )
    assert response.status_code == 400
    assert "location" in response.context["return_form"].errors
    assert not order.returns.exists()


def test_return_form_refuses_more_than_came_back_and_empty_returns(
    admin_user, pickup_orders, store_a
):
    order = pickup_orders["store-a"]
    fulfilment = _ready(order, store_a)
    fulfilment_collect(order=order, fulfilment_id=fulfilment.pk)
    line = order.lines.get()
    client = login(admin_user)
    base = {"order": order.number, "action": "return", "location": "store-a"}
    base["refund_method"] = "original_payment"
    too_many = client.post(reverse(LOOKUP), {**base, f"qty_{line.pk}": "2"})
    assert too_many.status_code == 400
    assert f"qty_{line.pk}" in too_many.context["return_form"].errors
    nothing = client.post(reverse(LOOKUP), {**base, f"qty_{line.pk}": "0"})
    assert nothing.status_code == 400
    assert "at least one line" in nothing.content.decode()
    assert not order.returns.exists()


def test_an_unfulfilled_order_offers_no_return(admin_user, pickup_orders):
    response = _find(login(admin_user), pickup_orders["store-a"].number)
    assert response.context["return_form"] is None
    assert "Nothing to take back" in response.context["return_refused"]


def test_lookup_forms_are_csrf_protected(store_user, pickup_orders, store_a):
    order = pickup_orders["store-a"]
    fulfilment = _ready(order, store_a)
    client = Client(enforce_csrf_checks=True)
    client.force_login(store_user)
    page = _find(client, order.number)
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    response = client.post(
        reverse(LOOKUP), {"order": order.number, "action": "handover", "fulfilment": fulfilment.pk}
    )
    assert response.status_code == 403
    fulfilment.refresh_from_db()
    assert fulfilment.status == FulfilmentStatus.READY


def test_order_changelist_links_to_the_lookup(store_user, pickup_orders):
    html = login(store_user).get(reverse("admin:orders_order_changelist")).content.decode()
    assert f'href="{reverse(LOOKUP)}" id="order-lookup-link"' in html
