"""Catalog errors with stable codes; the API renders them as JSON naming the field."""

from rest_framework import status

from omni.errors import DomainError, InvalidInput, NotFound


class CatalogInvalid(InvalidInput):
    """Bad catalog input (400): unknown category, wrong currency, excess price precision..."""

    code = "invalid"


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_message = "No such product in this channel."


class CatalogConflict(DomainError):
    """A change that clashes with existing data (409), e.g. a duplicate SKU or barcode."""

    code = "conflict"
    status_code = status.HTTP_409_CONFLICT


class StalePreview(DomainError):
    """A bulk price change was confirmed after the prices it previewed had changed."""

    code = "stale_preview"
    status_code = status.HTTP_409_CONFLICT
    default_message = "Prices changed since the preview; review the change again."
