"""The few customer facts pricing needs (tier, segments, loyalty balance and terms), read
through `customers.selectors` so promotions never touches customers' tables."""

from dataclasses import dataclass
from decimal import Decimal

try:
    from customers import selectors as customer_selectors
except ImportError:  # customers.selectors not on main yet: guests' terms for everyone
    customer_selectors = None


@dataclass(frozen=True)
class _Profile:
    tier: str | None = None
    segments: frozenset[str] = frozenset()


@dataclass(frozen=True)
class _Terms:
    point_value: Decimal = Decimal("0")
    max_basket_share: Decimal = Decimal("0")


def pricing_profile(customer):
    """Tier and segments of `customer` (none for a guest)."""
    selector = getattr(customer_selectors, "customer_pricing_profile", None)
    if customer is None or selector is None:
        return _Profile()
    return selector(customer=customer)


def loyalty_balance(customer) -> int:
    selector = getattr(customer_selectors, "loyalty_balance", None)
    if customer is None or selector is None:
        return 0
    return selector(customer=customer)


def loyalty_terms():
    """Value of one point and the largest share of a basket points may pay."""
    selector = getattr(customer_selectors, "loyalty_terms", None)
    return _Terms() if selector is None else selector()


def customer_by_email(*, channel, email: str):
    """The profile owning `email` (customers creates it on first sight, as checkout does)."""
    try:
        from customers import services as customer_services
    except ImportError:  # customers.services not on main yet: price as a guest
        return None
    return customer_services.customer_resolve(channel=channel, email=email)
