"""quote(): catalogue and basket rules, stacking, exclusivity, rounding, time windows, queries.

Expected figures below were worked out by hand from the listing prices in conftest.py:
TEE 20.00 / 20.00 / 2000 JPY, SHOE 80.00 / 75.00 / 9000 JPY, MUG 9.99 / 9.99 / 1000 JPY
(web / store / jp).
"""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omni.errors import InvalidInput
from promotions.errors import VariantNotListed
from promotions.models import DiscountType, PromotionKind
from promotions.pricing import QuoteLineInput, allocate, quote
from tests.catalog.factories import ListingFactory, VariantFactory
from tests.promotions.factories import PromotionFactory

D = Decimal


def lines_of(shop, basket: dict[str, int]) -> list[QuoteLineInput]:
    return [QuoteLineInput(shop.variants[sku].pk, qty) for sku, qty in basket.items()]


@pytest.fixture
def standard_promotions(shop):
    """P1 sitewide 10 %; P2 shoes 25 % web only, exclusive, priority 10; P3 10.00 off a USD
    basket of 100.00 or more; P4 an extra 5 % for gold-tier customers."""
    return {
        "P1": PromotionFactory(name="Sitewide 10", value=D("10")),
        "P2": PromotionFactory(
            name="Shoes 25 web",
            value=D("25"),
            priority=10,
            exclusive=True,
            categories=[shop.shoes],
            channels=[shop.web],
        ),
        "P3": PromotionFactory(
            name="10 off 100",
            kind=PromotionKind.SPEND_THRESHOLD,
            discount_type=DiscountType.AMOUNT,
            value=D("10"),
            min_spend=D("100"),
            currency="USD",
        ),
        "P4": PromotionFactory(name="Gold extra 5", value=D("5"), customer_tiers=["gold"]),
    }


BASKET_A = {"TEE": 2, "SHOE": 1, "MUG": 3}
BASKET_B = {"SHOE": 2}

# basket, channel, customer, subtotal, discount_total, total, {sku: line_total}
TABLE = [
    (BASKET_A, "web", None, "149.97", "27.00", "122.97",
     {"SHOE": "60.00", "TEE": "36.00", "MUG": "26.97"}),
    (BASKET_A, "store", None, "144.97", "24.50", "120.47",
     {"SHOE": "62.33", "TEE": "33.24", "MUG": "24.90"}),
    (BASKET_A, "jp", None, "16000", "1600", "14400",
     {"SHOE": "8100", "TEE": "3600", "MUG": "2700"}),
    (BASKET_A, "web", "gold", "149.97", "30.15", "119.82",
     {"SHOE": "60.00", "TEE": "34.20", "MUG": "25.62"}),
    (BASKET_A, "store", "gold", "144.97", "31.03", "113.94",
     {"SHOE": "58.95", "TEE": "31.44", "MUG": "23.55"}),
    (BASKET_A, "web", "plain", "149.97", "27.00", "122.97",
     {"SHOE": "60.00", "TEE": "36.00", "MUG": "26.97"}),
    (BASKET_B, "web", None, "160.00", "40.00", "120.00", {"SHOE": "120.00"}),
    (BASKET_B, "store", None, "150.00", "25.00", "125.00", {"SHOE": "125.00"}),
    (BASKET_B, "jp", "gold", "18000", "2610", "15390", {"SHOE": "15390"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("basket", "channel_code", "who", "subtotal", "discount", "total", "line_totals"), TABLE
)
def test_table_of_baskets_channels_and_customers(
    shop,
    standard_promotions,
    gold_customer,
    plain_customer,
    basket,
    channel_code,
    who,
    subtotal,
    discount,
    total,
    line_totals,
):
    customer = {"gold": gold_customer, "plain": plain_customer, None: None}[who]
    q = quote(channel=shop.channels[channel_code], customer=customer, lines=lines_of(shop, basket))
    assert (q.subtotal, q.discount_total, q.total) == (D(subtotal), D(discount), D(total))
    assert {line.sku: line.line_total for line in q.lines} == {
        sku: D(v) for sku, v in line_totals.items()
    }
    assert sum(line.line_discount for line in q.lines) == q.discount_total
    assert q.currency == shop.channels[channel_code].currency


def test_each_discount_names_the_promotion_that_gave_it(shop, standard_promotions):
    q = quote(channel=shop.store, lines=lines_of(shop, BASKET_A))
    shoe = next(line for line in q.lines if line.sku == "SHOE")
    assert [(d.source, d.promotion_id, d.amount) for d in shoe.discounts] == [
        ("promotion", standard_promotions["P1"].pk, D("7.50")),
        ("promotion", standard_promotions["P3"].pk, D("5.17")),
    ]
    assert {p.promotion_id: p.amount for p in q.promotions} == {
        standard_promotions["P1"].pk: D("14.50"),
        standard_promotions["P3"].pk: D("10.00"),
    }


def test_exclusive_promotion_stops_other_promotions_on_its_lines(shop, standard_promotions):
    q = quote(channel=shop.web, lines=lines_of(shop, {"SHOE": 1}))
    (shoe,) = q.lines
    assert [d.promotion_id for d in shoe.discounts] == [standard_promotions["P2"].pk]
    assert shoe.final_unit_price == D("60.00")


def test_exclusive_promotion_is_skipped_on_lines_already_discounted(shop):
    PromotionFactory(name="Stackable first", value=D("10"), priority=5)
    late = PromotionFactory(name="Exclusive later", value=D("50"), priority=1, exclusive=True)
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1}))
    assert q.total == D("18.00")
    assert late.pk not in [p.promotion_id for p in q.promotions]


def test_stackable_percentages_compound_in_priority_order(shop):
    PromotionFactory(name="Half", value=D("50"), priority=2)
    PromotionFactory(name="Fixed 3 off", discount_type=DiscountType.AMOUNT, value=D("3"))
    # 20.00 -> 10.00 -> 7.00 per unit
    assert quote(channel=shop.web, lines=lines_of(shop, {"TEE": 3})).total == D("21.00")


def test_fixed_price_rule_by_brand_and_by_variant(shop):
    PromotionFactory(
        name="Acme at 5", discount_type=DiscountType.FIXED_PRICE, value=D("5"), brands=["Acme"]
    )
    PromotionFactory(
        name="Shoe at 50",
        discount_type=DiscountType.FIXED_PRICE,
        value=D("50"),
        variants=[shop.variants["SHOE"]],
    )
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1, "MUG": 2, "SHOE": 1}))
    assert {line.sku: line.line_total for line in q.lines} == {
        "TEE": D("5.00"),
        "MUG": D("10.00"),
        "SHOE": D("50.00"),
    }


def test_amount_off_never_makes_a_unit_negative(shop):
    PromotionFactory(name="Big", discount_type=DiscountType.AMOUNT, value=D("15"))
    q = quote(channel=shop.web, lines=lines_of(shop, {"MUG": 2}))
    assert q.total == D("0.00")
    assert q.discount_total == D("19.98")


def test_product_target_covers_all_its_variants(shop):
    shoe = shop.variants["SHOE"]
    other = VariantFactory(product=shoe.product, sku="SHOE-46")
    ListingFactory(variant=other, channel=shop.web, price=D("82.00"))
    PromotionFactory(name="Shoe product", value=D("50"), products=[shoe.product])
    q = quote(channel=shop.web, lines=[QuoteLineInput(other.pk, 1), QuoteLineInput(shoe.pk, 1)])
    assert [line.line_total for line in q.lines] == [D("41.00"), D("40.00")]


def test_buy_two_get_one_gives_the_cheapest_units_free(shop):
    PromotionFactory(
        name="3 for 2",
        kind=PromotionKind.BUY_X_GET_Y,
        value=D("100"),
        buy_quantity=2,
        get_quantity=1,
    )
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1, "MUG": 3}))
    assert q.total == D("39.98")  # 20 + 3 x 9.99 - 9.99
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1, "MUG": 6}))
    assert q.total == D("59.96")  # 20 + 6 x 9.99 - 2 x 9.99 (7 units: 2 groups of 3)
    q = quote(channel=shop.web, lines=lines_of(shop, {"MUG": 2}))
    assert q.discount_total == D("0.00")


def test_buy_one_get_one_half_price_discounts_the_cheaper_unit(shop):
    PromotionFactory(
        name="Second half price",
        kind=PromotionKind.BUY_X_GET_Y,
        value=D("50"),
        buy_quantity=1,
        get_quantity=1,
        categories=[shop.apparel],
    )
    q = quote(channel=shop.web, lines=lines_of(shop, {"SHOE": 1, "TEE": 1, "MUG": 1}))
    assert q.total == D("99.99")  # 80 + 20 / 2 + 9.99 (mug not in apparel)


def test_bundle_price_allocates_over_the_bundled_units(shop):
    PromotionFactory(
        name="3 mugs for 25",
        kind=PromotionKind.BUNDLE,
        bundle_quantity=3,
        bundle_price=D("25"),
        categories=[shop.home],
    )
    q = quote(channel=shop.web, lines=lines_of(shop, {"MUG": 4}))
    assert q.total == D("34.99")  # 25.00 + 9.99


def test_bundle_across_lines_takes_the_dearest_units(shop):
    PromotionFactory(name="Any 2 for 50", kind=PromotionKind.BUNDLE, bundle_quantity=2,
                     bundle_price=D("50"))  # fmt: skip
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1, "MUG": 1, "SHOE": 1}))
    assert {line.sku: line.line_discount for line in q.lines} == {
        "TEE": D("10.00"),
        "MUG": D("0"),
        "SHOE": D("40.00"),
    }
    assert q.total == D("59.99")


def test_free_shipping_from_a_spend_threshold(shop):
    PromotionFactory(name="Ship free over 50", kind=PromotionKind.FREE_SHIPPING, min_spend=D("50"))
    assert quote(channel=shop.web, lines=lines_of(shop, {"TEE": 2})).free_shipping is False
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 3}))
    assert q.free_shipping is True
    assert q.total == D("60.00")


def test_spend_threshold_percent_counts_the_amount_after_catalogue_discounts(shop):
    PromotionFactory(name="Sitewide 10", value=D("10"))
    PromotionFactory(
        name="5% over 100",
        kind=PromotionKind.SPEND_THRESHOLD,
        value=D("5"),
        min_spend=D("100"),
    )
    # 6 tees: 120 -> 108 after 10 %; 5 % of 108 = 5.40
    assert quote(channel=shop.web, lines=lines_of(shop, {"TEE": 6})).total == D("102.60")
    # 5 tees: 100 -> 90 < 100, threshold missed
    assert quote(channel=shop.web, lines=lines_of(shop, {"TEE": 5})).total == D("90.00")


def test_segment_promotion_for_members_of_the_segment_only(
    shop, gold_customer, plain_customer, customer_facts
):
    PromotionFactory(name="VIP", value=D("20"), customer_segments=["vip"])
    lines = lines_of(shop, {"TEE": 1})
    assert quote(channel=shop.web, customer=gold_customer, lines=lines).total == D("16.00")
    assert quote(channel=shop.web, customer=plain_customer, lines=lines).total == D("20.00")
    assert quote(channel=shop.web, lines=lines).total == D("20.00")


def test_rounding_half_up_per_unit(shop):
    PromotionFactory(name="Sitewide 10", value=D("10"))
    # 10 % of 9.99 = 0.999 -> 1.00 per unit, every unit alike
    q = quote(channel=shop.web, lines=lines_of(shop, {"MUG": 7}))
    assert q.lines[0].line_discount == D("7.00")
    assert q.lines[0].final_unit_price == D("8.99")


def test_rounding_in_a_currency_without_minor_units(shop):
    PromotionFactory(name="Third off", value=D("33.333"))
    # 33.333 % of 1000 JPY = 333.33 -> 333; of 2000 = 666.66 -> 667
    q = quote(channel=shop.jp, lines=lines_of(shop, {"MUG": 1, "TEE": 1}))
    assert [line.line_total for line in q.lines] == [D("667"), D("1333")]


def test_basket_discount_splits_by_largest_remainder_and_sums_exactly(shop, make_channel):
    PromotionFactory(
        name="10 cents off",
        kind=PromotionKind.SPEND_THRESHOLD,
        discount_type=DiscountType.AMOUNT,
        value=D("0.10"),
    )
    cheap = make_channel("cheap")
    variants = [VariantFactory(sku=f"C{i}") for i in range(3)]
    for v in variants:
        ListingFactory(variant=v, channel=cheap, price=D("1.00"))
    q = quote(channel=cheap, lines=[QuoteLineInput(v.pk, 1) for v in variants])
    assert [line.line_discount for line in q.lines] == [D("0.04"), D("0.03"), D("0.03")]
    assert q.total == D("2.90")


def test_allocate_examples():
    assert allocate(D("10.00"), [D("67.50"), D("36.00"), D("26.97")], "USD") == [
        D("5.17"),
        D("2.76"),
        D("2.07"),
    ]
    assert allocate(D("0"), [D("1"), D("2")], "USD") == [D("0"), D("0")]
    assert allocate(D("5"), [D("0"), D("0")], "JPY") == [D("0"), D("0")]


@given(
    weights=st.lists(
        st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2), min_size=1, max_size=12
    ),
    fraction=st.decimals(min_value=D("0"), max_value=D("1"), places=4),
)
def test_allocation_sums_exactly_and_never_exceeds_a_line(weights, fraction):
    total = (sum(weights) * fraction).quantize(D("0.01"), rounding="ROUND_DOWN")
    parts = allocate(total, weights, "USD")
    assert sum(parts) == total
    assert all(D(0) <= p <= w for p, w in zip(parts, weights, strict=True))


def test_time_window_with_bounds_in_different_time_zones(shop):
    # Starts at midnight in Paris (22:00 UTC the day before), ends at midnight in New York
    # (04:00 UTC); the window is half-open.
    PromotionFactory(
        name="Midsummer",
        value=D("50"),
        starts_at=datetime(2026, 6, 1, 0, 0, tzinfo=ZoneInfo("Europe/Paris")),
        ends_at=datetime(2026, 6, 2, 0, 0, tzinfo=ZoneInfo("America/New_York")),
    )
    lines = lines_of(shop, {"TEE": 1})

    def total_at(*args, tz=UTC):
        return quote(channel=shop.web, lines=lines, at=datetime(*args, tzinfo=tz)).total

    assert total_at(2026, 5, 31, 21, 59, 59) == D("20.00")
    assert total_at(2026, 5, 31, 22, 0, 0) == D("10.00")
    assert total_at(2026, 6, 1, 7, 0, 0, tz=ZoneInfo("Asia/Tokyo")) == D("10.00")  # 22:00 UTC
    assert total_at(2026, 6, 2, 3, 59, 59) == D("10.00")
    assert total_at(2026, 6, 2, 4, 0, 0) == D("20.00")
    assert total_at(2026, 6, 2, 0, 0, 0, tz=ZoneInfo("America/New_York")) == D("20.00")


def test_naive_time_is_refused(shop):
    with pytest.raises(InvalidInput) as exc:
        quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1}), at=datetime(2026, 1, 1))
    assert exc.value.code == "naive_datetime"


def test_unlisted_variant_is_refused_naming_the_sku(shop):
    lonely = VariantFactory(sku="NOT-HERE")
    with pytest.raises(VariantNotListed) as exc:
        quote(channel=shop.web, lines=[QuoteLineInput(lonely.pk, 1)])
    assert exc.value.extra["sku"] == "NOT-HERE"
    assert exc.value.field == "lines.0"


def test_unpublished_listing_is_not_sold(shop):
    shop.variants["TEE"].listings.filter(channel=shop.web).update(published=False)
    with pytest.raises(VariantNotListed):
        quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1}))


def test_zero_quantity_is_refused(shop):
    with pytest.raises(InvalidInput) as exc:
        quote(channel=shop.web, lines=lines_of(shop, {"TEE": 0}))
    assert exc.value.field == "lines.0.quantity"


def test_as_dict_is_json_safe_and_keeps_the_figures(shop, standard_promotions):
    import json

    data = json.loads(
        json.dumps(quote(channel=shop.store, lines=lines_of(shop, BASKET_A)).as_dict())
    )
    assert data["total"] == "120.47"
    assert data["currency"] == "USD"
    assert data["lines"][0]["discounts"][0]["amount"] == "4.00"  # TEE: 2 x 2.00
    assert data["promotions"][0]["promotion_id"] == standard_promotions["P1"].pk


def test_as_dict_equals_the_dataclass_converted_field_by_field(shop, standard_promotions):
    """as_dict walks the dataclasses itself (no asdict deep copy); the result is what asdict
    plus the Decimal and datetime conversions give, key order included."""
    from dataclasses import asdict

    from promotions.pricing import _jsonable

    quoted = quote(channel=shop.store, lines=lines_of(shop, BASKET_A))
    assert quoted.lines and quoted.promotions and quoted.lines[0].discounts
    expected = _jsonable(asdict(quoted))
    assert quoted.as_dict() == expected
    assert list(quoted.as_dict()) == list(expected)
    assert list(quoted.as_dict()["lines"][0]) == list(expected["lines"][0])


def test_quote_runs_a_fixed_number_of_queries(shop, standard_promotions, django_assert_num_queries):
    extra = []
    for i in range(9):
        v = VariantFactory(sku=f"X{i}")
        ListingFactory(variant=v, channel=shop.web, price=D("3.00"))
        extra.append(QuoteLineInput(v.pk, i + 1))
    one = lines_of(shop, {"TEE": 1})
    ten = one + extra
    with django_assert_num_queries(5):  # cold: listings + promotion snapshot (4)
        quote(channel=shop.web, lines=one)
    with django_assert_num_queries(1):  # warm: listings only
        quote(channel=shop.web, lines=one)
    with django_assert_num_queries(1):
        q = quote(channel=shop.web, lines=ten)
    assert len(q.lines) == 10


def test_cached_rules_are_invalidated_when_a_promotion_changes(shop):
    from promotions.services import promotion_save

    promo = promotion_save(fields={"name": "Sale", "value": D("10")})
    lines = lines_of(shop, {"TEE": 1})
    assert quote(channel=shop.web, lines=lines).total == D("18.00")
    promotion_save(promotion=promo, fields={"value": D("25")})
    assert quote(channel=shop.web, lines=lines).total == D("15.00")
    promotion_save(promotion=promo, fields={}, channels=[shop.store])
    assert quote(channel=shop.web, lines=lines).total == D("20.00")
    assert quote(channel=shop.store, lines=lines).total == D("15.00")


def test_promotion_ending_before_it_starts_is_refused(db):
    from promotions.services import promotion_save

    with pytest.raises(InvalidInput) as exc:
        promotion_save(
            fields={
                "name": "Backwards",
                "starts_at": datetime(2026, 6, 2, tzinfo=UTC),
                "ends_at": datetime(2026, 6, 1, tzinfo=UTC),
            }
        )
    assert (exc.value.code, exc.value.field) == ("invalid_window", "ends_at")


def test_quote_with_voucher_and_customer_runs_a_fixed_number_of_queries(
    shop, plain_customer, customer_facts, django_assert_num_queries
):
    from promotions.models import Trigger
    from tests.promotions.factories import VoucherFactory

    PromotionFactory(name="Sitewide 10", value=D("10"))
    VoucherFactory(
        promotion=PromotionFactory(name="V", trigger=Trigger.VOUCHER),
        code="V",
        per_customer_limit=3,
    )
    customer_facts.balances[plain_customer.pk] = 100
    extra = []
    for i in range(9):
        v = VariantFactory(sku=f"Y{i}")
        ListingFactory(variant=v, channel=shop.web, price=D("3.00"))
        extra.append(QuoteLineInput(v.pk, 1))
    one = lines_of(shop, {"TEE": 1})
    args = {"channel": shop.web, "customer": plain_customer, "voucher_code": "V",
            "loyalty_points": 50}  # fmt: skip
    quote(lines=one, **args)  # warm the rule cache
    # listings, voucher, the customer's uses of it (profile and balance are customers' own)
    with django_assert_num_queries(3):
        quote(lines=one, **args)
    with django_assert_num_queries(3):
        q = quote(lines=one + extra, **args)
    assert q.loyalty_points == 50
    assert len(q.lines) == 10


def test_buy_x_get_y_amount_off_is_capped_at_the_unit(shop):
    PromotionFactory(
        name="Buy 1 get 1 with 15 off",
        kind=PromotionKind.BUY_X_GET_Y,
        discount_type=DiscountType.AMOUNT,
        value=D("15"),
        buy_quantity=1,
        get_quantity=1,
    )
    # 2 mugs: one is discounted by at most its own 9.99
    assert quote(channel=shop.web, lines=lines_of(shop, {"MUG": 2})).total == D("9.99")
    # tee + shoe: the tee (cheaper) gets 15.00 off
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 1, "SHOE": 1}))
    assert q.total == D("85.00")


def test_bundles_spanning_lines_then_within_one_line(shop):
    PromotionFactory(
        name="Any 3 for 25", kind=PromotionKind.BUNDLE, bundle_quantity=3, bundle_price=D("25")
    )
    q = quote(channel=shop.web, lines=lines_of(shop, {"TEE": 2, "MUG": 4}))
    # bundle 1: TEE, TEE, MUG = 49.99 -> 24.99 off, split 40.00 : 9.99 -> 20.00 / 4.99;
    # bundle 2: MUG x3 = 29.97 -> 4.97 off
    assert {line.sku: line.line_discount for line in q.lines} == {
        "TEE": D("20.00"),
        "MUG": D("9.96"),
    }
    assert q.total == D("50.00")


def test_huge_quantities_price_quickly_and_exactly(shop):
    PromotionFactory(
        name="3 mugs for 25",
        kind=PromotionKind.BUNDLE,
        bundle_quantity=3,
        bundle_price=D("25"),
        categories=[shop.home],
    )
    PromotionFactory(
        name="3 for 2 tees",
        kind=PromotionKind.BUY_X_GET_Y,
        value=D("100"),
        buy_quantity=2,
        get_quantity=1,
        categories=[shop.apparel],
    )
    q = quote(channel=shop.web, lines=lines_of(shop, {"MUG": 100_000, "TEE": 100_000}))
    # mugs: 33,333 bundles x 4.97 off; tees: 33,333 free at 20.00
    assert q.lines[0].line_total == D("999000.00") - D("165665.01")
    assert q.lines[1].line_total == D("2000000.00") - D("666660.00")
