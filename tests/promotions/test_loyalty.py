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


def test_real_customer_terms_tier_and_balance_with_a_fixed_query_count(
    shop, django_assert_num_queries
):
    from customers.models import Customer, LoyaltySettings
    from customers.services.loyalty import loyalty_adjust

    LoyaltySettings.objects.update_or_create(
        pk=1, defaults={"point_value": D("0.05"), "max_basket_share": D("0.25")}
    )
    customer = Customer.objects.create(first_name="Real")
    Customer.objects.filter(pk=customer.pk).update(tier_code="gold")
    loyalty_adjust(customer=customer, points=1000, idempotency_key="seed-1", note="test")
    PromotionFactory(name="Gold 10", value=D("10"), customer_tiers=["gold"])
    lines = [QuoteLineInput(shop.variants["TEE"].pk, 5)]
    quote(channel=shop.web, customer=customer, lines=lines, loyalty_points=1000)  # warm
    # 5 x 18.00 = 90.00; a quarter is 22.50 = 450 points at 0.05
    # listings, pricing profile (customer row, tier row), loyalty terms, balance
    with django_assert_num_queries(5):
        q = quote(channel=shop.web, customer=customer, lines=lines, loyalty_points=1000)
    assert (q.total, q.loyalty_points, q.loyalty_discount) == (D("67.50"), 450, D("22.50"))
    many = [QuoteLineInput(v.pk, 1) for v in shop.variants.values()]
    with django_assert_num_queries(5):
        quote(channel=shop.web, customer=customer, lines=many, loyalty_points=1000)


def test_tier_benefits_from_customers_apply_after_catalogue_rules(shop):
    from customers.models import Customer, LoyaltyTier

    LoyaltyTier.objects.create(
        code="gold", name="Gold", min_spend=D("1500"), benefits={"discount_percent": 5}
    )
    LoyaltyTier.objects.create(
        code="platinum", name="Platinum", min_spend=D("4000"), benefits={"free_shipping": True}
    )
    gold = Customer.objects.create(first_name="G")
    platinum = Customer.objects.create(first_name="P")
    Customer.objects.filter(pk=gold.pk).update(tier_code="gold")
    Customer.objects.filter(pk=platinum.pk).update(tier_code="platinum")
    PromotionFactory(name="Sitewide 10", value=D("10"))
    PromotionFactory(name="Shoes exclusive", value=D("20"), priority=5, exclusive=True,
                     categories=[shop.shoes])  # fmt: skip
    lines = [
        QuoteLineInput(shop.variants["TEE"].pk, 2),
        QuoteLineInput(shop.variants["SHOE"].pk, 1),
    ]
    q = quote(channel=shop.web, customer=gold, lines=lines)
    # tee 20 -> 18 -> 17.10 each; the shoe is held by the exclusive rule: 80 -> 64
    assert [line.line_total for line in q.lines] == [D("34.20"), D("64.00")]
    tier = next(p for p in q.promotions if p.promotion_id is None)
    assert (tier.name, tier.amount, q.free_shipping) == ("Gold tier benefit", D("1.80"), False)
    q = quote(channel=shop.web, customer=platinum, lines=lines)
    assert (q.total, q.free_shipping) == (D("100.00"), True)
