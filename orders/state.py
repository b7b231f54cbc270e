"""The order state machine: the one place that knows which status may follow which.

Every status change goes through `transition()`, which refuses illegal moves with
`IllegalTransition` (409, code `illegal_transition`), changes the row with a conditional UPDATE
(so two concurrent moves from the same status cannot both win) and writes the timeline event.
"""

from collections.abc import Mapping
from typing import Any

from django.utils import timezone

from orders.changes import orders_changed
from orders.errors import IllegalTransition
from orders.models import Order, OrderStatus, TimelineEvent

S = OrderStatus

TRANSITIONS: Mapping[str, frozenset[str]] = {
    S.PENDING: frozenset({S.CONFIRMED, S.CANCELLED}),
    S.CONFIRMED: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.CANCELLED}),
    # Some goods left: what is left can be fulfilled or cancelled line by line, never the order.
    S.PARTIALLY_FULFILLED: frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED}),
    S.FULFILLED: frozenset({S.COMPLETED, S.PARTIALLY_RETURNED, S.RETURNED}),
    S.COMPLETED: frozenset({S.PARTIALLY_RETURNED, S.RETURNED}),
    S.PARTIALLY_RETURNED: frozenset({S.PARTIALLY_RETURNED, S.RETURNED, S.COMPLETED}),
    S.RETURNED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Which actions each status admits (checked before any work is done).
CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED})
LINE_CANCELLABLE = frozenset({S.PENDING, S.CONFIRMED, S.PARTIALLY_FULFILLED})
FULFILLABLE = frozenset({S.CONFIRMED, S.PARTIALLY_FULFILLED})
REALLOCATABLE = frozenset({S.PENDING, S.CONFIRMED, S.PARTIALLY_FULFILLED})
RETURNABLE = frozenset({S.PARTIALLY_FULFILLED, S.FULFILLED, S.COMPLETED, S.PARTIALLY_RETURNED})
COMPLETABLE = frozenset({S.FULFILLED, S.PARTIALLY_RETURNED})

STATUS_TIMESTAMPS = {S.COMPLETED: "completed_at", S.CANCELLED: "cancelled_at"}


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS.get(current, frozenset())


def require(order: Order, allowed: frozenset[str], action: str) -> None:
    """Refuse `action` unless the order is in one of the `allowed` statuses."""
    if order.status not in allowed:
        raise IllegalTransition(
            f"Order {order.number} is {order.get_status_display().lower()}: cannot {action}.",
            status=order.status,
            action=action,
        )


def actor_label(user=None, actor: str = "") -> str:
    if actor:
        return actor
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return f"staff:{user.get_username()}"
    if user is not None and getattr(user, "channel", None) is not None:
        return f"channel:{user.channel.code}"
    return "system"


def staff_user(user):
    """The user to store on rows: only real staff accounts, never a channel principal."""
    return user if user is not None and getattr(user, "pk", None) is not None else None


def record(
    order: Order,
    *,
    kind: str,
    message: str,
    user=None,
    actor: str = "",
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Write one timeline event (who, when, what) for a staff action or a system step, and
    report the order as changed (announced to subscribers once the transaction commits)."""
    orders_changed([order.pk])
    return TimelineEvent.objects.create(
        order=order,
        kind=kind,
        message=message[:255],
        data=data or {},
        user=staff_user(user),
        actor=actor_label(user, actor),
    )


def transition(
    order: Order,
    target: str,
    *,
    user=None,
    actor: str = "",
    message: str = "",
    data: dict[str, Any] | None = None,
) -> Order:
    """Move `order` to `target` or raise IllegalTransition (409). One conditional UPDATE keyed on
    the status read, so a concurrent move from the same status loses instead of both applying;
    writes the `status_changed` timeline event. Callers hold the order row lock."""
    current = order.status
    if not can_transition(current, target):
        raise IllegalTransition(
            f"Order {order.number} cannot go from {current} to {target}.",
            status=current,
            target=target,
        )
    now = timezone.now()
    fields: dict[str, Any] = {"status": target, "updated_at": now}
    if target in STATUS_TIMESTAMPS:
        fields[STATUS_TIMESTAMPS[target]] = now
    if current != target:
        updated = Order.objects.filter(pk=order.pk, status=current).update(**fields)
        if updated != 1:
            raise IllegalTransition(
                f"Order {order.number} changed status concurrently; retry.",
                status=current,
                target=target,
            )
        for name, value in fields.items():
            setattr(order, name, value)
    record(
        order,
        kind="status_changed",
        message=message or f"Status {current} -> {target}",
        user=user,
        actor=actor,
        data={"from": current, "to": target, **(data or {})},
    )
    return order
