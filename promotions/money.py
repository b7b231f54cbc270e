"""Currency rounding for quotes: the catalog's `quantize` (ROUND_HALF_UP to minor units), so
every amount the pricing engine produces rounds exactly like the catalog's prices."""

from decimal import Decimal

from catalog.money import exponent, minor_units, quantize


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (USD 0.01, JPY 1)."""
    return exponent(currency)


__all__ = ["minor_unit", "minor_units", "quantize"]
