"""Storefront and staff order API: placement with Idempotency-Key, reading by number within
the key's channel, cancel, returns; staff fulfilment, re-allocation, POS sales, pickup queue."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from orders.models import IdempotencyKey, Order, OrderStatus
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db


@pytest.fixture
def stocked(make_variant, receive, warehouse, store):
    tee, cap = make_variant("TEE", "20.00"), make_variant("CAP", "10.00")
    receive(tee, warehouse, 5)
    receive(tee, store, 2)
    receive(cap, warehouse, 5)
    return tee, cap


def body(**overrides):
    data = {
        "external_id": "",
        "customer": {"email": "ada@example.com", "first_name": "Ada"},
        "lines": [{"sku": "TEE", "quantity": 2}, {"sku": "CAP", "quantity": 1}],
        "fulfilment": {"method": "ship", "address": ADDRESS},
        "payment": {"status": "authorized", "reference": "psp-1", "amount": "50.00"},
    }
    data.update(overrides)
    return data


def test_storefront_places_and_reads_back_an_order(shop, key_client, stocked):
    client = key_client(shop, scopes=["orders"])
    response = client.post("/api/v1/orders/", body(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "confirmed" and data["channel"] == "web"
    assert data["total"] == "50.000"
    assert [line["sku"] for line in data["lines"]] == ["TEE", "CAP"]
    assert "allocations" not in data["lines"][0]
    got = client.get(f"/api/v1/orders/{data['number']}/")
    assert got.status_code == 200
    assert got.json()["timeline"][0]["kind"] == "placed"


def test_key_without_orders_scope_is_refused(shop, key_client, stocked):
    client = key_client(shop, scopes=["catalog"])
    assert client.post("/api/v1/orders/", body(), format="json").status_code == 403


def test_a_key_only_sees_its_own_channels_orders(shop, make_channel, key_client, stocked):
    number = key_client(shop).post("/api/v1/orders/", body(), format="json").json()["number"]
    other = key_client(make_channel("app"))
    response = other.get(f"/api/v1/orders/{number}/")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    assert other.post(f"/api/v1/orders/{number}/cancel/", {}, format="json").status_code == 404


def test_idempotency_key_replay_returns_the_first_response(shop, key_client, stocked):
    client = key_client(shop)
    first = client.post("/api/v1/orders/", body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    # Stored with the key in the placement's own transaction, as answered.
    record = IdempotencyKey.objects.get()
    assert (record.response_status, record.response_body) == (201, first.json())
    replay = client.post("/api/v1/orders/", body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert Order.objects.count() == 1
    changed = body(lines=[{"sku": "TEE", "quantity": 1}])
    reused = client.post("/api/v1/orders/", changed, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1


def test_insufficient_stock_is_a_409_listing_each_short_sku(shop, key_client, stocked):
    data = body(lines=[{"sku": "TEE", "quantity": 9}, {"sku": "CAP", "quantity": 6}])
    response = key_client(shop).post("/api/v1/orders/", data, format="json")
    assert response.status_code == 409
    payload = response.json()
    assert payload["code"] == "insufficient_stock"
    assert sorted(payload["shortfalls"], key=lambda s: s["sku"]) == [
        {"sku": "CAP", "requested": 6, "available": 5},
        {"sku": "TEE", "requested": 9, "available": 7},
    ]


def test_bad_input_names_the_field(shop, key_client, stocked):
    client = key_client(shop)
    response = client.post("/api/v1/orders/", body(lines=[{"sku": "TEE", "quantity": 0}]))
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines.0.quantity"
    response = client.post("/api/v1/orders/", body(lines=[{"sku": "NOPE", "quantity": 1}]))
    assert (response.status_code, response.json()["errors"][0]["field"]) == (400, "lines.0.sku")
    response = client.post(
        "/api/v1/orders/", body(customer={"email": "not-an-email"}), format="json"
    )
    assert (response.status_code, response.json()["errors"][0]["field"]) == (
        400,
        "customer.email",
    )
    response = client.post(
        "/api/v1/orders/", body(fulfilment={"method": "pickup", "pickup_location": "nowhere"})
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "fulfilment.pickup_location"
    # Errors the placement service finds name the field as the body has it.
    response = client.post("/api/v1/orders/", body(fulfilment={"method": "ship"}))
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "fulfilment.address",
        "code": "required",
        "message": "Shipped orders need a shipping address.",
    }
    response = client.post(
        "/api/v1/orders/",
        body(lines=[{"sku": "TEE", "quantity": 1, "fulfilment_method": "pickup"}]),
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines.0.pickup_location"


def test_storefront_cancel_and_illegal_cancel(shop, key_client, stocked, admin_client_api):
    client = key_client(shop)
    number = client.post("/api/v1/orders/", body(), format="json").json()["number"]
    response = client.post(f"/api/v1/orders/{number}/cancel/", {"reason": "x"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/orders/{number}/cancel/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "illegal_transition"


def test_staff_fulfil_then_storefront_return_at_another_store(
    shop, key_client, stocked, admin_client_api, other_store
):
    client = key_client(shop)
    number = client.post("/api/v1/orders/", body(), format="json").json()["number"]
    created = admin_client_api.post(
        f"/api/v1/staff/orders/{number}/fulfilments/", {"location": "wh"}, format="json"
    )
    assert created.status_code == 201, created.json()
    fulfilment_id = created.json()["fulfilment_id"]
    shipped = admin_client_api.post(
        f"/api/v1/staff/orders/{number}/fulfilments/{fulfilment_id}/ship/",
        {"carrier": "UPS", "tracking_number": "1Z"},
        format="json",
    )
    assert shipped.status_code == 200, shipped.json()
    assert shipped.json()["status"] == "fulfilled"
    assert shipped.json()["lines"][0]["allocations"][0]["location"] == "wh"
    returned = client.post(
        "/api/v1/returns/",
        {
            "order": number,
            "location": "store-b",
            "lines": [{"sku": "TEE", "quantity": 1}],
            "refund": {"method": "original_payment", "reference": "rf-1"},
        },
        format="json",
    )
    assert returned.status_code == 201, returned.json()
    data = returned.json()
    assert data["status"] == "partially_returned"
    assert data["returns"][0]["location"] == "store-b"
    assert data["refunds"][0]["amount"] == "20.000"


def test_staff_list_filters_by_channel_status_location_and_date(
    shop, make_channel, key_client, stocked, admin_client_api
):
    client = key_client(shop)
    client.post("/api/v1/orders/", body(), format="json")
    pickup = body(
        lines=[{"sku": "TEE", "quantity": 1}],
        fulfilment={"method": "pickup", "pickup_location": "store-a"},
    )
    pickup_number = client.post("/api/v1/orders/", pickup, format="json").json()["number"]
    url = "/api/v1/staff/orders/"
    assert admin_client_api.get(url).json()["count"] == 2
    assert admin_client_api.get(url, {"channel": "web"}).json()["count"] == 2
    assert admin_client_api.get(url, {"channel": "app"}).json()["count"] == 0
    by_store = admin_client_api.get(url, {"location": "store-a"}).json()
    assert [o["number"] for o in by_store["results"]] == [pickup_number]
    assert admin_client_api.get(url, {"status": "cancelled"}).json()["count"] == 0
    today = timezone.localdate()
    assert admin_client_api.get(url, {"created_after": today.isoformat()}).json()["count"] == 2
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert admin_client_api.get(url, {"created_after": tomorrow}).json()["count"] == 0
    queue = admin_client_api.get(f"{url}pickup-queue/", {"location": "store-a"})
    assert queue.status_code == 200
    assert [o["number"] for o in queue.json()["results"]] == [pickup_number]


def test_staff_without_permission_is_refused(shop, staff_user, stocked):
    client = APIClient()
    client.force_authenticate(staff_user)
    assert client.get("/api/v1/staff/orders/").status_code == 403
    staff_user.user_permissions.add(Permission.objects.get(codename="view_order"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)
    client.force_authenticate(staff_user)
    assert client.get("/api/v1/staff/orders/").status_code == 200
    assert (
        client.post("/api/v1/staff/orders/", {"channel": "web"}, format="json").status_code == 403
    )


def test_staff_places_a_phone_order_for_a_customer_with_the_same_pricing(
    shop, make_channel, make_variant, receive, warehouse, admin_client_api
):
    phone = make_channel("phone", kind="callcenter")
    from tests.orders.factories import ChannelLocationFactory

    ChannelLocationFactory(channel=phone, location=warehouse, priority=1)
    mug = make_variant("MUG", "7.00", channels=[phone])
    receive(mug, warehouse, 3)
    response = admin_client_api.post(
        "/api/v1/staff/orders/",
        body(channel="phone", lines=[{"sku": "MUG", "quantity": 2}], payment={"status": "paid"}),
        format="json",
    )
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["channel"] == "phone" and data["total"] == "14.000"
    assert data["timeline"][0]["actor"] == "staff:admin"
    assert Order.objects.get(number=data["number"]).placed_by.username == "admin"


def test_staff_pos_sale_replay_is_deduplicated(
    make_channel, make_variant, receive, store, admin_client_api
):
    till = make_channel("store-a-pos", kind="store")
    make_variant("CAP", "10.00", channels=[till])
    payload = {
        "channel": "store-a-pos",
        "client_id": "till-1-42",
        "location": "store-a",
        "sold_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "lines": [{"sku": "CAP", "quantity": 1}],
    }
    first = admin_client_api.post("/api/v1/staff/orders/pos-sales/", payload, format="json")
    assert first.status_code == 201, first.json()
    assert first.json()["status"] == OrderStatus.COMPLETED
    again = admin_client_api.post("/api/v1/staff/orders/pos-sales/", payload, format="json")
    assert again.status_code == 200
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


def test_staff_reallocate_and_cancel_a_line(shop, key_client, stocked, admin_client_api):
    number = key_client(shop).post("/api/v1/orders/", body(), format="json").json()["number"]
    detail = admin_client_api.get(f"/api/v1/staff/orders/{number}/").json()
    tee = next(line for line in detail["lines"] if line["sku"] == "TEE")
    moved = admin_client_api.post(
        f"/api/v1/staff/orders/{number}/reallocate/",
        {"allocation": tee["allocations"][0]["id"], "location": "store-a", "reason": "lost"},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    tee = next(line for line in moved.json()["lines"] if line["sku"] == "TEE")
    assert [(a["location"], a["reserved"]) for a in tee["allocations"]] == [
        ("wh", 0),
        ("store-a", 2),
    ]
    cap = next(line for line in moved.json()["lines"] if line["sku"] == "CAP")
    cancelled = admin_client_api.post(
        f"/api/v1/staff/orders/{number}/cancel/", {"lines": [cap["id"]]}, format="json"
    )
    assert cancelled.status_code == 200
    assert (
        next(x for x in cancelled.json()["lines"] if x["sku"] == "CAP")["quantity_cancelled"] == 1
    )
    kinds = [event["kind"] for event in cancelled.json()["timeline"]]
    assert "reallocated" in kinds and "lines_cancelled" in kinds


def test_placement_answer_equals_the_order_read_back(shop, key_client, stocked, store, receive):
    """The 201 body is rendered without serializers; it must match OrderOut of the stored order
    (a ship line split over two locations and a pickup line at the store)."""
    receive(stocked[1], store, 3)
    client = key_client(shop, scopes=["orders"])
    payload = body(
        lines=[
            {"sku": "TEE", "quantity": 6},
            {
                "sku": "CAP",
                "quantity": 1,
                "fulfilment_method": "pickup",
                "pickup_location": store.code,
            },
        ]
    )
    response = client.post("/api/v1/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    assert response.status_code == 201, response.json()
    got = client.get(f"/api/v1/orders/{response.json()['number']}/")
    assert response.json() == got.json()


def test_releasing_an_orders_reservation_by_hand_is_a_409(admin_client_api, place, stocked):
    from inventory.models import Reservation, Stock

    tee, _ = stocked
    order = place([("TEE", 1)])
    reservation = Reservation.objects.get(reference=order.number)
    response = admin_client_api.post(f"/api/v1/inventory/reservations/{reservation.pk}/release/")
    assert response.status_code == 409
    assert response.json()["code"] == "reservation_in_use"
    assert Reservation.objects.filter(pk=reservation.pk).exists()
    assert sum(Stock.objects.filter(variant=tee).values_list("reserved", flat=True)) == 1


def test_order_bodies_share_one_field_tree_and_validate_independently():
    """OrderPlaceIn builds its fields once per class: instances share them, and neither the
    errors nor the values of one body show up in another's validation."""
    from orders.api import OrderPlaceIn, PosSaleIn, StaffOrderPlaceIn

    first, second = OrderPlaceIn(data={}), OrderPlaceIn(data={})
    assert first.fields is second.fields
    assert StaffOrderPlaceIn().fields is not first.fields
    assert "channel" in StaffOrderPlaceIn().fields and "channel" not in first.fields
    assert PosSaleIn().fields["lines"].child is PosSaleIn().fields["lines"].child

    bad = OrderPlaceIn(data=body(lines=[{"sku": "TEE", "quantity": 0}]))
    assert not bad.is_valid()
    good = OrderPlaceIn(data=body(customer={"email": "a@example.com", "first_name": "Ada"}))
    assert good.is_valid(), good.errors
    assert good.validated_data["lines"] == [
        {"sku": "TEE", "quantity": 2},
        {"sku": "CAP", "quantity": 1},
    ]
    assert good.validated_data["fulfilment"]["address"]["line1"] == ADDRESS["line1"]
    other = OrderPlaceIn(data=body(fulfilment={"method": "ship", "address": {"city": "X"}}))
    assert not other.is_valid()
    assert set(other.errors) == {"fulfilment"}
    assert set(other.errors["fulfilment"]["address"]) == {"line1", "country"}
    assert set(bad.errors) == {"lines"}
    assert good.errors == {}
