"""The admin's till lookup: staff type an order number, the channel's external id, or the
customer's email or phone, and land on one clear view of the order (lines, state, payment,
allocations, fulfilments, pickup status) with the actions that fit their store: hand over a
pickup waiting there, receive a return there (returns are accepted anywhere).

Scoped exactly as the staff API: an exact order number finds any order (as
`GET /api/v1/staff/orders/{number}/` does) and a return of it may be received at the user's
store (as `POST .../returns/` allows, location checked); the other lookups list only orders the
user may list, and a handover needs the pickup to wait at one of the user's stores. Writes go
through the services, are audited, and the forms carry the CSRF token (the admin site's views
are CSRF-protected).
"""

from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from inventory.models import LocationKind, StockLocation
from inventory.scoping import location_check, location_scope, scope_queryset
from omni.dashboard import Panel, register_panel
from omni.errors import DomainError
from orders import selectors, services, state
from orders.admin_actions import denied_unless, order_action_audit
from orders.models import (
    Fulfilment,
    FulfilmentMethod,
    FulfilmentStatus,
    Order,
    OrderStatus,
    RefundMethod,
)

VIEW = "orders.view_order"
HANDOVER = "orders.change_fulfilment"
RECEIVE_RETURN = "orders.add_return"


def lookup_url(term: str = "") -> str:
    url = reverse("admin:orders_order_lookup")
    return f"{url}?{urlencode({'q': term})}" if term else url


class LookupForm(forms.Form):
    q = forms.CharField(
        label="Order number, external id, email or phone",
        max_length=200,
        widget=forms.TextInput(attrs={"autofocus": True, "size": 40, "autocomplete": "off"}),
    )


class ReturnForm(forms.Form):
    """Units of a fulfilled order coming back at one of the user's locations."""

    location = forms.ModelChoiceField(queryset=StockLocation.objects.none(), to_field_name="code")
    refund_method = forms.ChoiceField(
        choices=RefundMethod.choices, initial=RefundMethod.ORIGINAL_PAYMENT
    )
    reason = forms.CharField(max_length=255, required=False)

    def __init__(self, *args, order: Order, locations, **kwargs):
        super().__init__(*args, **kwargs)
        self.order = order
        self.fields["location"].queryset = locations
        if len(locations) == 1:
            self.fields["location"].initial = locations[0]
        self.line_fields = []
        for line in order.lines.all():
            returnable = line.quantity_fulfilled - line.quantity_returned
            if returnable <= 0:
                continue
            qty, restock = f"qty_{line.pk}", f"restock_{line.pk}"
            self.fields[qty] = forms.IntegerField(
                min_value=0, max_value=returnable, initial=0, label=f"{line.sku} returned"
            )
            self.fields[restock] = forms.BooleanField(
                required=False, initial=True, label=f"{line.sku} back to stock"
            )
            self.line_fields.append(
                {"line": line, "returnable": returnable, "qty": self[qty], "restock": self[restock]}
            )

    def clean(self):
        data = super().clean()
        chosen = [
            services.ReturnLineInput(
                line_id=item["line"].pk,
                quantity=data.get(f"qty_{item['line'].pk}") or 0,
                restock=bool(data.get(f"restock_{item['line'].pk}")),
                reason=data.get("reason", ""),
            )
            for item in self.line_fields
        ]
        data["lines"] = [line for line in chosen if line.quantity > 0]
        if not self.errors and not data["lines"]:
            raise forms.ValidationError("Enter how many units of at least one line came back.")
        return data


def _return_locations(user):
    """Where the user may receive goods: their store(s), or any active store or warehouse."""
    return scope_queryset(
        StockLocation.objects.filter(active=True)
        .exclude(kind=LocationKind.DROPSHIP)
        .order_by("kind", "code"),
        user,
        "pk",
    )


def _pickup_status(order: Order) -> list[dict]:
    """Each pickup store of the order with what waits there and how far it got."""
    rows: dict[int, dict] = {}
    for line in order.lines.all():
        if line.fulfilment_method != FulfilmentMethod.PICKUP or line.pickup_location is None:
            continue
        row = rows.setdefault(
            line.pickup_location_id,
            {"location": line.pickup_location, "open_units": 0, "fulfilments": []},
        )
        row["open_units"] += line.quantity_open
    for fulfilment in order.fulfilments.all():
        if fulfilment.method == FulfilmentMethod.PICKUP and fulfilment.location_id in rows:
            rows[fulfilment.location_id]["fulfilments"].append(fulfilment)
    for row in rows.values():
        statuses = {f.status for f in row["fulfilments"]}
        if FulfilmentStatus.READY in statuses:
            row["label"] = "Ready for pickup: waiting for the customer"
        elif FulfilmentStatus.OPEN in statuses or FulfilmentStatus.PACKED in statuses:
            row["label"] = "Being picked"
        elif row["open_units"] > 0 and order.status in state.FULFILLABLE | {OrderStatus.PENDING}:
            row["label"] = "To pick"
        elif FulfilmentStatus.COLLECTED in statuses:
            row["label"] = "Collected"
        else:
            row["label"] = "Nothing waiting"
    return list(rows.values())


def _handovers(order: Order, user) -> list[Fulfilment]:
    """Pickups ready at one of the user's stores, which this user may hand over."""
    if not user.has_perm(HANDOVER):
        return []
    scope = location_scope(user)
    return [
        f
        for f in order.fulfilments.all()
        if f.method == FulfilmentMethod.PICKUP
        and f.status == FulfilmentStatus.READY
        and (scope is None or f.location_id in scope)
    ]


def _order_context(request, order: Order, return_form: ReturnForm | None = None) -> dict:
    user = request.user
    in_scope = selectors.orders_in_scope(Order.objects.filter(pk=order.pk), user).exists()
    context = {
        "order": order,
        "in_scope": in_scope,
        "change_url": reverse("admin:orders_order_change", args=[order.pk]) if in_scope else "",
        "pickups": _pickup_status(order),
        "handovers": _handovers(order, user),
        "pickup_queue_url": reverse("admin:orders_order_pickup_queue"),
        "return_form": None,
        "return_refused": "",
    }
    if user.has_perm(RECEIVE_RETURN):
        if order.status not in state.RETURNABLE:
            context["return_refused"] = (
                f"Nothing to take back: the order is {order.get_status_display().lower()}."
            )
        else:
            locations = _return_locations(user)
            if not locations:
                context["return_refused"] = "You are not assigned to a store."
            else:
                form = return_form or ReturnForm(order=order, locations=locations)
                if form.line_fields:
                    context["return_form"] = form
                else:
                    context["return_refused"] = "Every fulfilled unit is already back."
    return context


def order_lookup_view(model_admin, request):
    """GET: the lookup form and what it found. POST: hand over or receive a return, then back
    to the order (post/redirect/get)."""
    if denied := denied_unless(request, VIEW):
        return denied
    if request.method == "POST":
        return _act(model_admin, request)
    form = LookupForm(request.GET or None)
    result = None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Order lookup",
        "opts": model_admin.model._meta,
        "form": form,
        "scoped": location_scope(request.user) is not None,
    }
    if form.is_valid():
        result = selectors.order_lookup(
            term=form.cleaned_data["q"], user=request.user, region=_region(request.user)
        )
        context["result"] = result
        if len(result.orders) == 1:
            order = selectors.order_detail_queryset().get(pk=result.orders[0].pk)
            context.update(_order_context(request, order))
    return TemplateResponse(request, "admin/orders/order_lookup.html", context)


def _region(user) -> str | None:
    """Phones typed without a country code are read in the country of the user's store."""
    scope = location_scope(user)
    if not scope:
        return None
    return (
        StockLocation.objects.filter(pk__in=scope).order_by("pk").values_list("country", flat=True)
    ).first()


def _act(model_admin, request):
    number = request.POST.get("order", "")
    order = Order.objects.filter(number=number).first()
    if order is None:
        model_admin.message_user(request, f"No order {number}.", messages.ERROR)
        return HttpResponseRedirect(lookup_url())
    action = request.POST.get("action")
    if action == "handover":
        if denied := denied_unless(request, HANDOVER):
            return denied
        _handover(model_admin, request, order)
    elif action == "return":
        if denied := denied_unless(request, RECEIVE_RETURN):
            return denied
        response = _receive_return(model_admin, request, order)
        if response is not None:
            return response
    else:
        model_admin.message_user(request, "Unknown action.", messages.ERROR)
    return HttpResponseRedirect(lookup_url(order.number))


def _handover(model_admin, request, order: Order) -> None:
    fulfilment = Fulfilment.objects.filter(
        pk=_int(request.POST.get("fulfilment")),
        order=order,
        method=FulfilmentMethod.PICKUP,
    ).first()
    if fulfilment is None:
        model_admin.message_user(request, "That pickup is not part of this order.", messages.ERROR)
        return
    before = order.status
    try:
        location_check(request.user, fulfilment.location_id, field="fulfilment")
        services.fulfilment_collect(order=order, fulfilment_id=fulfilment.pk, user=request.user)
    except DomainError as exc:
        model_admin.message_user(request, f"{order.number}: {exc.message}", messages.ERROR)
        return
    order_action_audit(
        request,
        order,
        before,
        "pickup_collect",
        fulfilment=[None, fulfilment.pk],
        location=[None, fulfilment.location.code],
    )
    model_admin.message_user(
        request,
        f"{order.number}: handed over to the customer at {fulfilment.location.name}.",
        messages.SUCCESS,
    )


def _receive_return(model_admin, request, order: Order):
    """The return form posted: on invalid input the order view again with the errors."""
    order = selectors.order_detail_queryset().get(pk=order.pk)
    form = ReturnForm(request.POST, order=order, locations=_return_locations(request.user))
    if form.is_valid():
        data = form.cleaned_data
        before = order.status
        try:
            location_check(request.user, data["location"].pk)
            result = services.return_create(
                order=order,
                location_code=data["location"].code,
                lines=data["lines"],
                refund_method=data["refund_method"],
                reason=data["reason"],
                user=request.user,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            order_action_audit(
                request,
                order,
                before,
                "return",
                **{"return": [None, result.return_record.pk]},
                location=[None, data["location"].code],
            )
            units = sum(line.quantity for line in data["lines"])
            refund = result.refund.amount if result.refund else 0
            model_admin.message_user(
                request,
                f"{order.number}: {units} unit(s) received at {data['location'].name}; "
                f"refund {refund} {order.currency} recorded.",
                messages.SUCCESS,
            )
            return None
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Order lookup",
        "opts": model_admin.model._meta,
        "form": LookupForm(initial={"q": order.number}),
        "scoped": location_scope(request.user) is not None,
        "result": selectors.OrderLookup(order.number, "number", [order]),
        **_order_context(request, order, return_form=form),
    }
    return TemplateResponse(request, "admin/orders/order_lookup.html", context, status=400)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def order_lookup_panel(request) -> Panel | None:
    """The dashboard home's way in: a search box straight to the lookup."""
    if not request.user.has_perm(VIEW):
        return None
    return Panel(
        key="order_lookup",
        title="Order lookup",
        url=lookup_url(),
        link_text="Open the order lookup",
        empty="Find an order by number, external id, email or phone.",
        search_url=lookup_url(),
        search_label="Order number, external id, email or phone",
    )


def register() -> None:
    register_panel("order_lookup", order_lookup_panel, order=5)
