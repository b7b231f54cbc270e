"""The permission matrix: each role across admin pages and staff API endpoints."""

import pytest
from django.urls import reverse

from omni import roles
from tests.staff.conftest import api_login, login

ADMIN, MERCH, INV, STORE, CS, ANALYST = (
    roles.ADMIN,
    roles.MERCHANDISER,
    roles.INVENTORY_MANAGER,
    roles.STORE_STAFF,
    roles.CUSTOMER_SERVICE,
    roles.ANALYST,
)
ALL = {ADMIN, MERCH, INV, STORE, CS, ANALYST}

# admin URL name -> roles that may open it (everyone else gets 403)
ADMIN_PAGES = {
    "admin:index": ALL,
    "admin:catalog_listing_changelist": ALL,
    "admin:catalog_listing_add": {ADMIN, MERCH},
    "admin:catalog_product_changelist": ALL,
    "admin:inventory_stock_changelist": ALL,
    "admin:inventory_stockmovement_changelist": {ADMIN, INV, STORE, ANALYST},
    "admin:inventory_stockmovement_add": {ADMIN, INV, STORE},
    "admin:inventory_transfer_add": {ADMIN, INV},
    "admin:inventory_stafflocation_changelist": {ADMIN, INV, ANALYST},
    "admin:promotions_promotion_changelist": {ADMIN, MERCH, CS, ANALYST},
    "admin:promotions_promotion_add": {ADMIN, MERCH},
    "admin:customers_customer_changelist": {ADMIN, STORE, CS, ANALYST},
    "admin:customers_customer_add": {ADMIN, CS},
    "admin:omni_auditentry_changelist": {ADMIN, ANALYST},
    "admin:omni_channel_changelist": ALL,
    "admin:auth_user_changelist": {ADMIN},
    "admin:orders_order_changelist": {ADMIN, INV, STORE, CS, ANALYST},
    "admin:orders_order_pickup_queue": {ADMIN, INV, STORE, CS, ANALYST},
    "admin:orders_order_lookup": {ADMIN, INV, STORE, CS, ANALYST},
    "admin:orders_order_place": {ADMIN, CS},
    "admin:orders_fulfilment_changelist": {ADMIN, INV, STORE, CS, ANALYST},
    "admin:orders_return_changelist": {ADMIN, STORE, CS, ANALYST},
    "admin:sync_syncrun_changelist": {ADMIN, INV, ANALYST},
    "admin:sync_outboundmessage_changelist": {ADMIN, INV, ANALYST},
    "admin:analytics_dashboard": {ADMIN, MERCH, INV, ANALYST},
}


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ALL))
def test_admin_pages_per_role(role, make_role_user):
    client = login(make_role_user(role))
    refused = []
    for name, allowed in ADMIN_PAGES.items():
        status = client.get(reverse(name)).status_code
        expected = 200 if role in allowed else 403
        if status != expected:
            refused.append((name, status, expected))
    assert refused == []


@pytest.mark.django_db
def test_non_staff_user_is_sent_to_the_login(django_user_model, client):
    user = django_user_model.objects.create_user("shopper", password="x")
    client.force_login(user)
    response = client.get(reverse("admin:inventory_stock_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# (method, path, body) -> roles allowed (others: 403). Allowed calls may still be refused
# by validation (400) or scoping, never by permission.
API_CALLS = [
    (("get", "/api/v1/inventory/stock/", None), ALL),
    (("get", "/api/v1/inventory/movements/", None), {ADMIN, INV, STORE, ANALYST}),
    (("post", "/api/v1/inventory/adjustments/", {}), {ADMIN, INV, STORE}),
    (("post", "/api/v1/inventory/receipts/", {}), {ADMIN, INV, STORE}),
    (("get", "/api/v1/inventory/transfers/", None), {ADMIN, INV, STORE, ANALYST}),
    (("post", "/api/v1/inventory/transfers/", {}), {ADMIN, INV}),
    (("get", "/api/v1/catalog/listings/", None), ALL),
    (("post", "/api/v1/catalog/listings/", {}), {ADMIN, MERCH}),
    (("get", "/api/v1/promotions/", None), {ADMIN, MERCH, CS, ANALYST}),
    (("post", "/api/v1/promotions/", {}), {ADMIN, MERCH}),
    (("get", "/api/v1/customers/", None), {ADMIN, STORE, CS, ANALYST}),
    (("post", "/api/v1/customer-merges/", {}), {ADMIN, CS}),
    (("get", "/api/v1/staff/orders/", None), {ADMIN, INV, STORE, CS, ANALYST}),
    (("post", "/api/v1/staff/orders/", {}), {ADMIN, CS}),
    (
        ("get", "/api/v1/staff/orders/pickup-queue/?location=store-a", None),
        {ADMIN, INV, STORE, CS, ANALYST},
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize("role", sorted(ALL))
def test_staff_api_per_role(role, make_role_user, store_a):
    client = api_login(make_role_user(role, locations=[store_a] if role == STORE else ()))
    wrong = []
    for (method, path, body), allowed in API_CALLS:
        response = getattr(client, method)(path, body, format="json")
        if role in allowed:
            ok = response.status_code in (200, 201, 400)
        else:
            ok = response.status_code == 403
        if not ok:
            wrong.append((method, path, response.status_code))
    assert wrong == []


@pytest.mark.django_db
def test_analyst_cannot_write_through_the_admin(make_role_user, stocked):
    client = login(make_role_user(ANALYST))
    stock = stocked[("TEE-S", "store-a")]
    url = reverse("admin:inventory_stock_change", args=[stock.pk])
    assert client.get(url).status_code == 200  # read-only view
    response = client.post(url, {"reorder_point": 9})
    assert response.status_code == 403
    stock.refresh_from_db()
    assert stock.reorder_point == 0


@pytest.mark.django_db
def test_loyalty_settings_cannot_be_added_without_the_permission(make_role_user):
    store = login(make_role_user(STORE))
    assert store.get(reverse("admin:customers_loyaltysettings_add")).status_code == 403
    service = login(make_role_user(CS))
    assert service.get(reverse("admin:customers_loyaltysettings_add")).status_code == 200
