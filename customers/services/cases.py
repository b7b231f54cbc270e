"""Service cases: inquiries, complaints and return requests on a profile, with a timeline."""

from django.db import transaction
from django.utils import timezone

from customers.errors import CaseTransitionRefused, CustomerErased
from customers.models import CaseEvent, CaseEventKind, CaseKind, CaseStatus, Customer, ServiceCase
from omni.errors import InvalidInput
from omni.models import Channel

# Where a case may go from each status; reopening a resolved or closed case is allowed.
CASE_TRANSITIONS = {
    CaseStatus.OPEN: {
        CaseStatus.IN_PROGRESS,
        CaseStatus.WAITING,
        CaseStatus.RESOLVED,
        CaseStatus.CLOSED,
    },
    CaseStatus.IN_PROGRESS: {CaseStatus.WAITING, CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.WAITING: {CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED, CaseStatus.CLOSED},
    CaseStatus.RESOLVED: {CaseStatus.CLOSED, CaseStatus.OPEN},
    CaseStatus.CLOSED: {CaseStatus.OPEN},
}
_DONE = {CaseStatus.RESOLVED, CaseStatus.CLOSED}


def _author(user):
    return user if getattr(user, "pk", None) else None


@transaction.atomic
def case_open(
    *,
    customer: Customer,
    kind: str,
    subject: str,
    channel: Channel | None = None,
    order_reference: str = "",
    body: str = "",
    assignee=None,
    user=None,
) -> ServiceCase:
    """Open a case on the (live) profile, with its first timeline event."""
    if kind not in CaseKind.values:
        raise InvalidInput(f"Unknown case kind {kind!r}.", code="invalid_choice", field="kind")
    if not subject.strip():
        raise InvalidInput("A subject is required.", code="required", field="subject")
    if customer.erased_at is not None:
        raise CustomerErased()
    case = ServiceCase.objects.create(
        customer_id=customer.merged_into_id or customer.pk,
        kind=kind,
        subject=subject.strip()[:200],
        channel=channel,
        order_reference=order_reference.strip()[:64],
        assignee=assignee,
    )
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.OPENED,
        body=body,
        to_status=case.status,
        author=_author(user),
    )
    if assignee is not None:
        CaseEvent.objects.create(
            case=case, kind=CaseEventKind.ASSIGNED, body=str(assignee), author=_author(user)
        )
    return case


@transaction.atomic
def case_add_note(*, case: ServiceCase, body: str, user=None) -> CaseEvent:
    if not body.strip():
        raise InvalidInput("A note needs text.", code="required", field="body")
    ServiceCase.objects.filter(pk=case.pk).update(updated_at=timezone.now())
    return CaseEvent.objects.create(
        case=case, kind=CaseEventKind.NOTE, body=body.strip(), author=_author(user)
    )


@transaction.atomic
def case_set_status(*, case: ServiceCase, status: str, user=None, note: str = "") -> ServiceCase:
    """Move the case along CASE_TRANSITIONS with one conditional UPDATE (a concurrent change
    makes it fail instead of being overwritten); writes a timeline event."""
    if status not in CaseStatus.values:
        raise InvalidInput(f"Unknown status {status!r}.", code="invalid_choice", field="status")
    current = ServiceCase.objects.filter(pk=case.pk).values_list("status", flat=True).first()
    if status not in CASE_TRANSITIONS.get(current, set()):
        raise CaseTransitionRefused(
            f"A {current} case cannot become {status}.", current=current, requested=status
        )
    now = timezone.now()
    updated = ServiceCase.objects.filter(pk=case.pk, status=current).update(
        status=status, updated_at=now, closed_at=now if status in _DONE else None
    )
    if not updated:
        raise CaseTransitionRefused("The case changed meanwhile; reload it.", current=current)
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.STATUS,
        from_status=current,
        to_status=status,
        body=note.strip(),
        author=_author(user),
    )
    case.refresh_from_db()
    return case


@transaction.atomic
def case_assign(*, case: ServiceCase, assignee, user=None) -> ServiceCase:
    """Give the case to a staff member (None: unassign); recorded on the timeline."""
    if assignee is not None and not assignee.is_staff:
        raise InvalidInput("Cases are assigned to staff.", code="not_staff", field="assignee")
    case.assignee = assignee
    case.save(update_fields=["assignee", "updated_at"])
    CaseEvent.objects.create(
        case=case,
        kind=CaseEventKind.ASSIGNED,
        body=str(assignee) if assignee else "unassigned",
        author=_author(user),
    )
    return case
