"""A small catalogue in three channels, and customers with stubbed tiers and loyalty."""

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

import pytest

from customers.models import Customer
from promotions import customer_terms
from tests.catalog.factories import CategoryFactory, ListingFactory, ProductFactory, VariantFactory


@dataclass(frozen=True)
class Profile:
    tier: str | None
    segments: frozenset[str]


@dataclass(frozen=True)
class Terms:
    point_value: Decimal
    max_basket_share: Decimal


@pytest.fixture
def customer_facts(monkeypatch):
    """Tier, segments and balance per customer pk; loyalty terms 0.01 a point, 50 % max."""
    facts = SimpleNamespace(
        profiles={},
        balances={},
        terms=Terms(point_value=Decimal("0.01"), max_basket_share=Decimal("0.5")),
    )

    def profile(customer):
        if customer is None:
            return Profile(None, frozenset())
        return facts.profiles.get(customer.pk, Profile(None, frozenset()))

    monkeypatch.setattr(customer_terms, "pricing_profile", profile)
    monkeypatch.setattr(
        customer_terms, "loyalty_balance", lambda customer: facts.balances.get(customer.pk, 0)
    )
    monkeypatch.setattr(customer_terms, "loyalty_terms", lambda: facts.terms)
    return facts


@pytest.fixture
def gold_customer(db, customer_facts):
    customer = Customer.objects.create(first_name="Gold", last_name="Shopper")
    customer_facts.profiles[customer.pk] = Profile("gold", frozenset({"vip"}))
    return customer


@pytest.fixture
def plain_customer(db, customer_facts):
    return Customer.objects.create(first_name="Plain", last_name="Shopper")


@pytest.fixture
def shop(db, make_channel):
    """web and store in USD, jp in JPY; TEE (apparel, Acme), SHOE (apparel/shoes, Stride),
    MUG (home, Acme)."""
    web = make_channel("web")
    store = make_channel("store", kind="store")
    jp = make_channel("jp", currency="JPY")
    apparel = CategoryFactory(slug="apparel", path="apparel/")
    shoes = CategoryFactory(slug="shoes", parent=apparel)
    home = CategoryFactory(slug="home", path="home/")
    prices = {
        "TEE": (apparel, "Acme", {"web": "20.00", "store": "20.00", "jp": "2000"}),
        "SHOE": (shoes, "Stride", {"web": "80.00", "store": "75.00", "jp": "9000"}),
        "MUG": (home, "Acme", {"web": "9.99", "store": "9.99", "jp": "1000"}),
    }
    variants = {}
    for sku, (category, brand, by_channel) in prices.items():
        product = ProductFactory(category=category, brand=brand, name=sku.title())
        variant = VariantFactory(product=product, sku=sku)
        variants[sku] = variant
        for ch in (web, store, jp):
            ListingFactory(variant=variant, channel=ch, price=Decimal(by_channel[ch.code]))
    return SimpleNamespace(
        web=web,
        store=store,
        jp=jp,
        apparel=apparel,
        shoes=shoes,
        home=home,
        channels={"web": web, "store": store, "jp": jp},
        variants=variants,
    )
