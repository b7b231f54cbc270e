"""The pricing engine rounds exactly as the catalog does."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from catalog import money as catalog_money
from promotions.money import quantize


@given(
    amount=st.decimals(min_value=-10_000, max_value=10_000, places=5),
    currency=st.sampled_from(["USD", "EUR", "JPY", "KWD", "BHD", "CLP"]),
)
def test_quantize_agrees_with_the_catalog(amount, currency):
    assert quantize(amount, currency) == catalog_money.quantize(amount, currency)


def test_half_up_examples():
    assert quantize(Decimal("0.005"), "USD") == Decimal("0.01")
    assert quantize(Decimal("2.5"), "JPY") == Decimal("3")
    assert quantize(Decimal("1.0005"), "KWD") == Decimal("1.001")
