"""The port through which the catalog shows available-to-sell without depending on inventory.

Inventory depends on the catalog, so the catalog cannot import inventory. Inventory registers
an `AvailabilityProvider` from its `AppConfig.ready()`; until one is registered every variant
shows 0 available and nothing is in stock.
"""

from collections.abc import Iterable
from typing import Protocol

from django.db.models import Q

from omni.models import Channel


class AvailabilityProvider(Protocol):
    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        """Available-to-sell per variant id in `channel` (missing ids mean 0). One query."""

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        """A filter on Variant that keeps variants with available-to-sell > 0 in `channel`."""


class NoStock:
    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        return {}

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        return Q(pk__in=[])


_provider: AvailabilityProvider = NoStock()


def register_availability_provider(provider: AvailabilityProvider) -> None:
    global _provider
    _provider = provider


def availability_provider() -> AvailabilityProvider:
    return _provider
