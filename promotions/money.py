"""Currency rounding for quotes: the catalog's `quantize` (ROUND_HALF_UP to minor units).

Kept as one import point so every amount the pricing engine produces rounds exactly like the
catalog's prices; while `catalog.money` has not landed a local copy with the same signature
stands in.
"""

from decimal import ROUND_HALF_UP, Decimal

try:
    from catalog.money import minor_units, quantize
except ImportError:  # catalog.money not on main yet
    _MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0, "BHD": 3, "KWD": 3}

    def minor_units(currency: str) -> int:
        return _MINOR_UNITS.get(currency.upper(), 2)

    def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
        return Decimal(amount).quantize(
            Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP
        )


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (USD 0.01, JPY 1)."""
    return Decimal(1).scaleb(-minor_units(currency))


__all__ = ["minor_unit", "minor_units", "quantize"]
