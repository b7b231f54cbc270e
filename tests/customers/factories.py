"""Factories for customer profiles, identities and loyalty entries."""

import factory

from customers.models import (
    Address,
    Customer,
    Identity,
    IdentityKind,
    LoyaltyEntry,
    LoyaltyEntryKind,
    LoyaltyTier,
)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class EmailIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity

    customer = factory.SubFactory(CustomerFactory)
    kind = IdentityKind.EMAIL
    value = factory.Sequence(lambda n: f"shopper{n}@example.com")
    raw_value = factory.SelfAttribute("value")
    match_key = factory.SelfAttribute("value")


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    customer = factory.SubFactory(CustomerFactory)
    name = factory.LazyAttribute(lambda o: str(o.customer))
    line1 = factory.Faker("street_address")
    city = factory.Faker("city")
    postcode = factory.Faker("postcode")
    country = "US"


class LoyaltyEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyEntry

    customer = factory.SubFactory(CustomerFactory)
    kind = LoyaltyEntryKind.EARN
    points = 100
    idempotency_key = factory.Sequence(lambda n: f"test-entry-{n}")
    reference = factory.Sequence(lambda n: f"ref-{n}")


class LoyaltyTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LoyaltyTier
        django_get_or_create = ("code",)

    code = "silver"
    name = factory.LazyAttribute(lambda o: o.code.title())
    min_spend = 500
