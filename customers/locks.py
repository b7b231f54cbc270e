"""The queries that take row locks on customer profiles, always in primary-key order."""

from collections.abc import Iterable

from customers.models import Customer


def customers_for_update(ids: Iterable[int]) -> dict[int, Customer]:
    """Lock the given profiles (pk order, so two callers never deadlock) and return them."""
    rows = Customer.objects.filter(pk__in=set(ids)).order_by("pk").select_for_update(of=("self",))
    return {customer.pk: customer for customer in rows}


def customer_for_update(pk: int) -> Customer:
    """Lock the live profile behind `pk`: a merged profile is followed to its survivor, and only
    the survivor's row is locked (locking both could deadlock against a merge's pk order)."""
    target = pk
    while True:
        customer = Customer.objects.select_for_update(of=("self",)).get(pk=target)
        if customer.merged_into_id is None:
            return customer
        target = customer.merged_into_id
