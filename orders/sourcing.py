"""Sourcing: which locations hold each order line's units.

A `SourcingStrategy` ranks the candidate locations of a line (each with the reason it is
where it is); `plan()` walks that ranking and keeps the first location that can serve the whole
line, or else splits the line across locations in ranked order. Pickup lines are only ever
served by their pickup store. The plan is pure (no queries): the caller reads candidates in one
query (`inventory.selectors.sourcing_candidates`) and reserves the plan in one call.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from orders.models import PostcodeArea, SourcingStrategyName

EARTH_RADIUS_KM = 6371.0088


class Candidate(Protocol):
    """What sourcing needs of a location (`inventory.selectors.LocationAvailability`)."""

    location_id: int
    location_code: str
    priority: int
    available: int
    ships_enabled: bool
    pickup_enabled: bool
    latitude: Decimal | float | None
    longitude: Decimal | float | None


@dataclass(frozen=True)
class SourcingLine:
    key: int
    variant_id: int
    sku: str
    quantity: int
    pickup_location_id: int | None = None
    # Ship-from-store lines may only draw from these locations (the stores).
    only_locations: frozenset[int] | None = None


@dataclass(frozen=True)
class SourcingContext:
    """What a strategy may look at besides stock: where the goods are going."""

    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class PlannedAllocation:
    line_key: int
    variant_id: int
    location_id: int
    quantity: int
    strategy: str
    reason: str


@dataclass(frozen=True)
class Shortfall:
    sku: str
    requested: int
    available: int

    def as_dict(self) -> dict:
        return {"sku": self.sku, "requested": self.requested, "available": self.available}


@dataclass
class SourcingPlan:
    allocations: list[PlannedAllocation] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)


class SourcingStrategy(Protocol):
    name: str

    def rank(
        self, candidates: Sequence[Candidate], context: SourcingContext
    ) -> list[tuple[Candidate, str]]:
        """Candidates in the order they should be drawn from, each with why it is there."""


class PriorityStrategy:
    """The channel's location priority (lower first), as the channel's staff configured it."""

    name = SourcingStrategyName.PRIORITY

    def rank(self, candidates, context):
        ordered = sorted(candidates, key=lambda c: (c.priority, c.location_id))
        return [(c, f"channel priority {c.priority}") for c in ordered]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


class NearestStrategy:
    """Closest location to the shipping address first (great-circle distance); locations
    without coordinates, or an address that cannot be placed, fall back to channel priority."""

    name = SourcingStrategyName.NEAREST

    def rank(self, candidates, context):
        if context.latitude is None or context.longitude is None:
            return [
                (c, f"channel priority {c.priority} (address not located)")
                for c in sorted(candidates, key=lambda c: (c.priority, c.location_id))
            ]

        def distance(c) -> float:
            if c.latitude is None or c.longitude is None:
                return math.inf
            return haversine_km(
                context.latitude, context.longitude, float(c.latitude), float(c.longitude)
            )

        ranked = sorted(candidates, key=lambda c: (distance(c), c.priority, c.location_id))
        out = []
        for c in ranked:
            km = distance(c)
            why = f"{km:.1f} km from the address" if km != math.inf else "no coordinates"
            out.append((c, why))
        return out


STRATEGIES: Mapping[str, SourcingStrategy] = {
    SourcingStrategyName.PRIORITY: PriorityStrategy(),
    SourcingStrategyName.NEAREST: NearestStrategy(),
}


def strategy_for(name: str | None) -> SourcingStrategy:
    return STRATEGIES.get(name or SourcingStrategyName.PRIORITY, STRATEGIES["priority"])


def plan(
    *,
    lines: Sequence[SourcingLine],
    candidates: Mapping[int, Sequence[Candidate]],
    strategy: SourcingStrategy,
    context: SourcingContext,
) -> SourcingPlan:
    """Allocate every line or report every short one. A location's availability is consumed
    as lines draw from it, so two lines of one variant never count the same unit twice."""
    result = SourcingPlan()
    remaining: dict[tuple[int, int], int] = {}
    for line in lines:
        options = list(candidates.get(line.variant_id, ()))
        for c in options:
            remaining.setdefault((line.variant_id, c.location_id), max(0, c.available))
        if line.pickup_location_id is not None:
            _plan_pickup(line, options, remaining, result)
        else:
            shippable = [
                c
                for c in options
                if c.ships_enabled
                and (line.only_locations is None or c.location_id in line.only_locations)
            ]
            _plan_ship(line, strategy.rank(shippable, context), strategy, remaining, result)
    return result


def _plan_pickup(line, options, remaining, result: SourcingPlan) -> None:
    store = next((c for c in options if c.location_id == line.pickup_location_id), None)
    have = remaining.get((line.variant_id, line.pickup_location_id), 0) if store else 0
    if store is None or have < line.quantity:
        result.shortfalls.append(Shortfall(line.sku, line.quantity, have))
        return
    remaining[(line.variant_id, store.location_id)] = have - line.quantity
    result.allocations.append(
        PlannedAllocation(
            line.key,
            line.variant_id,
            store.location_id,
            line.quantity,
            "pickup",
            f"pickup at {store.location_code}",
        )
    )


def _plan_ship(line, ranked, strategy, remaining, result: SourcingPlan) -> None:
    def have(c) -> int:
        return remaining.get((line.variant_id, c.location_id), 0)

    whole = next(((c, why) for c, why in ranked if have(c) >= line.quantity), None)
    if whole is not None:
        c, why = whole
        remaining[(line.variant_id, c.location_id)] -= line.quantity
        result.allocations.append(
            PlannedAllocation(
                line.key,
                line.variant_id,
                c.location_id,
                line.quantity,
                strategy.name,
                f"{c.location_code}: {why}; holds the whole line",
            )
        )
        return
    total = sum(have(c) for c, _ in ranked)
    if total < line.quantity:
        result.shortfalls.append(Shortfall(line.sku, line.quantity, total))
        return
    needed = line.quantity
    for c, why in ranked:
        take = min(needed, have(c))
        if take <= 0:
            continue
        remaining[(line.variant_id, c.location_id)] -= take
        needed -= take
        result.allocations.append(
            PlannedAllocation(
                line.key,
                line.variant_id,
                c.location_id,
                take,
                strategy.name,
                f"{c.location_code}: {why}; split, no single location holds {line.quantity}",
            )
        )
        if needed == 0:
            break


def locate_address(address: Mapping | None) -> SourcingContext:
    """Coordinates of a shipping address: its own latitude/longitude when given, else the
    centroid of the longest matching postcode prefix (one query), else unknown."""
    if not address:
        return SourcingContext()
    lat, lon = address.get("latitude"), address.get("longitude")
    if lat is not None and lon is not None:
        try:
            return SourcingContext(float(lat), float(lon))
        except (TypeError, ValueError):
            pass
    postcode = str(address.get("postcode") or "").replace(" ", "").upper()
    country = str(address.get("country") or "").upper()
    if not postcode or not country:
        return SourcingContext()
    prefixes = [postcode[:i] for i in range(1, len(postcode) + 1)]
    area = (
        PostcodeArea.objects.filter(country=country, prefix__in=prefixes)
        .order_by("-prefix")
        .first()
    )
    if area is None:
        return SourcingContext()
    return SourcingContext(float(area.latitude), float(area.longitude))
