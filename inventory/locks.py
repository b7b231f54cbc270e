"""The queries that take row locks on stock, always in primary-key order so that concurrent
multi-line operations queue behind each other instead of deadlocking. Stock rows are locked
with hand-written SQL (`inventory.sql`) to keep the locked window short."""

from collections.abc import Iterable

from inventory import sql
from inventory.models import Transfer
from inventory.sql import LockedStock
from omni.models import Channel


def channel_stocks_for_update(
    *,
    channel: Channel,
    variant_ids: Iterable[int],
    pairs: Iterable[tuple[int, int]] | None = None,
) -> list[LockedStock]:
    """Stock rows of `variant_ids` at the channel's active locations, locked in pk order;
    with `pairs`, only those (variant_id, location_id) rows."""
    return sql.lock_stocks(variant_ids=variant_ids, pairs=pairs, channel_id=channel.pk)


def stocks_for_update(*, pairs: Iterable[tuple[int, int]]) -> list[LockedStock]:
    """Stock rows of the given (variant_id, location_id) pairs, locked in pk order."""
    return sql.lock_stocks(pairs=pairs)


def stocks_by_pk_for_update(*, stock_ids: Iterable[int]) -> list[LockedStock]:
    return sql.lock_stocks(stock_ids=stock_ids)


def transfer_for_update(*, transfer_id: int) -> Transfer | None:
    return Transfer.objects.filter(pk=transfer_id).select_for_update(of=("self",)).first()
