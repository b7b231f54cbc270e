"""The queries that take row locks on stock, always in primary-key order so that concurrent
multi-line operations queue behind each other instead of deadlocking."""

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from inventory.models import ChannelLocation, Stock, Transfer
from omni.models import Channel


def _locked(qs: QuerySet) -> list[Stock]:
    # One statement: PostgreSQL locks the rows in the order the ORDER BY emits them.
    return list(qs.select_related("variant").order_by("pk").select_for_update(of=("self",)))


def channel_stocks_for_update(*, channel: Channel, variant_ids: Iterable[int]) -> list[Stock]:
    """Stock rows of `variant_ids` at the channel's active locations, locked in pk order."""
    return _locked(
        Stock.objects.filter(
            variant_id__in=list(variant_ids),
            location__active=True,
            location_id__in=ChannelLocation.objects.filter(channel=channel).values("location_id"),
        )
    )


def stocks_for_update(*, pairs: Iterable[tuple[int, int]]) -> list[Stock]:
    """Stock rows of the given (variant_id, location_id) pairs, locked in pk order."""
    condition = Q()
    for variant_id, location_id in set(pairs):
        condition |= Q(variant_id=variant_id, location_id=location_id)
    if not condition:
        return []
    return _locked(Stock.objects.filter(condition))


def stocks_by_pk_for_update(*, stock_ids: Iterable[int]) -> list[Stock]:
    return _locked(Stock.objects.filter(pk__in=list(stock_ids)))


def transfer_for_update(*, transfer_id: int) -> Transfer | None:
    return Transfer.objects.filter(pk=transfer_id).select_for_update(of=("self",)).first()
