"""Staff KPI endpoints: permission, parameters and figures (on the hand-built sample)."""

import pytest

from analytics.models import ProductAffinity
from tests.catalog.factories import ListingFactory, ProductFactory

MARCH = "start=2026-03-01&end=2026-03-07"

ENDPOINTS = [
    "/api/v1/analytics/kpis/",
    "/api/v1/analytics/kpis/channels/",
    "/api/v1/analytics/kpis/customers/",
    "/api/v1/analytics/kpis/inventory/",
    "/api/v1/analytics/sales/",
    "/api/v1/analytics/funnel/",
    "/api/v1/analytics/channel-flow/",
    "/api/v1/analytics/cohorts/",
    "/api/v1/analytics/top-products/",
    "/api/v1/analytics/low-stock/",
    "/api/v1/analytics/replenishment/",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_every_kpi_endpoint_needs_the_analyst_permission(url, db, client, staff_user, kpi_client):
    client.force_login(staff_user)  # staff without analytics.view_kpis
    assert client.get(url).status_code == 403
    assert kpi_client.get(url).status_code == 200


def test_channel_key_cannot_read_kpis(channel, key_client):
    assert key_client(channel).get("/api/v1/analytics/kpis/").status_code in (401, 403)


def test_summary_figures_as_strings(sample, kpi_client):
    body = kpi_client.get(f"/api/v1/analytics/kpis/?{MARCH}").json()
    assert body["period"] == {"start": "2026-03-01", "end": "2026-03-07", "days": 7}
    assert body["previous_period"]["start"] == "2026-02-22"
    assert body["kpis"]["net_sales"] == {
        "value": "430.00",
        "previous": "100.00",
        "change": "3.3000",
    }
    assert body["kpis"]["orders"]["value"] == 6


def test_summary_filters_by_channel_code(sample, kpi_client):
    body = kpi_client.get(f"/api/v1/analytics/kpis/?{MARCH}&channel=store").json()
    assert body["kpis"]["net_sales"]["value"] == "245.00"


@pytest.mark.parametrize(
    ("query", "field", "code"),
    [
        ("start=2026-13-01", "start", "invalid_date"),
        ("start=2026-03-08&end=2026-03-01", "start", "invalid_period"),
        ("days=0", "days", "out_of_range"),
        ("start=2020-01-01&end=2026-01-01", "start", "period_too_long"),
        ("channel=nowhere", "channel", "unknown_channel"),
    ],
)
def test_bad_parameters_name_the_field(query, field, code, db, kpi_client):
    response = kpi_client.get(f"/api/v1/analytics/kpis/?{query}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field
    assert response.json()["code"] == code


def test_customers_cohorts_and_flow_endpoints(sample, kpi_client):
    customers = kpi_client.get(f"/api/v1/analytics/kpis/customers/?{MARCH}").json()
    assert customers["kpis"]["clv_historical"]["value"] == "95.00"
    cohorts = kpi_client.get(
        "/api/v1/analytics/cohorts/?start_month=2026-02-01&end_month=2026-03-01"
    ).json()
    assert cohorts["cohorts"][0]["retention"] == ["1.0000", "0.5000"]
    flow = kpi_client.get("/api/v1/analytics/channel-flow/?start=2026-02-01&end=2026-03-07").json()
    assert flow["acquired_customers"] == 4


def test_related_products_only_lists_what_the_channel_sells(channel, key_client):
    boots, socks, laces = ProductFactory(), ProductFactory(), ProductFactory()
    ListingFactory(variant__product=boots, channel=channel)
    ListingFactory(variant__product=socks, channel=channel)
    ListingFactory(variant__product=laces)  # listed elsewhere only
    ProductAffinity.objects.create(product=boots, related=socks, orders_together=5, score=0.5)
    ProductAffinity.objects.create(product=boots, related=laces, orders_together=9, score=0.9)
    response = key_client(channel, scopes=["catalog"]).get(f"/api/v1/products/{boots.id}/related/")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["related"]] == [socks.id]


def test_related_products_of_unknown_product_is_404(channel, key_client):
    response = key_client(channel).get("/api/v1/products/999999/related/")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"


def test_schema_documents_the_analytics_endpoints(db, client):
    import yaml

    document = yaml.safe_load(client.get("/api/schema/").content)
    assert "/api/v1/events/" in document["paths"]
    assert "/api/v1/analytics/kpis/" in document["paths"]
