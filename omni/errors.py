"""Domain errors with stable codes, and the API exception handler that renders every error as
JSON: `{"code": ..., "detail": ..., "errors": [{"field", "code", "message"}]}`."""

import logging
from typing import Any

from django.db import InterfaceError, OperationalError
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class DomainError(Exception):
    """A refused business operation. Subclasses (one per app, in its errors.py) fix `code` and
    `status_code`; `extra` carries machine-readable details such as per-SKU shortfalls."""

    code = "domain_error"
    status_code = status.HTTP_409_CONFLICT
    default_message = "The operation was refused."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        status_code: int | None = None,
        field: str | None = None,
        **extra: Any,
    ):
        self.message = message or self.default_message
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code
        self.field = field
        self.extra = extra
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": self.message}
        if self.field:
            body["errors"] = [{"field": self.field, "code": self.code, "message": self.message}]
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    code = "invalid"
    status_code = status.HTTP_400_BAD_REQUEST
    default_message = "Invalid input."


class NotFound(DomainError):
    code = "not_found"
    status_code = status.HTTP_404_NOT_FOUND
    default_message = "Not found."


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into a flat list naming each field by its dotted path."""
    if isinstance(detail, dict):
        out = []
        for key, value in detail.items():
            name = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            out.extend(flatten_errors(value, name))
        return out
    if isinstance(detail, list):
        if detail and all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            return [
                {"field": path or "non_field_errors", "code": item.code, "message": str(item)}
                for item in detail
            ]
        out = []
        for index, value in enumerate(detail):
            out.extend(flatten_errors(value, f"{path}.{index}" if path else str(index)))
        return out
    code = getattr(detail, "code", "invalid")
    return [{"field": path or "non_field_errors", "code": code, "message": str(detail)}]


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    # Imported here: rest_framework.views loads the permission classes, which import this module.
    from rest_framework.views import exception_handler

    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc.__class__.__name__)
        return Response(
            {"code": "service_unavailable", "detail": "The database is unavailable; retry."},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "1"},
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": flatten_errors(exc.detail),
        }
        return response
    detail = getattr(exc, "detail", None)
    code = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
    if not isinstance(code, str):
        code = getattr(exc, "default_code", "error")
    body: dict[str, Any] = {"code": code, "detail": str(detail) if detail else str(exc)}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        body["retry_after"] = int(exc.wait)
    response.data = body
    return response
