"""Inventory domain errors, each with a stable `code` the API renders."""

from typing import Any

from rest_framework import status

from omni.errors import DomainError, InvalidInput


class InsufficientStock(DomainError):
    """Refused reservation or removal; `shortfalls` names each SKU, requested and available."""

    code = "insufficient_stock"
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, shortfalls: list[dict[str, Any]]):
        self.shortfalls = shortfalls
        parts = ", ".join(
            f"{s['sku']}: requested {s['requested']}, available {s['available']}"
            for s in shortfalls
        )
        super().__init__(f"Insufficient stock ({parts}).", shortfalls=shortfalls)


class InvalidQuantity(InvalidInput):
    code = "invalid_quantity"
    default_message = "Quantities must be positive whole numbers."

    def __init__(self, message: str | None = None, *, field: str = "quantity", **extra: Any):
        super().__init__(message, field=field, **extra)


class UnknownVariant(InvalidInput):
    code = "unknown_sku"
    default_message = "Unknown SKU."

    def __init__(self, message: str | None = None, *, field: str = "sku", **extra: Any):
        super().__init__(message, field=field, **extra)


class UnknownLocation(InvalidInput):
    code = "unknown_location"
    default_message = "Unknown stock location."

    def __init__(self, message: str | None = None, *, field: str = "location", **extra: Any):
        super().__init__(message, field=field, **extra)


class LocationUnavailable(DomainError):
    """The location exists but is inactive, or the channel does not sell from it."""

    code = "location_unavailable"
    status_code = status.HTTP_409_CONFLICT

    def __init__(self, message: str | None = None, *, field: str = "location", **extra: Any):
        super().__init__(message, field=field, **extra)


class SameLocation(InvalidInput):
    code = "same_location"
    default_message = "Source and destination must be different locations."

    def __init__(self, message: str | None = None, *, field: str = "destination", **extra: Any):
        super().__init__(message, field=field, **extra)


class ReservationNotFound(DomainError):
    code = "reservation_not_found"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The reservation was already released or committed."


class InvalidTransferState(DomainError):
    code = "invalid_transfer_state"
    status_code = status.HTTP_409_CONFLICT


class CountBelowReserved(DomainError):
    """A counted quantity below what is reserved there: move or release reservations first."""

    code = "count_below_reserved"
    status_code = status.HTTP_409_CONFLICT


class LocationOutOfScope(DomainError):
    """A store staff member named a location they are not assigned to."""

    code = "location_out_of_scope"
    status_code = status.HTTP_403_FORBIDDEN


class ReservationInUse(DomainError):
    """A reservation an order's allocation holds: only cancelling the order (or the line) gives
    it back, so the allocation never points at units that are no longer held."""

    code = "reservation_in_use"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The reservation holds units for an order: cancel the order or its lines."
