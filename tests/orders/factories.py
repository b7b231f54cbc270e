"""Factories for the orders tests: locations and channel assignments. Stock is put in place
through inventory's receipt service so the ledger always reconciles."""

from decimal import Decimal

import factory

from inventory.models import ChannelLocation, LocationKind, StockLocation


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLocation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"loc-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = LocationKind.WAREHOUSE
    latitude = Decimal("40.712800")
    longitude = Decimal("-74.006000")
    ships_enabled = True
    pickup_enabled = False


class ChannelLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelLocation

    channel = None
    location = factory.SubFactory(LocationFactory)
    priority = 0
