"""Domain errors of the orders app, each with a stable `code` the API renders."""

from rest_framework import status

from omni.errors import DomainError


class OrderError(DomainError):
    code = "order_error"
    status_code = status.HTTP_409_CONFLICT


class IllegalTransition(OrderError):
    code = "illegal_transition"
    default_message = "The order's status does not allow this."


class InsufficientStock(OrderError):
    """Same code and shape as inventory's: `shortfalls=[{"sku","requested","available"}]`."""

    code = "insufficient_stock"
    default_message = "Not enough stock for some lines; nothing was reserved."


class IdempotencyKeyReused(OrderError):
    code = "idempotency_key_reused"
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_message = "This Idempotency-Key was already used with a different request body."


class QuantityExceeded(OrderError):
    code = "quantity_exceeded"
    status_code = status.HTTP_400_BAD_REQUEST
