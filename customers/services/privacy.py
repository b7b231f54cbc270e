"""Privacy: export everything held about a customer; erase personal data, keeping the facts."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import CharField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from customers.errors import CustomerError
from customers.locks import customer_for_update
from customers.models import (
    Address,
    CaseEvent,
    ConsentRecord,
    Customer,
    Identity,
    LoyaltyEntry,
    MergeRecord,
    PrivacyRequest,
    PrivacyRequestKind,
    ServiceCase,
    SpendRecord,
)
from customers.order_history import order_history_provider
from customers.selectors import consents_current, loyalty_balance

ERASED = "[erased]"


def _user(user):
    return user if getattr(user, "pk", None) else None


def customer_export_data(*, customer: Customer) -> dict[str, Any]:
    """Everything Omni holds about the customer, JSON-safe (times ISO, money as strings)."""
    pk = customer.pk
    customer = Customer.objects.select_related("preferred_store").get(pk=pk)
    cases = list(
        ServiceCase.objects.filter(customer_id=pk)
        .select_related("channel", "assignee")
        .prefetch_related("events")
    )
    data = {
        "format": "omni.customer-export.v1",
        "exported_at": timezone.now(),
        "customer": {
            "id": pk,
            "first_name": customer.first_name,
            "last_name": customer.last_name,
            "preferred_store": customer.preferred_store.code if customer.preferred_store else None,
            "tags": customer.tags,
            "notes": customer.notes,
            "created_at": customer.created_at,
            "last_seen_at": customer.last_seen_at,
            "tier": customer.tier_code or None,
            "tier_spend": customer.tier_spend,
            "segment": customer.segment or None,
            "rfm": {
                "recency": customer.rfm_recency,
                "frequency": customer.rfm_frequency,
                "monetary": customer.rfm_monetary,
            },
            "erased_at": customer.erased_at,
            "merged_into": customer.merged_into_id,
        },
        "identities": [
            {
                "kind": i.kind,
                "value": i.value,
                "as_given": i.raw_value,
                "channel": i.channel.code if i.channel else None,
                "created_at": i.created_at,
            }
            for i in Identity.objects.filter(customer_id=pk).select_related("channel")
        ],
        "addresses": list(
            Address.objects.filter(customer_id=pk).values(
                "label",
                "name",
                "line1",
                "line2",
                "city",
                "postcode",
                "region",
                "country",
                "phone",
                "is_default",
                "created_at",
            )
        ),
        "consents": {
            "current": {
                purpose: (record.granted if record else None)
                for purpose, record in consents_current(customer=customer).items()
            },
            "history": [
                {
                    "purpose": r.purpose,
                    "granted": r.granted,
                    "channel": r.channel.code if r.channel else None,
                    "source": r.source,
                    "recorded_at": r.recorded_at,
                }
                for r in ConsentRecord.objects.filter(customer_id=pk).select_related("channel")
            ],
        },
        "loyalty": {
            "balance": loyalty_balance(customer=customer),
            "entries": [
                {
                    "kind": e.kind,
                    "points": e.points,
                    "reference": e.reference,
                    "channel": e.channel.code if e.channel else None,
                    "amount": e.amount,
                    "expires_at": e.expires_at,
                    "note": e.note,
                    "created_at": e.created_at,
                }
                for e in LoyaltyEntry.objects.filter(customer_id=pk).select_related("channel")
            ],
        },
        "spend": [
            {
                "channel": s.channel.code,
                "amount": s.amount,
                "reference": s.reference,
                "occurred_at": s.occurred_at,
            }
            for s in SpendRecord.objects.filter(customer_id=pk).select_related("channel")
        ],
        "cases": [
            {
                "id": c.pk,
                "kind": c.kind,
                "subject": c.subject,
                "status": c.status,
                "channel": c.channel.code if c.channel else None,
                "order_reference": c.order_reference,
                "created_at": c.created_at,
                "closed_at": c.closed_at,
                "timeline": [
                    {
                        "kind": e.kind,
                        "body": e.body,
                        "from_status": e.from_status,
                        "to_status": e.to_status,
                        "at": e.created_at,
                    }
                    for e in c.events.all()
                ],
            }
            for c in cases
        ],
        "merges": [
            {
                "survivor": m.survivor_id,
                "merged": m.merged_id,
                "merged_at": m.merged_at,
                "undone_at": m.undone_at,
            }
            for m in MergeRecord.objects.filter(survivor_id=pk)
            | MergeRecord.objects.filter(merged_id=pk)
        ],
        "orders": order_history_provider().export_for(customer_id=pk),
    }
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


@transaction.atomic(durable=True)
def customer_export(*, customer: Customer, user=None) -> dict[str, Any]:
    """The export (see customer_export_data), recorded with who asked and when."""
    data = customer_export_data(customer=customer)
    PrivacyRequest.objects.create(
        customer=customer,
        kind=PrivacyRequestKind.EXPORT,
        requested_by=_user(user),
        summary={
            "identities": len(data["identities"]),
            "orders": len(data["orders"]),
            "loyalty_entries": len(data["loyalty"]["entries"]),
            "cases": len(data["cases"]),
        },
    )
    return data


@transaction.atomic(durable=True)
def customer_erase(*, customer: Customer, user=None, reason: str = "") -> PrivacyRequest:
    """Anonymise the customer's personal data: names, notes, tags, identities (their values
    become `erased:<id>`, so nothing resolves to the profile any more and the same email can
    start a new profile), addresses, case texts, and the personal fields orders copied (through
    the order-history port). Facts stay: orders, loyalty entries, spend, consent history, case
    statuses. Recorded as a PrivacyRequest; erasing again returns the first record. A merged
    profile is refused (erase its survivor). Locks the profile row."""
    locked = customer_for_update(customer.pk)
    if locked.pk != customer.pk:
        raise CustomerError(
            f"Profile #{customer.pk} is merged into #{locked.pk}; erase that profile.",
            code="customer_merged",
        )
    if locked.erased_at is not None:
        return (
            PrivacyRequest.objects.filter(customer=locked, kind=PrivacyRequestKind.ERASURE)
            .order_by("pk")
            .first()
        )
    pk = locked.pk
    summary = {
        "identities": Identity.objects.filter(customer_id=pk).update(
            value=Concat(Value("erased:"), Cast("pk", CharField())),
            raw_value="",
            match_key="",
        ),
        "addresses": Address.objects.filter(customer_id=pk).update(
            label="", name="", line1="", line2="", city="", postcode="", region="", phone=""
        ),
        "cases": ServiceCase.objects.filter(customer_id=pk).update(subject=ERASED),
        "case_notes": CaseEvent.objects.filter(case__customer_id=pk)
        .exclude(body="")
        .update(body=ERASED),
        "orders": order_history_provider().anonymise_for(customer_id=pk),
    }
    locked.first_name = ""
    locked.last_name = ""
    locked.notes = ""
    locked.tags = []
    locked.erased_at = timezone.now()
    locked.save(update_fields=["first_name", "last_name", "notes", "tags", "erased_at"])
    return PrivacyRequest.objects.create(
        customer=locked,
        kind=PrivacyRequestKind.ERASURE,
        requested_by=_user(user),
        reason=reason[:200],
        summary=summary,
    )
