"""Factories for channel sync: connector settings and stock locations to count."""

import factory

from inventory.models import LocationKind, StockLocation
from omni.sync.models import ConnectorSettings
from tests.omni.factories import ChannelFactory


class ConnectorSettingsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConnectorSettings

    channel = factory.SubFactory(ChannelFactory)
    kind = "webhook"
    signing_secret_env = "OMNI_TEST_SYNC_SECRET"
    pull_kinds = factory.LazyFunction(lambda: ["orders", "stock", "prices"])
    push_kinds = factory.LazyFunction(lambda: ["availability", "order_status"])
    coalesce_seconds = 30
    max_attempts = 3
    backoff_seconds = 10
    timeout_seconds = 2


class StockLocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLocation
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"loc-{n}")
    name = factory.LazyAttribute(lambda o: o.code.title())
    kind = LocationKind.WAREHOUSE
