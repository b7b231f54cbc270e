"""The customer facts pricing needs (tier, segments, loyalty balance and terms, the profile
behind an email), read through customers' selectors: promotions never reads their tables.
One place to stub in tests."""

from customers import selectors as customer_selectors
from customers.selectors import LoyaltyTerms, PricingProfile


def pricing_profile(customer) -> PricingProfile:
    """Tier and segments of `customer` (none for a guest)."""
    return customer_selectors.customer_pricing_profile(customer=customer)


def pricing_profile_of(customer) -> PricingProfile:
    """Tier and segments of a profile just read in the caller's transaction (fewer queries)."""
    return customer_selectors.pricing_profile_of(customer=customer)


def loyalty_balance(customer) -> int:
    return customer_selectors.loyalty_balance(customer=customer)


def loyalty_terms() -> LoyaltyTerms:
    """Value of one point and the largest share of a basket points may pay."""
    return customer_selectors.loyalty_terms()


def customer_by_email(*, email: str):
    """The profile owning `email`, or None (a quote never creates a profile)."""
    return customer_selectors.customer_find(email=email)
