"""The port through which the catalog shows available-to-sell without depending on inventory.

Inventory depends on the catalog, so the catalog cannot import inventory. Inventory registers
an `AvailabilityProvider` from its `AppConfig.ready()`; until one is registered every variant
shows 0 available and nothing is in stock.

A provider may also offer `available_to_sell_expression`: the same figure as a SQL expression,
which the storefront folds into its own offers query instead of asking `available_to_sell`
(one round trip less per request). Providers without it still work through
`available_to_sell`.
"""

from collections.abc import Hashable, Iterable
from typing import Protocol

from django.db.models import Expression, IntegerField, Q, Value

from omni.models import Channel


class AvailabilityProvider(Protocol):
    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        """Available-to-sell per variant id in `channel` (missing ids mean 0). One query."""

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        """A filter on Variant that keeps variants with available-to-sell > 0 in `channel`."""


class AvailabilityExpressionProvider(AvailabilityProvider, Protocol):
    def available_to_sell_expression(self, *, channel: Channel, variant_ref: str) -> Expression:
        """An integer expression (never below 0, never NULL) equal to `available_to_sell` in
        `channel` for the variant whose id is the outer query's field `variant_ref`, for use in
        `annotate()`/`values()` on any queryset with such a field."""


class CacheableExpressionProvider(AvailabilityExpressionProvider, Protocol):
    def available_to_sell_expression_key(self, *, channel: Channel) -> Hashable:
        """What `available_to_sell_expression` for `channel` depends on besides the
        channel's id (e.g. the channel's availability figures): while the key is the same,
        the expression's SQL is, so callers may keep it compiled. Providers whose
        expression depends on anything else do not offer this method."""


class NoStock:
    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        return {}

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        return Q(pk__in=[])

    def available_to_sell_expression(self, *, channel: Channel, variant_ref: str) -> Expression:
        return Value(0, output_field=IntegerField())

    def available_to_sell_expression_key(self, *, channel: Channel) -> Hashable:
        return ()


_provider: AvailabilityProvider = NoStock()


def register_availability_provider(provider: AvailabilityProvider) -> None:
    global _provider
    _provider = provider


def availability_provider() -> AvailabilityProvider:
    return _provider


def available_to_sell_expression(*, channel: Channel, variant_ref: str) -> Expression | None:
    """The registered provider's available-to-sell expression for the variant at the outer
    field `variant_ref`, or None when the provider only answers `available_to_sell`."""
    method = getattr(_provider, "available_to_sell_expression", None)
    return None if method is None else method(channel=channel, variant_ref=variant_ref)


def available_to_sell_expression_key(*, channel: Channel) -> Hashable | None:
    """A key under which the registered provider's expression for `channel` may be kept
    compiled (see `CacheableExpressionProvider`), or None when it may not."""
    method = getattr(_provider, "available_to_sell_expression_key", None)
    return None if method is None else (_provider, channel.pk, method(channel=channel))
