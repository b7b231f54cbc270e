"""State changes of customers; other apps import the public services from here."""

from customers.services.cases import case_add_note, case_assign, case_open, case_set_status
from customers.services.consent import consent_record
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
from customers.services.merge import customer_merge, customer_merge_sweep, customer_unmerge
from customers.services.privacy import customer_erase, customer_export, customer_export_data
from customers.services.segments import segments_recompute

__all__ = [
    "case_add_note",
    "case_assign",
    "case_open",
    "case_set_status",
    "consent_record",
    "customer_erase",
    "customer_export",
    "customer_export_data",
    "customer_merge",
    "customer_merge_sweep",
    "customer_record_purchase",
    "customer_resolve",
    "customer_unmerge",
    "identity_add",
    "loyalty_adjust",
    "loyalty_earn",
    "loyalty_expire",
    "loyalty_redeem",
    "loyalty_reverse",
    "segments_recompute",
    "tiers_refresh",
]
