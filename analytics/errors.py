"""Domain errors of analytics, each with a stable code."""

from rest_framework import status

from omni.errors import DomainError


class SuggestionNotOpen(DomainError):
    code = "suggestion_not_open"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The suggestion was already converted or dismissed."


class UnknownSku(DomainError):
    code = "unknown_sku"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "Unknown SKU."
