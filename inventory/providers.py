"""Inventory's adapter for the catalog's availability port (`catalog/availability.py`)."""

from collections.abc import Iterable

from django.db.models import Q

from inventory import selectors
from omni.models import Channel


class StockAvailabilityProvider:
    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        return selectors.available_to_sell(channel=channel, variant_ids=variant_ids)

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        return selectors.in_stock_variants_q(channel=channel)
