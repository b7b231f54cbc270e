"""Currency precision: minor units per ISO currency and half-up rounding, never floats."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog import money


@pytest.mark.parametrize(
    ("currency", "units"), [("JPY", 0), ("USD", 2), ("EUR", 2), ("BHD", 3), ("KWD", 3), ("usd", 2)]
)
def test_minor_units_per_currency(currency, units):
    assert money.minor_units(currency) == units


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("2.345", "USD", "2.35"),
        ("2.344", "USD", "2.34"),
        ("-2.345", "USD", "-2.35"),
        ("2.5", "JPY", "3"),
        ("3.5", "JPY", "4"),  # half-up, not banker's rounding (which gives 4 here and 2 above)
        ("1.0005", "KWD", "1.001"),
        ("10", "EUR", "10.00"),
    ],
)
def test_quantize_rounds_half_up_to_the_currency(amount, currency, expected):
    result = money.quantize(amount, currency)
    assert result == Decimal(expected)
    assert str(result) == expected


def test_floats_are_refused():
    with pytest.raises(TypeError):
        money.quantize(0.1, "USD")


def test_precision_check_and_minor_unit_conversion():
    assert money.has_currency_precision("19.99", "USD")
    assert not money.has_currency_precision("19.999", "USD")
    assert not money.has_currency_precision("1.5", "JPY")
    assert money.to_minor_units("19.99", "USD") == 1999
    assert money.to_minor_units("4.125", "KWD") == 4125
    assert money.from_minor_units(1200, "JPY") == Decimal("1200")
    assert money.format_amount(Decimal("5"), "BHD") == "5.000"


@given(
    units=st.integers(min_value=-(10**12), max_value=10**12),
    currency=st.sampled_from(["JPY", "USD", "KWD"]),
)
def test_minor_units_round_trip(units, currency):
    assert money.to_minor_units(money.from_minor_units(units, currency), currency) == units
