"""Whatever the promotions and the basket, a quote adds up exactly and never goes negative."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promotions.models import DiscountType, Promotion, PromotionKind
from promotions.pricing import QuoteLineInput, quote
from promotions.rules import rules_changed
from tests.promotions.factories import PromotionFactory

D = Decimal

promotion_specs = st.lists(
    st.fixed_dictionaries(
        {
            "kind": st.sampled_from(PromotionKind.values),
            "discount_type": st.sampled_from([DiscountType.PERCENT, DiscountType.AMOUNT]),
            "value": st.decimals(min_value=0, max_value=100, places=2),
            "min_spend": st.sampled_from([D(0), D(25), D(100)]),
            "exclusive": st.booleans(),
            "priority": st.integers(0, 3),
            "target": st.sampled_from([None, "apparel", "home"]),
        }
    ),
    max_size=5,
)
baskets = st.dictionaries(st.sampled_from(["TEE", "SHOE", "MUG"]), st.integers(1, 7), min_size=1)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(specs=promotion_specs, basket=baskets, channel_code=st.sampled_from(["web", "jp"]))
def test_quote_totals_add_up_exactly(shop, specs, basket, channel_code):
    Promotion.objects.all().delete()
    for spec in specs:
        target = spec.pop("target")
        discount_type = spec["discount_type"]
        if spec["kind"] == PromotionKind.CATALOGUE and spec["value"] > 50:
            discount_type = DiscountType.FIXED_PRICE
        PromotionFactory(
            **{**spec, "discount_type": discount_type},
            buy_quantity=2,
            get_quantity=1,
            bundle_quantity=2,
            bundle_price=D("15"),
            categories=[getattr(shop, target)] if target else None,
        )
    rules_changed()
    lines = [QuoteLineInput(shop.variants[sku].pk, qty) for sku, qty in basket.items()]
    q = quote(channel=shop.channels[channel_code], lines=lines)
    assert sum(line.line_total for line in q.lines) == q.total
    assert q.subtotal - q.discount_total == q.total
    assert q.total >= 0
    for line in q.lines:
        assert line.line_discount == sum(d.amount for d in line.discounts)
        assert 0 <= line.line_total <= line.unit_price * line.quantity
        assert all(d.amount > 0 for d in line.discounts)
        assert line.line_total == line.line_total.quantize(
            D(1) if q.currency == "JPY" else D("0.01")
        )
    assert sum(p.amount for p in q.promotions) == q.discount_total
