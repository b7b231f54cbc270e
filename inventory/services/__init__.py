"""Inventory state changes. Other apps import from here (`inventory.services`).

Every change of `on_hand` writes ledger rows in the same transaction; every change of a stock
row happens under a row lock taken in primary-key order (`inventory.locks`), with the counters
moved by one UPDATE per call. Each public service costs a fixed number of queries whatever the
number of lines. Services other apps call inside their own transaction use plain
`transaction.atomic()`; entry points of their own (tasks, staff actions) are durable.
"""

from inventory.services.base import StockLine, StockRequest
from inventory.services.counts import CountLine, stock_count_record
from inventory.services.low_stock import low_stock_scan
from inventory.services.outbox import availability_outbox_drain, record_availability_changes
from inventory.services.reservations import (
    cart_hold_place,
    cart_holds_expire,
    reservation_commit,
    reservation_move,
    reservation_release,
    reservations_commit,
    stock_reserve,
)
from inventory.services.stock import (
    stock_adjust,
    stock_flag_for_count,
    stock_receive,
    stock_record_sale,
    stock_return,
    stock_write_off,
)
from inventory.services.transfers import (
    transfer_cancel,
    transfer_close,
    transfer_create,
    transfer_receive,
    transfer_ship,
)

__all__ = [
    "CountLine",
    "StockLine",
    "StockRequest",
    "availability_outbox_drain",
    "cart_hold_place",
    "cart_holds_expire",
    "low_stock_scan",
    "record_availability_changes",
    "reservation_commit",
    "reservation_move",
    "reservation_release",
    "reservations_commit",
    "stock_adjust",
    "stock_count_record",
    "stock_flag_for_count",
    "stock_receive",
    "stock_record_sale",
    "stock_reserve",
    "stock_return",
    "stock_write_off",
    "transfer_cancel",
    "transfer_close",
    "transfer_create",
    "transfer_receive",
    "transfer_ship",
]
