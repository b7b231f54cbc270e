"""Read queries of orders shared by the API, the admin and other apps (through ports)."""

import re
from dataclasses import dataclass

import django_filters
from django.db.models import F, Prefetch, Q, QuerySet

from inventory.models import StockLocation
from inventory.scoping import location_scope
from omni.errors import DomainError, NotFound
from omni.models import Channel
from orders.models import (
    Allocation,
    Fulfilment,
    FulfilmentMethod,
    Order,
    OrderLine,
    OrderStatus,
    Return,
)


def order_detail_queryset() -> QuerySet[Order]:
    """Orders with everything the detail view shows, in a fixed number of queries."""
    return Order.objects.select_related("channel", "customer", "pickup_location").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("pickup_location").prefetch_related(
                Prefetch("allocations", queryset=Allocation.objects.select_related("location"))
            ),
        ),
        Prefetch(
            "fulfilments",
            queryset=Fulfilment.objects.select_related("location").prefetch_related("lines"),
        ),
        Prefetch(
            "returns",
            queryset=Return.objects.select_related("location").prefetch_related("lines"),
        ),
        "refunds",
        "timeline",
    )


def order_get(*, number: str, channel: Channel | None = None) -> Order:
    """One order by number with its detail; with `channel`, only that channel's orders exist
    (a channel's key never sees another channel's orders, not even to learn they exist)."""
    qs = order_detail_queryset().filter(number=number)
    if channel is not None:
        qs = qs.filter(channel=channel)
    order = qs.first()
    if order is None:
        raise NotFound(f"No order {number}.", code="order_not_found")
    return order


class OrderFilter(django_filters.FilterSet):
    channel = django_filters.CharFilter(field_name="channel__code")
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    location = django_filters.CharFilter(
        method="filter_location", help_text="Location code: allocated, picked up or returned there."
    )
    created_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    fulfilment_method = django_filters.ChoiceFilter(choices=FulfilmentMethod.choices)
    customer = django_filters.NumberFilter(field_name="customer_id")
    q = django_filters.CharFilter(method="filter_q", help_text="Number, external id or email.")

    class Meta:
        model = Order
        fields = ["channel", "status", "payment_status"]

    def filter_location(self, queryset, name, value):
        matching = Order.objects.filter(
            Q(lines__allocations__location__code=value)
            | Q(pickup_location__code=value)
            | Q(returns__location__code=value)
        ).values("pk")
        return queryset.filter(pk__in=matching)

    def filter_q(self, queryset, name, value):
        return queryset.filter(
            Q(number__iexact=value) | Q(external_id=value) | Q(customer_email__iexact=value)
        )


def order_list(*, filters: dict | None = None, channel: Channel | None = None) -> QuerySet[Order]:
    qs = Order.objects.select_related("channel", "pickup_location")
    if channel is not None:
        qs = qs.filter(channel=channel)
    return OrderFilter(filters or {}, queryset=qs).qs


def pickup_queue(*, location: StockLocation) -> QuerySet[Order]:
    """The store's pickup counter: open orders with units to pick up there, oldest first, each
    with its pickup fulfilments (to pick, ready, not yet collected)."""
    waiting = OrderLine.objects.filter(
        pickup_location=location,
        fulfilment_method=FulfilmentMethod.PICKUP,
        quantity__gt=F("quantity_fulfilled") + F("quantity_cancelled"),
    )
    return (
        Order.objects.filter(
            status__in=[
                OrderStatus.CONFIRMED,
                OrderStatus.PARTIALLY_FULFILLED,
                OrderStatus.PENDING,
            ],
            pk__in=waiting.values("order_id"),
        )
        .select_related("channel", "pickup_location")
        .prefetch_related(
            Prefetch(
                "fulfilments",
                queryset=Fulfilment.objects.filter(
                    location=location, method=FulfilmentMethod.PICKUP
                ),
                to_attr="pickup_fulfilments",
            ),
            Prefetch("lines", queryset=OrderLine.objects.filter(pickup_location=location)),
        )
        .order_by("created_at", "pk")
    )


def orders_for_customer(*, customer_id: int, limit: int = 50) -> list[Order]:
    """A customer's orders from every channel, newest first (for the customer lookup)."""
    return list(
        Order.objects.filter(customer_id=customer_id)
        .select_related("channel")
        .order_by("-created_at", "-pk")[:limit]
    )


def orders_in_scope(queryset: QuerySet[Order], user) -> QuerySet[Order]:
    """`queryset` limited, for store staff, to orders that touch their store(s): picked up,
    allocated, fulfilled or returned there. Other staff see every order."""
    scope = location_scope(user)
    if scope is None:
        return queryset
    related = Order.objects.filter(
        Q(pickup_location__in=scope)
        | Q(lines__allocations__location__in=scope)
        | Q(fulfilments__location__in=scope)
        | Q(returns__location__in=scope)
    ).values("pk")
    return queryset.filter(pk__in=related)


@dataclass(frozen=True)
class OrderLookup:
    """What a till lookup found: `kind` says how the term was read ("number", "external_id",
    "email", "phone", or "" when nothing matched)."""

    term: str
    kind: str
    orders: list[Order]


LOOKUP_LIMIT = 20
_PHONE_CHARS = re.compile(r"^\+?[\d\s().-]{6,}$")


def order_lookup(*, term: str, user, region: str | None = None) -> OrderLookup:
    """The POS-style lookup the admin's till page runs, scoped as the staff API is:

    - an exact order number finds that order whoever asks (`GET /staff/orders/{number}/`
      does the same: goods of any order may be returned at any store);
    - otherwise the channel's external id, or the customer's email or phone (their profile's
      orders and orders carrying that contact, newest first), among the orders the user may
      list (`orders_in_scope`, as `GET /staff/orders/?q=` does): store staff find only orders
      touching their store(s) that way.
    A phone without a country code is read in `region`. At most `LOOKUP_LIMIT` orders.
    """
    from customers.selectors import customer_find

    term = (term or "").strip()
    if not term:
        return OrderLookup(term, "", [])
    found = list(Order.objects.filter(number__in={term, term.upper()}).order_by("pk")[:1])
    if found:
        return OrderLookup(term, "number", found)
    scoped = orders_in_scope(Order.objects.select_related("channel"), user)
    newest = ("-created_at", "-pk")
    found = list(scoped.filter(external_id=term).order_by(*newest)[:LOOKUP_LIMIT])
    if found:
        return OrderLookup(term, "external_id", found)
    kind, condition = "", None
    try:
        if "@" in term:
            kind, condition = "email", Q(customer_email__iexact=term)
            customer = customer_find(email=term)
        elif _PHONE_CHARS.match(term):
            kind, condition = "phone", Q(customer_phone=term)
            customer = customer_find(phone=term, region=region)
        else:
            customer = None
    except DomainError:  # not a valid email or phone: only the literal contact can match
        customer = None
    if condition is None:
        return OrderLookup(term, "", [])
    if customer is not None:
        condition |= Q(customer_id=customer.pk)
    found = list(scoped.filter(condition).order_by(*newest)[:LOOKUP_LIMIT])
    return OrderLookup(term, kind if found else "", found)
