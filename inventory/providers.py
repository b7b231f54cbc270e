"""Inventory's adapter for the catalog's availability port (`catalog/availability.py`)."""

from collections.abc import Iterable

from django.db.models import Expression, F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest, Least

from inventory import selectors
from omni.models import Channel


class StockAvailabilityProvider:
    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        return selectors.available_to_sell(channel=channel, variant_ids=variant_ids)

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        return selectors.in_stock_variants_q(channel=channel)

    def available_to_sell_expression_key(self, *, channel: Channel) -> tuple:
        """The expression below depends on the channel's id and these figures only (its
        locations are a subquery on the channel id)."""
        return (channel.availability_share, channel.availability_cap, channel.safety_stock)

    def available_to_sell_expression(self, *, channel: Channel, variant_ref: str) -> Expression:
        """`available_to_sell` as SQL: the pooled `on_hand - reserved` over the channel's
        active locations (a correlated subquery on the variant at `variant_ref`), shaped by
        `selectors.apply_channel_rule` written out with the channel's figures as constants.
        The pool is never negative (CHECK reserved <= on_hand), so integer division here
        rounds down like the rule's `//`."""
        share, cap, safety = (
            channel.availability_share,
            channel.availability_cap,
            channel.safety_stock,
        )
        integer = IntegerField()
        if share == 0 or cap == 0:
            return Value(0, output_field=integer)
        pool = Subquery(
            selectors._channel_stocks(channel)
            .filter(variant_id=OuterRef(variant_ref))
            .order_by()
            .values("variant_id")
            .annotate(pool=Sum(F("on_hand") - F("reserved")))
            .values("pool"),
            output_field=integer,
        )
        shown = Coalesce(pool, Value(0), output_field=integer)
        if share != 100:
            shown = shown * Value(share) / Value(100)
        if safety:
            shown = shown - Value(safety)
        if cap is not None:
            shown = Least(shown, Value(cap), output_field=integer)
        return Greatest(shown, Value(0), output_field=integer)
