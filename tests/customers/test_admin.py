"""The admin's customer page is the single view; actions go through the services."""

import json
from decimal import Decimal

import pytest

from customers.models import Customer, MergeRecord, PrivacyRequest, ServiceCase
from customers.order_history import NoOrders, register_order_history_provider
from customers.services import (
    case_open,
    consent_record,
    customer_resolve,
    loyalty_earn,
)
from tests.customers.test_privacy import FakeOrders

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/customers/customer/"


@pytest.fixture
def ada(channel):
    customer = customer_resolve(channel=channel, email="ada@example.com", first_name="Ada")
    loyalty_earn(
        customer=customer,
        channel=channel,
        amount=Decimal("75"),
        idempotency_key="e-1",
        reference="W-1",
    )
    consent_record(customer=customer, purpose="sms", granted=True, channel=channel)
    case_open(customer=customer, kind="complaint", subject="Scratched table", channel=channel)
    return customer


def test_customer_page_is_the_single_view(ada, admin_client):
    register_order_history_provider(FakeOrders())
    try:
        response = admin_client.get(f"{CHANGELIST}{ada.pk}/change/")
    finally:
        register_order_history_provider(NoOrders())
    assert response.status_code == 200
    html = response.content.decode()
    for expected in [
        "ada@example.com",
        "75 points",
        "W-1",
        "12.50 USD",
        "granted",
        "Scratched table",
    ]:
        assert expected in html


def test_changelist_lists_email_and_points(ada, admin_client):
    response = admin_client.get(CHANGELIST, {"q": "ada@example.com"})
    assert response.status_code == 200
    assert "ada@example.com" in response.content.decode()


def test_merge_action_asks_for_the_survivor_then_merges(ada, channel, admin_client):
    other = customer_resolve(channel=channel, email="ada.l@example.com")
    data = {"action": "merge_profiles", "_selected_action": [ada.pk, other.pk]}
    response = admin_client.post(CHANGELIST, data)
    assert response.status_code == 200
    assert "Merge into the selected profile" in response.content.decode()
    response = admin_client.post(CHANGELIST, {**data, "confirm": "yes", "survivor": other.pk})
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.merged_into_id == other.pk
    record = MergeRecord.objects.get()
    assert record.merged_by.username == "admin"
    response = admin_client.post(
        "/admin/customers/mergerecord/",
        {"action": "undo_merges", "_selected_action": [record.pk], "confirm_action": "yes"},
    )
    ada.refresh_from_db()
    assert ada.merged_into_id is None


def test_export_action_downloads_json(ada, admin_client):
    response = admin_client.post(
        CHANGELIST, {"action": "export_profiles", "_selected_action": [ada.pk]}
    )
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["loyalty"]["balance"] == 75
    assert PrivacyRequest.objects.filter(kind="export").count() == 1


def test_erase_action_confirms_then_erases(ada, admin_client):
    data = {"action": "erase_profiles", "_selected_action": [ada.pk]}
    assert "cannot be undone" in admin_client.post(CHANGELIST, data).content.decode()
    admin_client.post(CHANGELIST, {**data, "confirm": "yes", "reason": "request #4"})
    ada.refresh_from_db()
    assert ada.erased_at is not None
    assert PrivacyRequest.objects.get(kind="erasure").reason == "request #4"


def test_staff_without_erase_permission_has_no_erase_action(ada, client, staff_user):
    from django.contrib.auth.models import Permission

    staff_user.user_permissions.add(Permission.objects.get(codename="view_customer"))
    client.force_login(staff_user)
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    assert "erase_profiles" not in response.content.decode()


def test_case_admin_changes_go_on_the_timeline(ada, admin_client, admin_user):
    case = ServiceCase.objects.get()
    response = admin_client.post(
        f"/admin/customers/servicecase/{case.pk}/change/",
        {
            "assignee": admin_user.pk,
            "new_status": "in_progress",
            "new_note": "Called the customer",
            "events-TOTAL_FORMS": 1,
            "events-INITIAL_FORMS": 1,
            "events-MIN_NUM_FORMS": 0,
            "events-MAX_NUM_FORMS": 1000,
            "events-0-id": case.events.get().pk,
            "events-0-case": case.pk,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.status == "in_progress"
    assert case.assignee == admin_user
    assert [e.kind for e in case.events.all()] == ["opened", "assigned", "note", "status"]


def test_admin_pages_render(ada, admin_client):
    for url in [
        "/admin/customers/servicecase/add/",
        "/admin/customers/loyaltyentry/",
        "/admin/customers/loyaltysettings/add/",
        "/admin/customers/consentrecord/add/",
        "/admin/customers/privacyrequest/",
        "/admin/customers/mergerecord/",
        "/admin/customers/loyaltytier/add/",
    ]:
        assert admin_client.get(url).status_code == 200, url
    assert Customer.objects.count() == 1


def test_case_added_in_the_admin_opens_with_its_timeline(ada, admin_client, channel):
    response = admin_client.post(
        "/admin/customers/servicecase/add/",
        {
            "customer": ada.pk,
            "kind": "inquiry",
            "channel": channel.pk,
            "subject": "Gift wrapping?",
            "order_reference": "",
            "body": "Asked at the till",
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
            "events-MIN_NUM_FORMS": 0,
            "events-MAX_NUM_FORMS": 1000,
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    case = ServiceCase.objects.get(subject="Gift wrapping?")
    assert [(e.kind, e.body) for e in case.events.all()] == [("opened", "Asked at the till")]


def test_consent_added_in_the_admin_is_a_new_record(ada, admin_client, admin_user):
    response = admin_client.post(
        "/admin/customers/consentrecord/add/",
        {"customer": ada.pk, "purpose": "sms", "granted": "", "source": "phone call"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    latest = ada.consents.filter(purpose="sms").first()
    assert (latest.granted, latest.recorded_by) == (False, admin_user)
    assert ada.consents.filter(purpose="sms").count() == 2


def test_duplicates_page_links_groups_to_the_merge_action(ada, channel, admin_client):
    twin = customer_resolve(channel=channel, email="ada+promo@example.com")
    page = admin_client.get("/admin/customers/customer/duplicates/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "same mailbox" in html
    assert f"?id__in={ada.pk},{twin.pk}" in html
    listed = admin_client.get(CHANGELIST, {"id__in": f"{ada.pk},{twin.pk}"})
    assert listed.status_code == 200
    assert "Duplicate candidates" in admin_client.get(CHANGELIST).content.decode()
