"""State changes of orders; other apps and the API import the public services from here."""

from orders.services.fulfilment import (
    FulfilLine,
    fulfilment_cancel,
    fulfilment_collect,
    fulfilment_create,
    fulfilment_mark_ready,
    fulfilment_pack,
    fulfilment_ship,
)
from orders.services.lifecycle import (
    allocation_move,
    order_cancel,
    order_complete,
    order_lines_cancel,
    order_payment_record,
    orders_complete_due,
)
from orders.services.placement import (
    CustomerInput,
    LineInput,
    PaymentInput,
    Placement,
    RecordedSale,
    idempotency_response_store,
    order_place,
    request_fingerprint,
)
from orders.services.returns import ReturnLineInput, ReturnResult, exchange_create, return_create

__all__ = [
    "CustomerInput",
    "FulfilLine",
    "LineInput",
    "PaymentInput",
    "Placement",
    "RecordedSale",
    "ReturnLineInput",
    "ReturnResult",
    "allocation_move",
    "exchange_create",
    "fulfilment_cancel",
    "fulfilment_collect",
    "fulfilment_create",
    "fulfilment_mark_ready",
    "fulfilment_pack",
    "fulfilment_ship",
    "idempotency_response_store",
    "order_cancel",
    "order_complete",
    "order_lines_cancel",
    "order_payment_record",
    "order_place",
    "orders_complete_due",
    "request_fingerprint",
    "return_create",
]
