"""Sourcing plans: priority, nearest location, splitting, pickup at the pickup store only."""

from dataclasses import dataclass
from decimal import Decimal

import pytest

from orders.models import PostcodeArea
from orders.sourcing import (
    NearestStrategy,
    PriorityStrategy,
    SourcingContext,
    SourcingLine,
    haversine_km,
    locate_address,
    plan,
)


@dataclass(frozen=True)
class Loc:
    location_id: int
    location_code: str
    priority: int
    available: int
    ships_enabled: bool = True
    pickup_enabled: bool = False
    latitude: Decimal | None = None
    longitude: Decimal | None = None


PARIS = (Decimal("48.8566"), Decimal("2.3522"))
LYON = (Decimal("45.7640"), Decimal("4.8357"))
LILLE = (Decimal("50.6292"), Decimal("3.0573"))


def test_priority_takes_the_first_location_that_holds_the_whole_line():
    candidates = {7: [Loc(1, "wh", 0, 2), Loc(2, "store", 1, 5)]}
    result = plan(
        lines=[SourcingLine(0, 7, "A", 3)],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    assert [(a.location_id, a.quantity) for a in result.allocations] == [(2, 3)]
    assert "whole line" in result.allocations[0].reason
    assert not result.shortfalls


def test_line_splits_across_locations_in_priority_order_when_none_holds_it_all():
    candidates = {7: [Loc(3, "c", 2, 10), Loc(1, "a", 0, 2), Loc(2, "b", 1, 3)]}
    result = plan(
        lines=[SourcingLine(0, 7, "A", 8)],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    # Location c alone holds 8, so no split happens...
    assert [(a.location_id, a.quantity) for a in result.allocations] == [(3, 8)]
    result = plan(
        lines=[SourcingLine(0, 7, "A", 14)],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    # ...but 14 needs all three, drawn in priority order.
    assert [(a.location_id, a.quantity) for a in result.allocations] == [(1, 2), (2, 3), (3, 9)]
    assert all("split" in a.reason for a in result.allocations)


def test_short_line_reports_requested_and_available_and_plans_nothing_for_it():
    candidates = {7: [Loc(1, "a", 0, 2), Loc(2, "b", 1, 1, ships_enabled=False)]}
    result = plan(
        lines=[SourcingLine(0, 7, "A", 5)],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    assert result.allocations == []
    assert [s.as_dict() for s in result.shortfalls] == [
        {"sku": "A", "requested": 5, "available": 2}
    ]


def test_pickup_line_only_uses_the_pickup_store_even_if_others_have_stock():
    candidates = {7: [Loc(1, "wh", 0, 50), Loc(2, "store", 1, 0, pickup_enabled=True)]}
    result = plan(
        lines=[SourcingLine(0, 7, "A", 1, pickup_location_id=2)],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    assert result.allocations == []
    assert result.shortfalls[0].as_dict() == {"sku": "A", "requested": 1, "available": 0}
    candidates = {7: [Loc(1, "wh", 0, 50), Loc(2, "store", 1, 4, pickup_enabled=True)]}
    result = plan(
        lines=[SourcingLine(0, 7, "A", 3, pickup_location_id=2)],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    assert [(a.location_id, a.quantity, a.strategy) for a in result.allocations] == [
        (2, 3, "pickup")
    ]


def test_two_lines_of_one_variant_never_count_the_same_unit_twice():
    candidates = {7: [Loc(1, "a", 0, 3, pickup_enabled=True)]}
    result = plan(
        lines=[
            SourcingLine(0, 7, "A", 2, pickup_location_id=1),
            SourcingLine(1, 7, "A", 2),
        ],
        candidates=candidates,
        strategy=PriorityStrategy(),
        context=SourcingContext(),
    )
    assert [(a.line_key, a.quantity) for a in result.allocations] == [(0, 2)]
    assert result.shortfalls[0].as_dict() == {"sku": "A", "requested": 2, "available": 1}


def test_nearest_strategy_prefers_the_closest_location_to_the_address():
    candidates = {
        7: [
            Loc(1, "paris", 0, 5, latitude=PARIS[0], longitude=PARIS[1]),
            Loc(2, "lyon", 1, 5, latitude=LYON[0], longitude=LYON[1]),
            Loc(3, "nowhere", 2, 5),
        ]
    }
    near_lyon = SourcingContext(45.75, 4.85)
    result = plan(
        lines=[SourcingLine(0, 7, "A", 2)],
        candidates=candidates,
        strategy=NearestStrategy(),
        context=near_lyon,
    )
    assert result.allocations[0].location_id == 2
    assert "km from the address" in result.allocations[0].reason
    ranked = [c.location_id for c, _ in NearestStrategy().rank(candidates[7], near_lyon)]
    assert ranked == [2, 1, 3]
    # Unknown address: channel priority.
    unknown = [c.location_id for c, _ in NearestStrategy().rank(candidates[7], SourcingContext())]
    assert unknown == [1, 2, 3]


def test_haversine_distance_paris_lyon_is_about_392_km():
    assert (
        385 < haversine_km(float(PARIS[0]), float(PARIS[1]), float(LYON[0]), float(LYON[1])) < 400
    )


@pytest.mark.django_db
def test_address_without_coordinates_is_placed_by_its_longest_postcode_prefix():
    PostcodeArea.objects.create(country="FR", prefix="69", latitude=LYON[0], longitude=LYON[1])
    PostcodeArea.objects.create(country="FR", prefix="59", latitude=LILLE[0], longitude=LILLE[1])
    PostcodeArea.objects.create(
        country="FR", prefix="690", latitude=Decimal("45.7"), longitude=Decimal("4.9")
    )
    assert locate_address({"country": "fr", "postcode": "69 002"}) == SourcingContext(45.7, 4.9)
    assert locate_address({"country": "FR", "postcode": "59000"}).latitude == float(LILLE[0])
    assert locate_address({"country": "FR", "postcode": "75001"}) == SourcingContext()
    assert locate_address({"latitude": "1.5", "longitude": "2"}) == SourcingContext(1.5, 2.0)
