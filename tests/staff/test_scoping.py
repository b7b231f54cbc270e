"""Store staff work with their own store only, in the admin and the staff API alike."""

import pytest
from django.urls import reverse

from inventory.models import Stock, StockMovement
from inventory.scoping import location_scope
from omni import roles
from tests.staff.conftest import api_login, login


@pytest.mark.django_db
def test_store_staff_admin_changelist_lists_only_their_store(store_user, stocked):
    response = login(store_user).get(reverse("admin:inventory_stock_changelist"))
    assert response.status_code == 200
    shown = {stock.location.code for stock in response.context["cl"].result_list}
    assert shown == {"store-a"}
    assert response.context["cl"].result_count == 2


@pytest.mark.django_db
def test_store_staff_cannot_open_another_stores_stock_in_the_admin(store_user, stocked):
    client = login(store_user)
    own = stocked[("TEE-S", "store-a")]
    other = stocked[("TEE-S", "store-b")]
    assert client.get(reverse("admin:inventory_stock_change", args=[own.pk])).status_code == 200
    response = client.get(reverse("admin:inventory_stock_change", args=[other.pk]))
    # The admin answers "does not exist" (a redirect with a message), never the page.
    assert response.status_code == 302
    response = client.post(
        reverse("admin:inventory_stock_change", args=[other.pk]), {"reorder_point": 7}
    )
    other.refresh_from_db()
    assert other.reorder_point == 0


@pytest.mark.django_db
def test_store_staff_ledger_and_operation_form_are_scoped(store_user, stocked, store_b):
    client = login(store_user)
    response = client.get(reverse("admin:inventory_stockmovement_changelist"))
    codes = {m.stock.location.code for m in response.context["cl"].result_list}
    assert codes == {"store-a"}
    form = client.get(reverse("admin:inventory_stockmovement_add")).context["adminform"].form
    assert list(form.fields["location"].queryset.values_list("code", flat=True)) == ["store-a"]
    # Posting the other store anyway is refused by the form; nothing is booked there.
    before = StockMovement.objects.filter(stock__location=store_b).count()
    client.post(
        reverse("admin:inventory_stockmovement_add"),
        {"operation": "receipt", "location": store_b.pk, "sku": "TEE-S", "amount": 3,
         "reference": "X", "note": ""},
    )  # fmt: skip
    assert StockMovement.objects.filter(stock__location=store_b).count() == before


@pytest.mark.django_db
def test_store_staff_api_lists_and_retrieves_only_their_store(store_user, stocked):
    client = api_login(store_user)
    listed = client.get("/api/v1/inventory/stock/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert {row["location"] for row in rows} == {"store-a"}
    other = stocked[("TEE-S", "store-b")]
    assert client.get(f"/api/v1/inventory/stock/{other.pk}/").status_code == 404
    response = client.patch(
        f"/api/v1/inventory/stock/{other.pk}/", {"reorder_point": 4}, format="json"
    )
    assert response.status_code == 404
    locations = client.get("/api/v1/inventory/locations/").json()
    rows = locations["results"] if isinstance(locations, dict) else locations
    assert [row["code"] for row in rows] == ["store-a"]


@pytest.mark.django_db
def test_store_staff_cannot_book_stock_at_another_store(store_user, stocked):
    client = api_login(store_user)
    other = stocked[("TEE-S", "store-b")]
    response = client.post(
        "/api/v1/inventory/adjustments/",
        {"location": "store-b", "sku": "TEE-S", "quantity": -1, "note": "broken"},
        format="json",
    )
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "location_out_of_scope"
    assert body["errors"][0]["field"] == "location"
    assert Stock.objects.get(pk=other.pk).on_hand == 5
    response = client.post(
        "/api/v1/inventory/adjustments/",
        {"location": "store-a", "sku": "TEE-S", "quantity": -1, "note": "broken"},
        format="json",
    )
    assert response.status_code == 201
    assert Stock.objects.get(pk=stocked[("TEE-S", "store-a")].pk).on_hand == 4


@pytest.mark.django_db
def test_store_staff_without_an_assignment_sees_no_stock(make_role_user, stocked):
    user = make_role_user(roles.STORE_STAFF, "newbie")
    assert location_scope(user) == frozenset()
    response = login(user).get(reverse("admin:inventory_stock_changelist"))
    assert response.context["cl"].result_count == 0
    rows = api_login(user).get("/api/v1/inventory/stock/").json()
    assert (rows["results"] if isinstance(rows, dict) else rows) == []


@pytest.mark.django_db
def test_other_roles_are_not_limited(make_role_user, stocked):
    for role in (roles.INVENTORY_MANAGER, roles.ANALYST, roles.CUSTOMER_SERVICE):
        user = make_role_user(role, role.replace(" ", ""))
        assert location_scope(user) is None
        response = login(user).get(reverse("admin:inventory_stock_changelist"))
        assert response.context["cl"].result_count == 4
