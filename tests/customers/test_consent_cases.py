"""Consent per purpose (latest wins) and service cases with a timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.errors import CaseTransitionRefused
from customers.selectors import consents_current, has_consent
from customers.services import (
    case_add_note,
    case_assign,
    case_open,
    case_set_status,
    consent_record,
)
from omni.errors import InvalidInput

pytestmark = pytest.mark.django_db


def test_latest_consent_record_wins_and_withdrawal_is_one_call(customer, channel, store):
    consent_record(customer=customer, purpose="marketing_email", granted=True, channel=channel)
    assert has_consent(customer=customer, purpose="marketing_email")
    consent_record(customer=customer, purpose="marketing_email", granted=False, channel=store)
    assert not has_consent(customer=customer, purpose="marketing_email")
    current = consents_current(customer=customer)
    assert current["marketing_email"].channel == store
    assert current["sms"] is None
    assert not has_consent(customer=customer, purpose="sms")


def test_a_backdated_record_does_not_override_a_newer_one(customer):
    consent_record(customer=customer, purpose="sms", granted=True)
    consent_record(
        customer=customer,
        purpose="sms",
        granted=False,
        at=timezone.now() - timedelta(days=3),
    )
    assert has_consent(customer=customer, purpose="sms")


def test_unknown_purpose_is_refused(customer):
    with pytest.raises(InvalidInput) as caught:
        consent_record(customer=customer, purpose="telepathy", granted=True)
    assert caught.value.field == "purpose"


def test_case_lifecycle_writes_a_timeline(customer, store, staff_user):
    case = case_open(
        customer=customer,
        kind="return_request",
        subject="Wrong size",
        channel=store,
        order_reference="W-100",
        body="Customer called",
        user=staff_user,
    )
    case_assign(case=case, assignee=staff_user, user=staff_user)
    case_set_status(case=case, status="in_progress", user=staff_user)
    case_add_note(case=case, body="Label sent", user=staff_user)
    case_set_status(case=case, status="resolved", user=staff_user, note="Refunded")
    case.refresh_from_db()
    assert case.status == "resolved"
    assert case.closed_at is not None
    assert [e.kind for e in case.events.all()] == ["opened", "assigned", "status", "note", "status"]
    with pytest.raises(CaseTransitionRefused):
        case_set_status(case=case, status="waiting")
    case_set_status(case=case, status="open", note="Customer came back")
    case.refresh_from_db()
    assert case.closed_at is None


def test_case_needs_a_known_kind_and_a_subject(customer):
    with pytest.raises(InvalidInput) as caught:
        case_open(customer=customer, kind="gossip", subject="x")
    assert caught.value.field == "kind"
    with pytest.raises(InvalidInput) as caught:
        case_open(customer=customer, kind="inquiry", subject="  ")
    assert caught.value.field == "subject"


def test_cases_are_assigned_to_staff_only(customer, django_user_model):
    shopper = django_user_model.objects.create_user("shopper")
    case = case_open(customer=customer, kind="inquiry", subject="hi")
    with pytest.raises(InvalidInput):
        case_assign(case=case, assignee=shopper)
