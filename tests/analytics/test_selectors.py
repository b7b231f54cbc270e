"""KPI selectors on the hand-built sample of conftest.py; every expected value is worked out by
hand from the nine orders listed there."""

from datetime import date
from decimal import Decimal

from analytics.models import ChannelDay, VariantLocationDay
from analytics.selectors import (
    Period,
    channel_flow,
    cohorts,
    customer_kpis,
    fulfilment_percentiles_from_histogram,
    funnel,
    inventory_kpis,
    kpi_by_channel,
    kpi_summary,
    top_products,
)

MARCH = Period(date(2026, 3, 1), date(2026, 3, 7))


def test_period_previous_has_same_length_right_before():
    assert MARCH.previous() == Period(date(2026, 2, 22), date(2026, 2, 28))


def test_channel_day_rollup_counts_cancelled_and_returns_apart(sample):
    web_day = ChannelDay.objects.get(channel=sample["web"], day=date(2026, 3, 5))
    assert (web_day.orders, web_day.cancelled_orders, web_day.net_sales) == (0, 1, 0)
    return_day = ChannelDay.objects.get(channel=sample["web"], day=date(2026, 3, 4))
    assert (return_day.returned_units, return_day.returns_amount) == (1, Decimal("45"))


def test_summary_sales_figures_and_previous_period(sample):
    kpis = kpi_summary(period=MARCH)["kpis"]
    # 6 live orders (105 is cancelled): units 2+1+1+3+1+1, gross 100+50+50+150+50+50
    assert kpis["orders"] == {"value": 6, "previous": 2, "change": Decimal("2.0000")}
    assert kpis["units"]["value"] == 9
    assert kpis["gross_sales"]["value"] == Decimal("450.00")
    assert kpis["discounts"]["value"] == Decimal("20.00")
    assert kpis["net_sales"]["value"] == Decimal("430.00")
    assert kpis["net_sales"]["previous"] == Decimal("100.00")
    assert kpis["net_sales"]["change"] == Decimal("3.3000")
    assert kpis["average_order_value"]["value"] == Decimal("71.67")  # 430 / 6
    assert kpis["units_per_order"]["value"] == Decimal("1.5000")
    assert kpis["discount_rate"]["value"] == Decimal("0.0444")  # 20 / 450
    assert kpis["return_rate"]["value"] == Decimal("0.1111")  # 1 / 9
    assert kpis["cancelled_orders"]["value"] == 1
    # customer 1's first order is 100 (February): 101, 102, 107 are returning; 103, 106 new
    assert kpis["new_customer_orders"]["value"] == 2
    assert kpis["returning_customer_orders"]["value"] == 3
    assert kpis["guest_orders"]["value"] == 1


def test_summary_pickups_conversion_and_fulfilment_time(sample):
    kpis = kpi_summary(period=MARCH)["kpis"]
    assert kpis["pickup_orders"]["value"] == 2
    assert kpis["pickups_collected"]["value"] == 1
    assert kpis["pickups_not_collected"]["value"] == 1
    # only web sends events: 3 live web orders over 40 sessions; store orders do not count
    assert kpis["sessions"]["value"] == 40
    assert kpis["conversion_rate"]["value"] == Decimal("0.0750")
    # fulfilled after 5, 30, 2, 1, 3 hours -> sorted 1 2 3 5 30
    assert kpis["fulfilment_hours_median"]["value"] == 3
    assert kpis["fulfilment_hours_p90"]["value"] == 30
    assert kpis["fulfilment_hours_median"]["previous"] == 4  # 4 and 10 -> rank 1


def test_summary_for_one_channel(sample):
    kpis = kpi_summary(period=MARCH, channel_ids=[sample["store"].id])["kpis"]
    assert kpis["orders"]["value"] == 3
    assert kpis["net_sales"]["value"] == Decimal("245.00")  # 45 + 150 + 50
    assert kpis["orders"]["previous"] == 0
    assert kpis["orders"]["change"] is None
    assert kpis["conversion_rate"]["value"] is None


def test_by_channel_share_and_conversion(sample):
    rows = {row["channel"]: row["kpis"] for row in kpi_by_channel(period=MARCH)}
    assert rows["web"]["net_sales"]["value"] == Decimal("185.00")  # 90 + 50 + 45
    assert rows["store"]["net_sales"]["value"] == Decimal("245.00")
    assert rows["web"]["share_of_net_sales"]["value"] == Decimal("0.4302")  # 185 / 430
    assert rows["web"]["conversion_rate"]["value"] == Decimal("0.0750")
    assert rows["web"]["returned_units"]["value"] == 1


def test_funnel_steps(sample):
    [web] = funnel(period=MARCH)
    assert (web["product_view"], web["add_to_cart"], web["checkout_start"], web["orders"]) == (
        40,
        10,
        6,
        3,
    )
    assert web["cart_rate"] == Decimal("0.2500")


def test_customer_kpis(sample):
    kpis = customer_kpis(period=MARCH)["kpis"]
    # active: customer 1 (3 orders in web and store), 2 (1 live order), 3 (1 order)
    assert kpis["active_customers"]["value"] == 3
    assert kpis["repeat_purchase_rate"]["value"] == Decimal("0.3333")
    assert kpis["cross_channel_share"]["value"] == Decimal("0.3333")
    # lifetime to Mar 7: c1 50+90+50+50, c2 45, c3 45, c4 50 -> 380 / 4
    assert kpis["clv_historical"]["value"] == Decimal("95.00")
    assert kpis["clv_historical"]["previous"] == Decimal("50.00")
    # February had customers 1 and 4; only 1 came back: retention 0.5, lifetime 2 periods;
    # spend per active customer (90+50+50+45+45) / 3 = 93.33 -> 186.67
    assert kpis["retention_rate"]["value"] == Decimal("0.5000")
    assert kpis["clv_predictive"]["value"] == Decimal("186.67")
    assert kpis["clv_predictive"]["previous"] is None  # nobody bought before February


def test_channel_flow_from_first_channel(sample):
    flow = channel_flow(period=Period(date(2026, 2, 1), date(2026, 3, 7)))
    assert flow["acquired_customers"] == 4
    assert flow["single_order"] == 3
    assert {(f["from"], f["to"]): f["customers"] for f in flow["flows"]} == {
        ("web", "web"): 1,
        ("web", "store"): 1,
    }


def test_channel_flow_counts_only_customers_acquired_in_period(sample):
    flow = channel_flow(period=MARCH)
    assert flow["acquired_customers"] == 2  # customers 2 and 3; 1 came in February
    assert flow["flows"] == []


def test_cohort_retention(sample):
    rows = cohorts(start_month=date(2026, 2, 1), end_month=date(2026, 3, 1))
    assert rows[0] == {
        "cohort": "2026-02-01",
        "customers": 2,
        "retention": [Decimal("1.0000"), Decimal("0.5000")],
    }
    assert rows[1] == {"cohort": "2026-03-01", "customers": 2, "retention": [Decimal("1.0000")]}


def test_variant_location_rollup_and_top_products(sample):
    row = VariantLocationDay.objects.get(
        variant=sample["v1"], location=sample["l2"], day=date(2026, 3, 4)
    )
    assert (row.units, row.returned_units, row.returns_amount) == (0, 1, Decimal("45"))
    top = top_products(period=MARCH)
    assert [(t["name"], t["net_sales"], t["units"]) for t in top] == [
        ("Socks", Decimal("245.00"), 5),
        ("Boots", Decimal("185.00"), 4),
    ]
    assert top[1]["return_rate"] == Decimal("0.2500")


def test_inventory_kpis(sample):
    kpis = inventory_kpis(period=MARCH, location_ids=[sample["l1"].id])["kpis"]
    # 14 snapshots, v1 out on Mar 5 and 6
    assert kpis["stockout_rate"]["value"] == Decimal("0.1429")
    # sold at loc-one: order 101 (2) + 102 (1); on hand Mar 7: 10 + 5
    assert kpis["units_sold"]["value"] == 3
    assert kpis["sell_through"]["value"] == Decimal("0.1667")
    # average on hand (5*10 + 7*5) / 7 = 12.142857; 3 / 12.142857
    assert kpis["inventory_turnover"]["value"] == Decimal("0.2471")
    assert kpis["days_of_cover"]["value"] == Decimal("35.0")  # 15 / (3 / 7)


def test_fulfilment_percentiles_nearest_rank():
    assert fulfilment_percentiles_from_histogram([(1, 1), (2, 8), (50, 1)]) == {
        "fulfilment_hours_median": 2,
        "fulfilment_hours_p90": 2,
    }
    assert fulfilment_percentiles_from_histogram([]) == {
        "fulfilment_hours_median": None,
        "fulfilment_hours_p90": None,
    }


def test_a_cancelled_pickup_counts_as_not_collected(world):
    from analytics.rollups import rollups_rebuild_all
    from tests.analytics.factories import order_fact

    order_fact(order_id=1, channel=world["web"], day=date(2026, 3, 2), pickup=True,
               cancelled=True, lines=[(world["v1"], world["l2"], 1, 50, 0)])  # fmt: skip
    order_fact(order_id=2, channel=world["web"], day=date(2026, 3, 3), pickup=True,
               collected=True, lines=[(world["v1"], world["l2"], 1, 50, 0)])  # fmt: skip
    rollups_rebuild_all()
    kpis = kpi_summary(period=MARCH)["kpis"]
    assert (kpis["pickup_orders"]["value"], kpis["pickups_collected"]["value"]) == (2, 1)
    assert kpis["pickups_not_collected"]["value"] == 1
    assert kpis["pickup_collection_rate"]["value"] == Decimal("0.5000")
    assert kpis["orders"]["value"] == 1


def test_summary_query_count_does_not_grow_with_the_data(sample, django_assert_num_queries):
    # per period: sales sums, sessions per channel, orders of the channels sending events
    # (skipped in February: no events), fulfilment histogram
    with django_assert_num_queries(7):
        kpi_summary(period=MARCH)
    from tests.analytics.factories import order_fact

    for i in range(30):
        order_fact(order_id=1000 + i, channel=sample["store"], day=date(2026, 3, 1 + i % 7),
                   lines=[(sample["v2"], sample["l1"], 1, 10, 0)], fulfil_hours=i)  # fmt: skip
    from analytics.rollups import rollups_rebuild_all

    rollups_rebuild_all()
    with django_assert_num_queries(7):
        assert kpi_summary(period=MARCH)["kpis"]["orders"]["value"] == 36
