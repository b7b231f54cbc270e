import pytest
from django.contrib.auth.models import Permission

from inventory.models import LowStockAlert, Stock, StockMovement, TransferStatus
from inventory.services import StockRequest, low_stock_scan, stock_reserve
from tests.catalog.factories import ListingFactory, VariantFactory
from tests.inventory.factories import ChannelLocationFactory, StockLocationFactory


@pytest.fixture
def listed(selling_channel, variant):
    """TEE-M is sold in the selling channel (availability answers only for what it sells)."""
    return ListingFactory(variant=variant, channel=selling_channel)


@pytest.fixture
def pickup_only(selling_channel):
    location = StockLocationFactory(
        code="kiosk", name="Kiosk", kind="store", pickup_enabled=True, ships_enabled=False
    )
    ChannelLocationFactory(channel=selling_channel, location=location, priority=3)
    return location


def test_availability_per_sku_ship_and_pickup(
    selling_channel, variant, listed, store, warehouse, pickup_only, receive, key_client
):
    other = ListingFactory(variant=VariantFactory(sku="CAP"), channel=selling_channel).variant
    selling_channel.safety_stock = 1
    selling_channel.save(update_fields=["safety_stock"])
    receive(variant, store, 2)
    receive(variant, warehouse, 3)
    receive(variant, pickup_only, 4)
    client = key_client(selling_channel, scopes=["catalog"])
    response = client.get("/api/v1/availability/", {"sku": ["TEE-M", "CAP"]})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["channel"] == selling_channel.code
    tee, cap = body["results"]
    # Pool 9, less the buffer of 1 = 8; only store + warehouse (5) can ship.
    assert (tee["sku"], tee["available"], tee["ship_available"]) == ("TEE-M", 8, 5)
    assert tee["pickup"] == [
        {"location": "kiosk", "name": "Kiosk", "available": 4},
        {"location": "store-a", "name": "Store A", "available": 2},
    ]
    # Nothing stocked anywhere: every pickup location is still listed, with 0.
    assert cap == {"sku": other.sku, "available": 0, "ship_available": 0, "pickup": [
        {"location": "kiosk", "name": "Kiosk", "available": 0},
        {"location": "store-a", "name": "Store A", "available": 0},
    ]}  # fmt: skip


def test_availability_pickup_is_capped_by_the_channel_rule(
    selling_channel, variant, listed, store, receive, key_client
):
    selling_channel.availability_cap = 2
    selling_channel.save(update_fields=["availability_cap"])
    receive(variant, store, 6)
    response = key_client(selling_channel).get("/api/v1/availability/?sku=TEE-M")
    (tee,) = response.json()["results"]
    assert tee["available"] == 2
    assert tee["pickup"] == [{"location": "store-a", "name": "Store A", "available": 2}]


def test_availability_hides_inactive_locations(
    selling_channel, variant, listed, store, warehouse, receive, key_client
):
    receive(variant, store, 2)
    receive(variant, warehouse, 3)
    store.active = False
    store.save(update_fields=["active"])
    (tee,) = key_client(selling_channel).get("/api/v1/availability/?sku=TEE-M").json()["results"]
    assert (tee["available"], tee["pickup"]) == (3, [])


def test_availability_rejects_unknown_or_missing_skus(selling_channel, listed, key_client):
    client = key_client(selling_channel)
    response = client.get("/api/v1/availability/", {"sku": ["TEE-M", "NOPE"]})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_sku"
    assert body["skus"] == ["NOPE"]
    assert body["errors"][0]["field"] == "sku"
    response = client.get("/api/v1/availability/")
    assert (response.status_code, response.json()["code"]) == (400, "required")


@pytest.mark.parametrize(
    "unsold",
    ["unlisted", "listed_elsewhere", "unpublished", "variant_inactive", "product_inactive"],
)
def test_availability_answers_only_for_skus_the_channel_sells(
    unsold, selling_channel, variant, listed, store, receive, key_client
):
    """A channel's key sees only its own catalog: a SKU it does not sell is refused like an
    unknown one, whether or not it exists or is stocked at the channel's locations."""
    hidden = VariantFactory(sku="HIDDEN")
    receive(hidden, store, 5)
    if unsold == "listed_elsewhere":
        ListingFactory(variant=hidden)
    elif unsold != "unlisted":
        ListingFactory(variant=hidden, channel=selling_channel, published=unsold != "unpublished")
        if unsold == "variant_inactive":
            hidden.active = False
            hidden.save(update_fields=["active"])
        elif unsold == "product_inactive":
            hidden.product.active = False
            hidden.product.save(update_fields=["active"])
    response = key_client(selling_channel).get(
        "/api/v1/availability/", {"sku": ["TEE-M", "HIDDEN"]}
    )
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["skus"]) == ("unknown_sku", ["HIDDEN"])
    sold = key_client(selling_channel).get("/api/v1/availability/", {"sku": "TEE-M"})
    assert sold.status_code == 200


def test_availability_needs_the_catalog_scope(selling_channel, variant, key_client):
    response = key_client(selling_channel, scopes=["orders"]).get("/api/v1/availability/?sku=TEE-M")
    assert response.status_code == 403


def test_staff_reads_availability_naming_the_channel(
    selling_channel, variant, listed, store, receive, admin_client_api
):
    receive(variant, store, 2)
    response = admin_client_api.get(
        "/api/v1/availability/?sku=TEE-M", HTTP_X_CHANNEL=selling_channel.code
    )
    assert response.json()["results"][0]["available"] == 2


def test_receipt_api_books_movements(admin_client_api, variant, warehouse, admin_user):
    response = admin_client_api.post(
        "/api/v1/inventory/receipts/",
        {"location": "wh-central", "reference": "PO-9", "lines": [{"sku": "TEE-M", "quantity": 4}]},
    )
    assert response.status_code == 201, response.json()
    (movement,) = response.json()
    assert (movement["sku"], movement["quantity"], movement["reason"]) == ("TEE-M", 4, "receipt")
    assert movement["user"] == admin_user.username
    assert Stock.objects.get(variant=variant, location=warehouse).on_hand == 4


@pytest.mark.parametrize(
    ("line", "location", "code", "field"),
    [
        ({"sku": "TEE-M", "quantity": 0}, "wh-central", "invalid_quantity", "lines.0.quantity"),
        ({"sku": "TEE-M", "quantity": -3}, "wh-central", "invalid_quantity", "lines.0.quantity"),
        ({"sku": "NOPE", "quantity": 1}, "wh-central", "unknown_sku", "lines.0.sku"),
        ({"sku": "TEE-M", "quantity": 1}, "nowhere", "unknown_location", "location"),
    ],
)
def test_receipt_api_bad_input(admin_client_api, variant, warehouse, line, location, code, field):
    response = admin_client_api.post(
        "/api/v1/inventory/receipts/", {"location": location, "reference": "PO", "lines": [line]}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["errors"][0]["field"] == field
    assert not StockMovement.objects.exists()


def test_operations_need_staff_permission(
    selling_channel, variant, warehouse, key_client, staff_user, api_client
):
    line = {"sku": "TEE-M", "quantity": 1}
    payload = {"location": "wh-central", "reference": "PO", "lines": [line]}
    assert (
        key_client(selling_channel).post("/api/v1/inventory/receipts/", payload).status_code == 403
    )
    api_client.force_authenticate(staff_user)
    assert api_client.post("/api/v1/inventory/receipts/", payload).status_code == 403
    staff_user.user_permissions.add(Permission.objects.get(codename="add_stockmovement"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)
    api_client.force_authenticate(staff_user)
    assert api_client.post("/api/v1/inventory/receipts/", payload).status_code == 201


def test_write_off_beyond_available_is_a_409_naming_the_sku(
    admin_client_api, variant, store, receive
):
    receive(variant, store, 1)
    response = admin_client_api.post(
        "/api/v1/inventory/write-offs/", {"location": "store-a", "sku": "TEE-M", "quantity": 2}
    )
    assert response.status_code == 409
    assert response.json()["shortfalls"] == [{"sku": "TEE-M", "requested": 2, "available": 1}]


def test_adjustment_api(admin_client_api, variant, store, receive):
    receive(variant, store, 1)
    response = admin_client_api.post(
        "/api/v1/inventory/adjustments/",
        {"location": "store-a", "sku": "TEE-M", "quantity": 2, "note": "found behind shelf"},
    )
    assert response.status_code == 201
    assert response.json()[0]["reason"] == "adjustment"
    response = admin_client_api.post(
        "/api/v1/inventory/adjustments/",
        {"location": "store-a", "sku": "TEE-M", "quantity": 0, "note": "x"},
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_quantity")


def test_transfer_api_flow(admin_client_api, variant, warehouse, store, receive):
    receive(variant, warehouse, 5)
    same = admin_client_api.post(
        "/api/v1/inventory/transfers/",
        {"source": "store-a", "destination": "store-a", "lines": [{"sku": "TEE-M", "quantity": 1}]},
    )
    assert (same.status_code, same.json()["code"]) == (400, "same_location")
    created = admin_client_api.post(
        "/api/v1/inventory/transfers/",
        {"source": "wh-central", "destination": "store-a",
         "lines": [{"sku": "TEE-M", "quantity": 4}]},
    )  # fmt: skip
    assert created.status_code == 201, created.json()
    url = f"/api/v1/inventory/transfers/{created.json()['id']}/"
    assert admin_client_api.post(url + "ship/").json()["status"] == TransferStatus.IN_TRANSIT
    partial = admin_client_api.post(
        url + "receive/", {"lines": [{"sku": "TEE-M", "quantity": 1}]}
    ).json()
    assert partial["status"] == TransferStatus.PARTIALLY_RECEIVED
    assert partial["lines"] == [
        {"sku": "TEE-M", "quantity": 4, "quantity_received": 1, "outstanding": 3}
    ]
    too_many = admin_client_api.post(url + "receive/", {"lines": [{"sku": "TEE-M", "quantity": 9}]})
    assert (too_many.status_code, too_many.json()["code"]) == (400, "exceeds_outstanding")
    done = admin_client_api.post(url + "receive/", {}).json()
    assert done["status"] == TransferStatus.RECEIVED
    again = admin_client_api.post(url + "ship/")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_transfer_state")
    stock = admin_client_api.get("/api/v1/inventory/stock/", {"location": "store-a"}).json()
    assert [(r["sku"], r["on_hand"], r["incoming"]) for r in stock["results"]] == [("TEE-M", 4, 0)]


def test_count_api(admin_client_api, variant, store, receive):
    receive(variant, store, 5)
    response = admin_client_api.post(
        "/api/v1/inventory/counts/",
        {"location": "store-a", "lines": [{"sku": "TEE-M", "counted": 3}]},
    )
    assert response.status_code == 201, response.json()
    assert response.json()["lines"] == [
        {"sku": "TEE-M", "expected": 5, "counted": 3, "difference": -2}
    ]
    bad = admin_client_api.post(
        "/api/v1/inventory/counts/", {"location": "store-a", "lines": [{"sku": "TEE-M"}]}
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "lines.0.counted"


def test_low_stock_and_reservations_lists(
    admin_client_api, selling_channel, variant, store, receive
):
    receive(variant, store, 2)
    Stock.objects.update(reorder_point=3)
    low_stock_scan()
    body = admin_client_api.get("/api/v1/inventory/low-stock/", {"open": "true"}).json()
    assert [(r["sku"], r["location"], r["available"]) for r in body["results"]] == [
        ("TEE-M", "store-a", 2)
    ]
    assert LowStockAlert.objects.count() == 1
    (reservation,) = stock_reserve(
        channel=selling_channel, requests=[StockRequest(variant.pk, store.pk, 1)], reference="O-1"
    )
    listed = admin_client_api.get("/api/v1/inventory/reservations/").json()["results"]
    assert [(r["reference"], r["channel"], r["quantity"]) for r in listed] == [
        ("O-1", selling_channel.code, 1)
    ]
    released = admin_client_api.post(f"/api/v1/inventory/reservations/{reservation.pk}/release/")
    assert released.status_code == 204
    assert Stock.objects.get().reserved == 0


def test_stock_reorder_point_is_editable_but_counters_are_not(
    admin_client_api, variant, store, receive
):
    receive(variant, store, 2)
    stock = Stock.objects.get()
    response = admin_client_api.patch(
        f"/api/v1/inventory/stock/{stock.pk}/", {"reorder_point": 4, "on_hand": 99}
    )
    assert response.status_code == 200
    stock.refresh_from_db()
    assert (stock.reorder_point, stock.on_hand) == (4, 2)
