"""Factories for channels."""

import factory

from omni.models import Channel, ChannelKind


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel-{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("-", " ").title())
    kind = ChannelKind.WEB
    currency = "USD"
