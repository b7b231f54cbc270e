"""Currency precision: how many minor units each ISO 4217 currency has, and rounding to it.

Every amount Omni stores or quotes is a `Decimal` carrying exactly its currency's precision
(USD 19.99, JPY 1200, KWD 4.125). Rounding is ROUND_HALF_UP (half a minor unit goes away from
zero), the commercial rounding shoppers and accountants expect; never banker's rounding, never
floats. Promotions and orders import `quantize` so a price rounds the same way everywhere.

Currencies not in `MINOR_UNITS` have 2 minor units, the ISO 4217 default for most codes.
Listings store prices with 3 decimal places, the largest precision supported here.
"""

import functools
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DEFAULT_MINOR_UNITS = 2

# ISO 4217 currencies whose minor unit differs from the default of 2.
MINOR_UNITS: dict[str, int] = {
    # no minor unit
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # thousandths
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}

MAX_MINOR_UNITS = 3


def minor_units(currency: str) -> int:
    """Number of decimal places of `currency` (JPY 0, USD 2, KWD 3)."""
    return MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNITS)


@functools.cache
def exponent(currency: str) -> Decimal:
    """The smallest amount of `currency` as a Decimal (USD: Decimal("0.01"), JPY: Decimal("1"))."""
    return Decimal(1).scaleb(-minor_units(currency))


def to_decimal(amount: Decimal | int | str) -> Decimal:
    """Coerce to Decimal without ever passing through a float; floats are refused."""
    if isinstance(amount, float):
        raise TypeError("money amounts must not be floats; pass a Decimal, int or str")
    if isinstance(amount, Decimal):
        return amount
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    return value


def quantize(amount: Decimal | int | str, currency: str) -> Decimal:
    """`amount` rounded to `currency`'s precision, half a minor unit rounding away from zero
    (ROUND_HALF_UP): quantize("2.345", "USD") == Decimal("2.35"), quantize("2.5", "JPY") == 3."""
    return to_decimal(amount).quantize(exponent(currency), rounding=ROUND_HALF_UP)


def has_currency_precision(amount: Decimal | int | str, currency: str) -> bool:
    """True when `amount` needs no rounding in `currency` (19.99 in USD yes, 19.999 no)."""
    value = to_decimal(amount)
    return value == quantize(value, currency)


def to_minor_units(amount: Decimal | int | str, currency: str) -> int:
    """The amount as an integer count of minor units (USD 19.99 -> 1999), rounded first."""
    return int(quantize(amount, currency).scaleb(minor_units(currency)))


def from_minor_units(units: int, currency: str) -> Decimal:
    """Inverse of `to_minor_units` (USD 1999 -> Decimal("19.99"))."""
    return quantize(Decimal(units).scaleb(-minor_units(currency)), currency)


def format_amount(amount: Decimal, currency: str) -> str:
    """The amount as a plain string with exactly the currency's decimals, for JSON and CSV."""
    if type(amount) is not Decimal:
        amount = to_decimal(amount)
    # Hot path of the storefront list (two amounts per variant): no re-validation needed.
    return f"{amount.quantize(exponent(currency), rounding=ROUND_HALF_UP):f}"
