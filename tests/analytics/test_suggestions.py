"""Per-customer suggestions: the ranking arithmetic, the nightly rebuild and the per-customer
refresh, what a channel may see, and the provider analytics registers with the customer
lookup."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from analytics.models import CustomerSuggestion, ProductAffinity, VariantLocationDay
from analytics.ports import CustomerSuggestions
from analytics.recommendations import (
    STORED_SUGGESTIONS,
    affinities_rebuild,
    customer_suggestion_rows,
    recommendations_rebuild,
    suggestions_rank,
    suggestions_rebuild,
    suggestions_refresh,
)
from customers.suggestions import NoSuggestions, suggestion_provider
from tests.analytics.factories import location, order_fact
from tests.catalog.factories import ListingFactory, VariantFactory

pytestmark = pytest.mark.django_db

A, B, C, D, E = 1, 2, 3, 4, 5


def test_rank_sums_affinities_of_what_was_bought_and_leaves_owned_products_out():
    related = {
        A: [(C, 0.5), (B, 0.9)],  # B is owned: never suggested
        B: [(C, 0.25), (D, 0.1)],
    }
    ranked = suggestions_rank({A, B}, related, popular=[], limit=10)
    assert ranked == [(C, 0.75), (D, 0.1)]


def test_rank_fills_a_short_list_with_best_sellers_below_any_affinity():
    related = {A: [(C, 0.002)]}
    popular = [(E, 200), (C, 150), (A, 120), (D, 100)]
    ranked = suggestions_rank({A}, related, popular, limit=3)
    # C keeps its affinity score (not the popularity one); E and D follow, scaled to the top
    # seller's units and kept under 0.001; A is owned.
    assert ranked == [(C, 0.002), (E, 0.001), (D, 0.0005)]


def test_rank_breaks_ties_by_product_id_and_respects_the_limit():
    related = {A: [(D, 0.3), (C, 0.3), (E, 0.1)]}
    assert suggestions_rank({A}, related, popular=[], limit=2) == [(C, 0.3), (D, 0.3)]


@pytest.fixture
def bought(make_channel):
    """Boots and socks are bought together twice; customer 1 bought boots on the web, customer
    2 bought socks in a store, customer 3 bought both, customer 4 only laces."""
    web = make_channel("web")
    store = make_channel("store", kind="store")
    boots, socks, laces = (VariantFactory(product__name=n) for n in ("Boots", "Socks", "Laces"))
    loc = location("loc-one")
    day = timezone.localdate() - timedelta(days=3)
    order_fact(order_id=1, channel=web, customer_id=3, day=day,
               lines=[(boots, loc, 1, 50, 0), (socks, loc, 1, 5, 0)])  # fmt: skip
    order_fact(order_id=2, channel=store, customer_id=3, day=day,
               lines=[(boots, loc, 1, 50, 0), (socks, loc, 2, 10, 0)])  # fmt: skip
    order_fact(order_id=3, channel=web, customer_id=1, day=day, lines=[(boots, loc, 1, 50, 0)])
    order_fact(order_id=4, channel=store, customer_id=2, day=day, lines=[(socks, loc, 1, 5, 0)])
    order_fact(order_id=5, channel=web, customer_id=4, day=day, lines=[(laces, loc, 3, 9, 0)])
    order_fact(order_id=6, channel=web, customer_id=5, day=day, lines=[(laces, loc, 1, 3, 0)],
               cancelled=True)  # fmt: skip
    for variant, units in ((boots, 3), (socks, 4), (laces, 3)):
        VariantLocationDay.objects.create(
            variant=variant, product_id=variant.product_id, location=loc, day=day, units=units
        )
    return {"web": web, "store": store, "boots": boots, "socks": socks, "laces": laces}


def _suggested(customer_id: int) -> list[tuple[int, int]]:
    return list(
        CustomerSuggestion.objects.filter(customer_id=customer_id)
        .order_by("rank")
        .values_list("product_id", "rank")
    )


def test_rebuild_suggests_what_others_bought_with_their_purchases(bought):
    boots, socks, laces = (bought[k].product_id for k in ("boots", "socks", "laces"))
    assert recommendations_rebuild() == (2, 4)
    # Boots and socks: 2 orders together, 3 orders each -> 2 / sqrt(3 x 3).
    assert ProductAffinity.objects.get(product_id=boots, related_id=socks).score == pytest.approx(
        2 / 3, abs=1e-6
    )
    # Customer 1 (boots, web) gets socks first (bought in stores), then the best seller left.
    assert _suggested(1) == [(socks, 1), (laces, 2)]
    assert _suggested(2) == [(boots, 1), (laces, 2)]
    # Customer 3 owns both: only the popularity fill is left.
    assert _suggested(3) == [(laces, 1)]
    # Customer 4 bought laces only (no affinity): best sellers by units, socks first.
    assert _suggested(4) == [(socks, 1), (boots, 2)]
    # A cancelled order is no purchase: customer 5 has no suggestions.
    assert _suggested(5) == []


def test_refresh_recomputes_only_the_named_customers(bought):
    recommendations_rebuild()
    CustomerSuggestion.objects.filter(customer_id=2).delete()
    CustomerSuggestion.objects.filter(customer_id=1).update(score=9)
    # Customer 4 now also bought boots: boots leaves their list, socks (bought with it) leads.
    order_fact(order_id=7, channel=bought["web"], customer_id=4, day=date(2026, 1, 2),
               lines=[(bought["boots"], None, 1, 50, 0)])  # fmt: skip
    assert suggestions_refresh(customer_ids=[2, 4, 999]) == 2
    socks, boots = bought["socks"].product_id, bought["boots"].product_id
    assert _suggested(2) == [(boots, 1), (bought["laces"].product_id, 2)]
    assert _suggested(4) == [(socks, 1)]
    assert set(
        CustomerSuggestion.objects.filter(customer_id=1).values_list("score", flat=True)
    ) == {9}


def test_refresh_drops_a_customer_with_no_purchases_left(bought):
    recommendations_rebuild()
    assert _suggested(1)
    from analytics.models import OrderLineFact

    OrderLineFact.objects.filter(customer_id=1).update(customer_id=2)
    suggestions_refresh(customer_ids=[1, 2])
    assert _suggested(1) == []


def test_rebuild_keeps_more_than_it_shows_so_a_channel_can_fill_its_list(make_channel):
    web = make_channel("web")
    loc = location("loc-one")
    day = timezone.localdate() - timedelta(days=1)
    mine = VariantFactory()
    others = [VariantFactory() for _ in range(STORED_SUGGESTIONS + 5)]
    order_fact(order_id=1, channel=web, customer_id=1, day=day, lines=[(mine, loc, 1, 5, 0)])
    for index, variant in enumerate(others):
        VariantLocationDay.objects.create(
            variant=variant, product_id=variant.product_id, location=loc, day=day, units=index + 1
        )
    suggestions_rebuild()
    assert CustomerSuggestion.objects.filter(customer_id=1).count() == STORED_SUGGESTIONS


def test_channel_sees_only_active_products_it_publishes(bought):
    recommendations_rebuild()
    web, store = bought["web"], bought["store"]
    socks, laces = bought["socks"], bought["laces"]
    ListingFactory(variant=laces, channel=web)
    ListingFactory(variant=socks, channel=store)
    ListingFactory(variant=socks, channel=web, published=False)
    rows = customer_suggestion_rows(customer_id=1, channel=web)
    assert [r.product_id for r in rows] == [laces.product_id]
    rows = customer_suggestion_rows(customer_id=1, channel=store)
    assert [r.product_id for r in rows] == [socks.product_id]
    # Without a channel (staff): every active product, best first.
    assert [r.product_id for r in customer_suggestion_rows(customer_id=1)] == [
        socks.product_id,
        laces.product_id,
    ]
    socks.product.active = False
    socks.product.save(update_fields=["active"])
    assert [r.product_id for r in customer_suggestion_rows(customer_id=1)] == [laces.product_id]


def test_channel_filter_costs_one_query(bought, django_assert_num_queries):
    recommendations_rebuild()
    with django_assert_num_queries(1):
        CustomerSuggestions().suggestions_for(customer_id=1, channel=bought["web"])


def test_analytics_registers_its_provider_with_the_customers_port(bought):
    provider = suggestion_provider()
    assert isinstance(provider, CustomerSuggestions)
    recommendations_rebuild()
    suggestions = provider.suggestions_for(customer_id=1)
    assert [(s.product_id, s.rank) for s in suggestions] == [
        (bought["socks"].product_id, 1),
        (bought["laces"].product_id, 2),
    ]
    assert suggestions[0].name == "Socks"
    assert suggestions[0].admin_url.endswith(
        f"/catalog/product/{bought['socks'].product_id}/change/"
    )
    assert NoSuggestions().suggestions_for(customer_id=1) == []


def test_staff_suggestions_endpoint_filters_by_channel(bought, kpi_client):
    recommendations_rebuild()
    ListingFactory(variant=bought["laces"], channel=bought["web"])
    body = kpi_client.get("/api/v1/analytics/customers/1/suggestions/?channel=web").json()
    assert [p["id"] for p in body["products"]] == [bought["laces"].product_id]
    assert body["products"][0]["rank"] == 1
    response = kpi_client.get("/api/v1/analytics/customers/1/suggestions/?channel=nope")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_channel"


def test_nightly_task_rebuilds_affinities_and_suggestions_on_the_beat(bought):
    from analytics.apps import NIGHTLY
    from analytics.tasks import recommendations_rebuild_task
    from omni.celery import app

    assert app.conf.beat_schedule["analytics-recommendations"]["task"] == (
        "analytics.recommendations_rebuild"
    )
    assert NIGHTLY["analytics-recommendations"][0] == recommendations_rebuild_task.name
    assert recommendations_rebuild_task.delay().get() == [2, 4]
    assert _suggested(1)
    assert affinities_rebuild() == 2
