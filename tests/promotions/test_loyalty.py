"""Loyalty points in quotes: value from the terms, capped by balance and by basket share."""

from decimal import Decimal

import pytest

from omni.errors import InvalidInput
from promotions.pricing import QuoteLineInput, quote
from tests.promotions.factories import PromotionFactory

D = Decimal


def tees(shop, qty):
    return [QuoteLineInput(shop.variants["TEE"].pk, qty)]


def test_points_pay_at_their_value(shop, plain_customer, customer_facts):
    customer_facts.balances[plain_customer.pk] = 1000
    q = quote(channel=shop.web, customer=plain_customer, lines=tees(shop, 2), loyalty_points=500)
    assert (q.loyalty_points, q.loyalty_discount, q.total) == (500, D("5.00"), D("35.00"))
    assert q.discount_total == D("0")
    (discount,) = q.lines[0].discounts
    assert (discount.source, discount.amount) == ("loyalty", D("5.00"))


def test_points_are_capped_by_the_balance(shop, plain_customer, customer_facts):
    customer_facts.balances[plain_customer.pk] = 120
    q = quote(channel=shop.web, customer=plain_customer, lines=tees(shop, 2), loyalty_points=500)
    assert (q.loyalty_points, q.loyalty_discount, q.total) == (120, D("1.20"), D("38.80"))


def test_points_are_capped_by_the_basket_share_after_discounts(
    shop, plain_customer, customer_facts
):
    PromotionFactory(name="Sitewide 10", value=D("10"))
    customer_facts.balances[plain_customer.pk] = 100_000
    # 2 tees at 18.00 = 36.00; at most half of it, 18.00 = 1800 points
    q = quote(channel=shop.web, customer=plain_customer, lines=tees(shop, 2), loyalty_points=5000)
    assert (q.loyalty_points, q.loyalty_discount, q.total) == (1800, D("18.00"), D("18.00"))
    assert q.discount_total == D("4.00")
    assert q.subtotal - q.discount_total - q.loyalty_discount == q.total


def test_loyalty_discount_is_spread_over_the_lines_exactly(shop, plain_customer, customer_facts):
    customer_facts.balances[plain_customer.pk] = 1000
    lines = [
        QuoteLineInput(shop.variants["TEE"].pk, 1),
        QuoteLineInput(shop.variants["MUG"].pk, 1),
        QuoteLineInput(shop.variants["SHOE"].pk, 1),
    ]
    q = quote(channel=shop.web, customer=plain_customer, lines=lines, loyalty_points=1000)
    # 10.00 over 20.00 / 9.99 / 80.00 (109.99): 1.818.. 0.908.. 7.273.. -> 1.82, 0.91, 7.27
    assert [line.line_discount for line in q.lines] == [D("1.82"), D("0.91"), D("7.27")]
    assert sum(line.line_total for line in q.lines) == q.total == D("99.99")


def test_points_need_a_customer(shop):
    with pytest.raises(InvalidInput) as exc:
        quote(channel=shop.web, lines=tees(shop, 1), loyalty_points=10)
    assert (exc.value.code, exc.value.field) == ("customer_required", "loyalty_points")
