"""Factories for stock locations and channel assignments. Stock itself is created through
`stock_receive` in tests so that the ledger always reconciles."""

from decimal import Decimal

import factory

from inventory.models import ChannelLocation, LocationKind, StockLocation
from tests.omni.factories import ChannelFactory


class StockLocationFactory(factory.django.DjangoModelFactory):
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
    active = True


class ChannelLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChannelLocation

    channel = factory.SubFactory(ChannelFactory)
    location = factory.SubFactory(StockLocationFactory)
    priority = 0
