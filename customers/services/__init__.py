"""State changes of customers; other apps import the public services from here."""

from customers.services.identity import customer_resolve, identity_add
from customers.services.loyalty import (
    customer_record_purchase,
    loyalty_adjust,
    loyalty_earn,
    loyalty_expire,
    loyalty_redeem,
    loyalty_reverse,
    tiers_refresh,
)

__all__ = [
    "customer_record_purchase",
    "customer_resolve",
    "identity_add",
    "loyalty_adjust",
    "loyalty_earn",
    "loyalty_expire",
    "loyalty_redeem",
    "loyalty_reverse",
    "tiers_refresh",
]
