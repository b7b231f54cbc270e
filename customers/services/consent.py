"""Consent per purpose: each grant or withdrawal is recorded; the latest record wins."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from customers.errors import CustomerErased
from customers.models import ConsentPurpose, ConsentRecord, Customer
from omni.errors import InvalidInput
from omni.models import Channel


@transaction.atomic
def consent_record(
    *,
    customer: Customer,
    purpose: str,
    granted: bool,
    channel: Channel | None = None,
    source: str = "",
    user=None,
    at: datetime | None = None,
) -> ConsentRecord:
    """Append a grant or a withdrawal (withdrawing is the same call with granted=False). A stale
    merged profile records on its survivor; an erased profile is refused (409). One insert."""
    if purpose not in ConsentPurpose.values:
        raise InvalidInput(
            f"Unknown purpose {purpose!r}; one of {', '.join(ConsentPurpose.values)}.",
            code="invalid_choice",
            field="purpose",
        )
    if customer.erased_at is not None:
        raise CustomerErased()
    return ConsentRecord.objects.create(
        customer_id=customer.merged_into_id or customer.pk,
        purpose=purpose,
        granted=bool(granted),
        channel=channel,
        source=source[:120],
        recorded_at=at or timezone.now(),
        recorded_by=user if getattr(user, "pk", None) else None,
    )
