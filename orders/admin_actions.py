"""What the order admin's views share: refusing an action the user may not take, and the audit
record of an action taken on an order."""

from django.template.response import TemplateResponse

from omni.audit import AuditAction, audit_record
from orders.models import Order


def denied_unless(request, permission: str) -> TemplateResponse | None:
    """The admin's 403 page when the user lacks `permission`; None when they have it."""
    if request.user.has_perm(permission):
        return None
    return TemplateResponse(request, "admin/orders/denied.html", status=403)


def order_action_audit(
    request, order: Order, status_before: str, operation: str, **changes
) -> None:
    """Audit `operation` done on `order` by the request's user, with the status it moved
    from and to (read back: the service may have changed it) and any other `changes`."""
    status_after = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
    audit_record(
        user=request.user,
        instance=order,
        object_repr=order.number or str(order.pk),
        action=AuditAction.OPERATION,
        operation=operation,
        changes={"status": [status_before, status_after], **changes},
    )
