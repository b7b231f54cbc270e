"""Currency rounding for quotes: the catalog's rule (ROUND_HALF_UP to the currency's minor
units, `catalog.money`), so every amount the pricing engine produces rounds exactly like the
catalog's prices. The exponent per currency is memoised: quoting rounds thousands of times."""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from catalog import money as catalog_money
from catalog.money import minor_units


@cache
def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (USD 0.01, JPY 1)."""
    return catalog_money.exponent(currency)


def quantize(amount: Decimal, currency: str) -> Decimal:
    """`catalog.money.quantize` for Decimals, with the exponent looked up once per currency."""
    if type(amount) is not Decimal:
        return catalog_money.quantize(amount, currency)
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


__all__ = ["minor_unit", "minor_units", "quantize"]
