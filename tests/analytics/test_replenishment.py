"""Replenishment arithmetic and suggestions: purchase or transfer, and turning one into a
transfer."""

import math
from datetime import date, timedelta

import pytest

from analytics.errors import SuggestionNotOpen
from analytics.models import DemandForecast, ReplenishmentSuggestion, SuggestionStatus
from analytics.replenishment import (
    Policy,
    replenishment_need,
    suggestion_dismiss,
    suggestions_rebuild,
)
from inventory.models import Stock

TODAY = date(2026, 3, 1)


def test_need_arithmetic():
    need = replenishment_need(
        forecast_daily=3.0,
        demand_std=2.0,
        lead_time_days=5,
        review_days=4,
        service_z=1.65,
        on_hand=20,
        reserved=4,
        in_transit=6,
    )
    # cover 9 days: demand 27; safety ceil(1.65 * 2 * 3) = 10; position 20 - 4 + 6 = 22
    assert need.lead_time_demand == 27
    assert need.safety_stock == 10
    assert need.quantity == 15


def test_no_need_when_position_covers_target():
    need = replenishment_need(
        forecast_daily=1.0,
        demand_std=0.0,
        lead_time_days=3,
        review_days=4,
        service_z=1.65,
        on_hand=10,
        reserved=0,
        in_transit=0,
    )
    assert (need.safety_stock, need.quantity) == (0, 0)


def _forecast(variant, loc, per_day):
    DemandForecast.objects.bulk_create(
        DemandForecast(
            variant=variant,
            location=loc,
            day=TODAY + timedelta(days=i),
            quantity=per_day,
            method="mean",
        )
        for i in range(28)
    )


POLICY = Policy(supplier_lead_days=10, transfer_lead_days=2, review_days=5, service_z=1.65)


def test_purchase_suggested_when_no_location_can_spare(world):
    v1, l1, l2 = world["v1"], world["l1"], world["l2"]
    Stock.objects.create(variant=v1, location=l1, on_hand=5)
    Stock.objects.create(variant=v1, location=l2, on_hand=2)
    _forecast(v1, l1, 2.0)
    assert suggestions_rebuild(today=TODAY, policy=POLICY) == 1
    s = ReplenishmentSuggestion.objects.get()
    # transfer (cover 7): need 14 - 5 = 9; l2 can spare nothing -> purchase, cover 15: 30 - 5
    assert (s.kind, s.location_id, s.quantity, s.lead_time_days) == ("purchase", l1.id, 25, 10)
    assert s.lead_time_demand == 30


def test_transfer_suggested_from_a_location_with_surplus(world):
    v1, l1, l2 = world["v1"], world["l1"], world["l2"]
    Stock.objects.create(variant=v1, location=l1, on_hand=5)
    Stock.objects.create(variant=v1, location=l2, on_hand=40)
    _forecast(v1, l1, 2.0)
    suggestions_rebuild(today=TODAY, policy=POLICY)
    s = ReplenishmentSuggestion.objects.get()
    assert (s.kind, s.source_location_id, s.quantity) == ("transfer", l2.id, 9)
    assert s.lead_time_demand == 14
    assert math.isclose(s.forecast_daily, 2.0)


def test_reorder_point_without_forecast_is_topped_up(world):
    v1, l1 = world["v1"], world["l1"]
    Stock.objects.create(variant=v1, location=l1, on_hand=1, reorder_point=6)
    suggestions_rebuild(today=TODAY, policy=POLICY)
    s = ReplenishmentSuggestion.objects.get()
    assert (s.kind, s.quantity) == ("purchase", 5)


def test_rebuild_replaces_open_but_keeps_history(world):
    v1, l1 = world["v1"], world["l1"]
    Stock.objects.create(variant=v1, location=l1, on_hand=1, reorder_point=6)
    suggestions_rebuild(today=TODAY, policy=POLICY)
    first = ReplenishmentSuggestion.objects.get()
    suggestion_dismiss(suggestion_id=first.id)
    suggestions_rebuild(today=TODAY, policy=POLICY)
    assert ReplenishmentSuggestion.objects.filter(status=SuggestionStatus.OPEN).count() == 1
    assert ReplenishmentSuggestion.objects.filter(status=SuggestionStatus.DISMISSED).count() == 1
    with pytest.raises(SuggestionNotOpen):
        suggestion_dismiss(suggestion_id=first.id)


def _transfer_suggestion(world):
    v1, l1, l2 = world["v1"], world["l1"], world["l2"]
    Stock.objects.create(variant=v1, location=l1, on_hand=5)
    Stock.objects.create(variant=v1, location=l2, on_hand=40)
    _forecast(v1, l1, 2.0)
    suggestions_rebuild(today=TODAY, policy=POLICY)
    return ReplenishmentSuggestion.objects.get()


@pytest.fixture
def replenisher(db, django_user_model):
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_user("planner", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_kpis", "manage_replenishment"])
    )
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_suggestion_becomes_a_draft_transfer_once(world, replenisher):
    from inventory.models import Transfer

    suggestion = _transfer_suggestion(world)
    url = f"/api/v1/analytics/replenishment/{suggestion.id}/transfer/"
    response = replenisher.post(url, {}, format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "converted"
    transfer = Transfer.objects.get()
    assert (transfer.source_id, transfer.destination_id) == (world["l2"].id, world["l1"].id)
    assert transfer.status == "draft"
    assert [(line.variant_id, line.quantity) for line in transfer.lines.all()] == [
        (world["v1"].id, 9)
    ]
    assert response.json()["transfer_reference"] == f"REPL-{suggestion.id}"
    again = replenisher.post(url, {}, format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "suggestion_not_open"
    assert Transfer.objects.count() == 1


def test_purchase_suggestion_needs_a_source_to_become_a_transfer(world, replenisher):
    v1, l1 = world["v1"], world["l1"]
    Stock.objects.create(variant=v1, location=l1, on_hand=1, reorder_point=6)
    suggestions_rebuild(today=TODAY, policy=POLICY)
    suggestion = ReplenishmentSuggestion.objects.get()
    url = f"/api/v1/analytics/replenishment/{suggestion.id}/transfer/"
    response = replenisher.post(url, {}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "source_location"
    ok = replenisher.post(url, {"source_location": world["l2"].code}, format="json")
    assert ok.status_code == 201


def test_analyst_without_replenishment_permission_cannot_convert(world, kpi_client):
    suggestion = _transfer_suggestion(world)
    url = f"/api/v1/analytics/replenishment/{suggestion.id}/transfer/"
    assert kpi_client.post(url, {}, format="json").status_code == 403
    listed = kpi_client.get("/api/v1/analytics/replenishment/").json()
    assert [(s["sku"], s["kind"], s["quantity"]) for s in listed] == [
        (world["v1"].sku, "transfer", 9)
    ]
