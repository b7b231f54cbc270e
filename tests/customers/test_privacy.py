"""Privacy export holds everything; erasure anonymises personal data and keeps the facts."""

from datetime import datetime
from decimal import Decimal

import pytest

from customers.errors import CustomerErased
from customers.models import Address, Identity, LoyaltyEntry, PrivacyRequest, SpendRecord
from customers.order_history import NoOrders, OrderSummary, register_order_history_provider
from customers.selectors import customer_find, loyalty_balance
from customers.services import (
    case_add_note,
    case_open,
    consent_record,
    customer_erase,
    customer_export,
    customer_resolve,
    loyalty_earn,
)
from tests.customers.factories import AddressFactory

pytestmark = pytest.mark.django_db


class FakeOrders:
    def __init__(self):
        self.anonymised = []

    def orders_for(self, *, customer_id, limit=50):
        return [
            OrderSummary(
                number="W-1",
                channel="web",
                status="completed",
                placed_at=datetime(2026, 1, 2, 3, 4, 5).astimezone(),
                total=Decimal("12.50"),
                currency="USD",
            )
        ]

    def export_for(self, *, customer_id):
        return [{"number": "W-1", "customer_id": customer_id}]

    def anonymise_for(self, *, customer_id):
        self.anonymised.append(customer_id)
        return 1


@pytest.fixture
def orders():
    fake = FakeOrders()
    register_order_history_provider(fake)
    yield fake
    register_order_history_provider(NoOrders())


@pytest.fixture
def ada(channel):
    customer = customer_resolve(
        channel=channel, email="ada@example.com", phone="+14155552671", first_name="Ada"
    )
    AddressFactory(customer=customer, line1="12 Analytical St", postcode="10001")
    consent_record(customer=customer, purpose="marketing_email", granted=True, channel=channel)
    consent_record(customer=customer, purpose="marketing_email", granted=False, channel=channel)
    loyalty_earn(
        customer=customer,
        channel=channel,
        amount=Decimal("50"),
        idempotency_key="e-1",
        reference="W-1",
    )
    case = case_open(customer=customer, kind="complaint", subject="Broken box", body="Call Ada")
    case_add_note(case=case, body="Ada's number is 415 555 2671")
    return customer


def test_export_holds_everything(ada, orders, admin_user):
    data = customer_export(customer=ada, user=admin_user)
    assert data["customer"]["first_name"] == "Ada"
    assert {i["value"] for i in data["identities"]} == {"ada@example.com", "+14155552671"}
    assert data["addresses"][0]["line1"] == "12 Analytical St"
    assert data["consents"]["current"]["marketing_email"] is False
    assert len(data["consents"]["history"]) == 2
    assert data["loyalty"]["balance"] == 50
    assert data["loyalty"]["entries"][0]["amount"] == "50.00"
    assert data["spend"][0]["reference"] == "W-1"
    assert [e["kind"] for e in data["cases"][0]["timeline"]] == ["opened", "note"]
    assert data["orders"] == [{"number": "W-1", "customer_id": ada.pk}]
    record = PrivacyRequest.objects.get()
    assert (record.kind, record.requested_by) == ("export", admin_user)


def test_erasure_anonymises_personal_data_and_keeps_facts(ada, orders, admin_user, channel):
    record = customer_erase(customer=ada, user=admin_user, reason="GDPR art. 17")
    ada.refresh_from_db()
    assert ada.erased_at is not None
    assert (ada.first_name, ada.last_name, ada.notes) == ("", "", "")
    values = set(Identity.objects.filter(customer=ada).values_list("value", flat=True))
    assert all(v.startswith("erased:") for v in values) and len(values) == 2
    address = Address.objects.get(customer=ada)
    assert (address.line1, address.postcode, address.name) == ("", "", "")
    assert "415" not in str(list(ada.cases.get().events.values_list("body", flat=True)))
    # facts stay
    assert loyalty_balance(customer=ada) == 50
    assert LoyaltyEntry.objects.filter(customer=ada).count() == 1
    assert SpendRecord.objects.filter(customer=ada).count() == 1
    assert orders.anonymised == [ada.pk]
    assert record.summary["identities"] == 2
    assert (record.kind, record.requested_by, record.reason) == (
        "erasure",
        admin_user,
        "GDPR art. 17",
    )
    # nothing resolves to the erased profile; the same email starts afresh
    assert customer_find(email="ada@example.com") is None
    fresh = customer_resolve(channel=channel, email="ada@example.com")
    assert fresh.pk != ada.pk
    # erasing again changes nothing and returns the first record
    assert customer_erase(customer=ada).pk == record.pk


def test_erased_profile_takes_no_new_consents_or_cases(ada):
    customer_erase(customer=ada)
    ada.refresh_from_db()
    with pytest.raises(CustomerErased):
        consent_record(customer=ada, purpose="sms", granted=True)
    with pytest.raises(CustomerErased):
        case_open(customer=ada, kind="inquiry", subject="hi")
