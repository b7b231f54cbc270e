"""Customers API: the storefront lookup with its scope checks, and the staff endpoints."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from customers.models import Customer, MergeRecord
from customers.order_history import NoOrders, register_order_history_provider
from customers.services import customer_resolve, loyalty_earn
from tests.customers.test_privacy import FakeOrders

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/customers/lookup/"


@pytest.fixture
def ada(channel):
    customer = customer_resolve(
        channel=channel, email="ada@example.com", phone="(415) 555-2671", first_name="Ada"
    )
    loyalty_earn(
        customer=customer,
        channel=channel,
        amount=Decimal("120"),
        idempotency_key="e-1",
        reference="W-1",
    )
    return customer


def staff_client(user, *perms):
    user.user_permissions.add(*[Permission.objects.get(codename=p.split(".")[1]) for p in perms])
    client = APIClient()
    client.force_authenticate(type(user).objects.get(pk=user.pk))  # fresh permission cache
    return client


def test_lookup_by_email_returns_the_unified_profile(ada, channel, key_client):
    response = key_client(channel, scopes=["customers"]).get(LOOKUP, {"email": " ADA@example.com"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == ada.pk
    assert body["loyalty"]["balance"] == 120
    assert body["loyalty"]["balance_value"] == "1.20"
    assert {i["value"] for i in body["identities"]} == {"ada@example.com", "+14155552671"}
    assert body["orders"] == []  # no order-history adapter registered


def test_lookup_by_phone_reads_the_channel_region(ada, make_channel, key_client):
    us_store = make_channel("us-store", kind="store", phone_region="US")
    response = key_client(us_store).get(LOOKUP, {"phone": "415-555-2671"})
    assert response.status_code == 200
    assert response.json()["id"] == ada.pk


def test_lookup_shows_orders_from_the_port(ada, channel, key_client):
    register_order_history_provider(FakeOrders())
    try:
        response = key_client(channel).get(LOOKUP, {"email": "ada@example.com"})
    finally:
        register_order_history_provider(NoOrders())
    assert response.json()["orders"][0]["number"] == "W-1"
    assert response.json()["orders"][0]["total"] == "12.50"


def test_lookup_needs_the_customers_scope(ada, channel, key_client):
    response = key_client(channel, scopes=["catalog", "orders"]).get(
        LOOKUP, {"email": "ada@example.com"}
    )
    assert response.status_code == 403


def test_lookup_by_staff_needs_the_customer_view_permission(ada, staff_user):
    client = APIClient()
    client.force_authenticate(staff_user)
    assert client.get(LOOKUP, {"email": "ada@example.com"}).status_code == 403
    allowed = staff_client(staff_user, "customers.view_customer")
    assert allowed.get(LOOKUP, {"email": "ada@example.com"}).json()["id"] == ada.pk


def test_lookup_anonymous_is_refused(ada, api_client):
    assert api_client.get(LOOKUP, {"email": "ada@example.com"}).status_code in (401, 403)


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"email": "not-an-email"}, "email", "invalid_email"),
        ({"phone": "12"}, "phone", "invalid_phone"),
        ({}, "email", "required"),
        ({"email": "a@example.com", "phone": "+14155552671"}, "email", "required"),
    ],
)
def test_lookup_malformed_input_is_400_naming_the_field(channel, key_client, params, field, code):
    response = key_client(channel).get(LOOKUP, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["errors"][0]["field"] == field


def test_lookup_of_an_unknown_customer_is_404(channel, key_client):
    response = key_client(channel).get(LOOKUP, {"email": "nobody@example.com"})
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"


def test_lookup_costs_a_fixed_number_of_queries(
    ada, channel, key_client, django_assert_max_num_queries
):
    client = key_client(channel)
    with django_assert_max_num_queries(12):
        client.get(LOOKUP, {"email": "ada@example.com"})


def test_staff_merge_and_undo_through_the_api(ada, channel, staff_user):
    other = customer_resolve(channel=channel, email="ada.l@example.com")
    client = staff_client(staff_user, "customers.merge_customer", "customers.view_mergerecord")
    response = client.post("/api/v1/customer-merges/", {"survivor": ada.pk, "merged": other.pk})
    assert response.status_code == 201, response.json()
    record_id = response.json()["id"]
    assert response.json()["merged_by"] == staff_user.pk
    other.refresh_from_db()
    assert other.merged_into_id == ada.pk
    response = client.post(f"/api/v1/customer-merges/{record_id}/undo/")
    assert response.status_code == 200
    assert response.json()["undone_at"] is not None
    other.refresh_from_db()
    assert other.merged_into_id is None


def test_merge_into_itself_or_an_erased_profile_is_409(ada, channel, admin_client_api):
    response = admin_client_api.post(
        "/api/v1/customer-merges/", {"survivor": ada.pk, "merged": ada.pk}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "merge_refused"
    other = customer_resolve(channel=channel, email="other@example.com")
    assert admin_client_api.post(f"/api/v1/customers/{other.pk}/erase/").status_code == 200
    response = admin_client_api.post(
        "/api/v1/customer-merges/", {"survivor": other.pk, "merged": ada.pk}
    )
    assert response.status_code == 409
    assert MergeRecord.objects.count() == 0


def test_merge_needs_the_merge_permission(ada, channel, staff_user):
    other = customer_resolve(channel=channel, email="ada.l@example.com")
    client = staff_client(staff_user, "customers.view_mergerecord", "customers.change_customer")
    response = client.post("/api/v1/customer-merges/", {"survivor": ada.pk, "merged": other.pk})
    assert response.status_code == 403


def test_export_and_erase_need_their_permissions(ada, staff_user):
    client = staff_client(staff_user, "customers.view_customer")
    assert client.get(f"/api/v1/customers/{ada.pk}/export/").status_code == 403
    assert client.post(f"/api/v1/customers/{ada.pk}/erase/").status_code == 403
    client = staff_client(staff_user, "customers.export_customer", "customers.erase_customer")
    export = client.get(f"/api/v1/customers/{ada.pk}/export/")
    assert export.status_code == 200
    assert export.json()["loyalty"]["balance"] == 120
    erased = client.post(f"/api/v1/customers/{ada.pk}/erase/", {"reason": "asked by phone"})
    assert erased.status_code == 200
    assert erased.json()["kind"] == "erasure"
    assert Customer.objects.get(pk=ada.pk).first_name == ""


def test_consents_through_the_api(ada, admin_client_api, channel):
    url = f"/api/v1/customers/{ada.pk}/consents/"
    response = admin_client_api.post(
        url, {"purpose": "marketing_email", "granted": True, "channel": "web"}
    )
    assert response.status_code == 201
    assert response.json()["channel"] == "web"
    admin_client_api.post(url, {"purpose": "marketing_email", "granted": False})
    assert len(admin_client_api.get(url).json()) == 2
    profile = admin_client_api.get(f"/api/v1/customers/{ada.pk}/").json()
    assert profile["consents"]["marketing_email"] is False
    bad = admin_client_api.post(url, {"purpose": "telepathy", "granted": True})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "purpose"


def test_cases_through_the_api(ada, admin_client_api, admin_user):
    response = admin_client_api.post(
        "/api/v1/customer-cases/",
        {
            "customer": ada.pk,
            "kind": "complaint",
            "subject": "Late delivery",
            "channel": "web",
            "order_reference": "W-1",
            "body": "Called twice",
        },
    )
    assert response.status_code == 201, response.json()
    case_id = response.json()["id"]
    base = f"/api/v1/customer-cases/{case_id}"
    assert admin_client_api.post(f"{base}/assign/", {"assignee": admin_user.pk}).status_code == 200
    assert admin_client_api.post(f"{base}/notes/", {"body": "Courier contacted"}).status_code == 200
    response = admin_client_api.post(f"{base}/status/", {"status": "resolved"})
    assert response.status_code == 200
    assert [e["kind"] for e in response.json()["events"]] == [
        "opened",
        "assigned",
        "note",
        "status",
    ]
    refused = admin_client_api.post(f"{base}/status/", {"status": "waiting"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "case_transition_refused"
    bad = admin_client_api.post(f"{base}/status/", {"status": "nonsense"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "status")
    listed = admin_client_api.get("/api/v1/customer-cases/", {"customer": ada.pk})
    assert listed.json()["count"] == 1


def test_staff_search_and_duplicates(ada, channel, admin_client_api):
    customer_resolve(channel=channel, email="a.d.a+x@example.com")
    customer_resolve(channel=channel, email="ada+news@example.com")
    found = admin_client_api.get("/api/v1/customers/", {"q": "ADA@example"})
    assert [c["id"] for c in found.json()["results"]] == [ada.pk]
    groups = admin_client_api.get("/api/v1/customers/duplicates/").json()
    assert groups[0]["reason"] == "email_variant"
    assert len(groups[0]["customer_ids"]) == 2


def test_channel_records_consent_and_withdrawal_for_the_customer_it_names(ada, channel, key_client):
    client = key_client(channel, scopes=["customers"])
    url = "/api/v1/customers/consents/"
    given = client.post(url, {"email": "ada@example.com", "purpose": "sms", "granted": True})
    assert given.status_code == 201
    assert given.json()["customer"] == ada.pk
    client.post(url, {"phone": "4155552671", "purpose": "sms", "granted": False, "source": "STOP"})
    profile = client.get(LOOKUP, {"email": "ada@example.com"}).json()
    assert profile["consents"]["sms"] is False
    nobody = client.post(url, {"purpose": "sms", "granted": True})
    assert (nobody.status_code, nobody.json()["errors"][0]["field"]) == (400, "email")


def test_channel_raises_a_case_on_the_profile(ada, channel, key_client):
    response = key_client(channel, scopes=["customers"]).post(
        "/api/v1/customers/cases/",
        {
            "email": "ada@example.com",
            "kind": "return_request",
            "subject": "Too small",
            "order_reference": "W-1",
        },
    )
    assert response.status_code == 201
    assert response.json()["customer"] == ada.pk
    assert ada.cases.get().channel == channel


def test_storefront_writes_need_the_customers_scope(ada, channel, key_client):
    client = key_client(channel, scopes=["orders"])
    response = client.post(
        "/api/v1/customers/cases/", {"email": "ada@example.com", "kind": "inquiry", "subject": "x"}
    )
    assert response.status_code == 403


def test_staff_reads_the_ledger_and_adjusts_points(ada, staff_user):
    client = staff_client(staff_user, "customers.view_loyaltyentry", "customers.add_loyaltyentry")
    ledger = client.get(f"/api/v1/customers/{ada.pk}/loyalty/").json()
    assert ledger["count"] == 1
    assert ledger["results"][0]["points"] == 120
    url = f"/api/v1/customers/{ada.pk}/loyalty/adjust/"
    body = {"points": -20, "idempotency_key": "goodwill-1", "note": "price match"}
    assert client.post(url, body).status_code == 201
    assert client.post(url, body).status_code == 201  # retried: the same entry
    refused = client.post(url, {**body, "points": -500, "idempotency_key": "g-2"})
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_points")
    assert client.get(f"/api/v1/customers/{ada.pk}/loyalty/").json()["count"] == 2


def test_staff_adds_an_identity_normalised_and_unique(ada, channel, admin_client_api):
    url = f"/api/v1/customers/{ada.pk}/identities/"
    added = admin_client_api.post(url, {"kind": "phone", "value": "+44 20 7946 0018"})
    assert added.status_code == 201
    assert added.json()["value"] == "+442079460018"
    other = customer_resolve(channel=channel, email="eve@example.com")
    taken = admin_client_api.post(
        f"/api/v1/customers/{other.pk}/identities/", {"kind": "email", "value": "ADA@example.com"}
    )
    assert (taken.status_code, taken.json()["code"]) == (409, "identity_taken")
    bad = admin_client_api.post(url, {"kind": "email", "value": "nope"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "value")
