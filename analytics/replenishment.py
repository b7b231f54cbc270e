"""Replenishment suggestions per variant x location from the demand forecast.

For a location the target covers the demand over lead time plus review period, plus safety
stock for the forecast's uncertainty:

    cover days      = lead time + review period
    lead demand     = forecast units per day x cover days
    safety stock    = ceil(z x std of daily sales x sqrt(cover days))
    position        = on hand - reserved + in transit
    suggested       = ceil(lead demand + safety stock - position), when positive

A transfer (short lead time) is suggested when another location has that many units beyond
its own target; otherwise a purchase (supplier lead time). Staff turn a suggestion into an
inventory transfer with `suggestion_to_transfer`.
"""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.errors import SuggestionNotOpen
from analytics.forecast import variant_location_histories
from analytics.models import (
    DemandForecast,
    ReplenishmentSuggestion,
    SuggestionKind,
    SuggestionStatus,
)
from inventory.models import Stock


def _setting(name: str, default):
    return getattr(settings, name, default)


@dataclass(frozen=True)
class Policy:
    supplier_lead_days: int = 14
    transfer_lead_days: int = 2
    review_days: int = 7
    service_z: float = 1.65  # about 95 % cycle service level

    @classmethod
    def from_settings(cls) -> "Policy":
        return cls(
            supplier_lead_days=_setting("ANALYTICS_SUPPLIER_LEAD_DAYS", 14),
            transfer_lead_days=_setting("ANALYTICS_TRANSFER_LEAD_DAYS", 2),
            review_days=_setting("ANALYTICS_REVIEW_DAYS", 7),
            service_z=_setting("ANALYTICS_SERVICE_Z", 1.65),
        )


@dataclass(frozen=True)
class Need:
    quantity: int
    lead_time_demand: float
    safety_stock: int
    target: float


def replenishment_need(
    *,
    forecast_daily: float,
    demand_std: float,
    lead_time_days: int,
    review_days: int,
    service_z: float,
    on_hand: int,
    reserved: int,
    in_transit: int,
) -> Need:
    """The arithmetic of one suggestion (see the module docstring)."""
    cover = lead_time_days + review_days
    lead_demand = forecast_daily * cover
    safety = math.ceil(service_z * demand_std * math.sqrt(cover) - 1e-9) if demand_std else 0
    target = lead_demand + safety
    position = on_hand - reserved + in_transit
    quantity = max(0, math.ceil(target - position - 1e-9))
    return Need(quantity=quantity, lead_time_demand=lead_demand, safety_stock=safety, target=target)


def _forecast_daily(today: date, days: int) -> dict[tuple[int, int], float]:
    """Mean forecast units per day over the next `days` per (variant, location)."""
    sums: dict[tuple[int, int], float] = defaultdict(float)
    for variant_id, location_id, quantity in DemandForecast.objects.filter(
        channel__isnull=True, day__gte=today, day__lt=today + timedelta(days=days)
    ).values_list("variant_id", "location_id", "quantity"):
        sums[(variant_id, location_id)] += quantity
    return {key: total / days for key, total in sums.items()}


@transaction.atomic
def suggestions_rebuild(*, today: date | None = None, policy: Policy | None = None) -> int:
    """Replace the open suggestions with fresh ones for every stock row whose position falls
    short of its target. Converted and dismissed suggestions stay as history."""
    policy = policy or Policy.from_settings()
    today = today or timezone.localdate()
    daily = _forecast_daily(today, policy.supplier_lead_days + policy.review_days)
    histories = variant_location_histories(
        start=today - timedelta(days=56), end=today - timedelta(days=1)
    )
    stocks = list(
        Stock.objects.filter(variant__active=True, location__active=True).values_list(
            "variant_id", "location_id", "on_hand", "reserved", "incoming", "reorder_point"
        )
    )
    by_variant: dict[int, list[tuple]] = defaultdict(list)
    for row in stocks:
        by_variant[row[0]].append(row)

    def std(key) -> float:
        history = histories.get(key)
        return statistics.pstdev(history) if history and len(history) > 1 else 0.0

    def need(key, on_hand, reserved, incoming, lead) -> Need:
        return replenishment_need(
            forecast_daily=daily.get(key, 0.0),
            demand_std=std(key),
            lead_time_days=lead,
            review_days=policy.review_days,
            service_z=policy.service_z,
            on_hand=on_hand,
            reserved=reserved,
            in_transit=incoming,
        )

    suggestions = []
    for variant_id, rows in by_variant.items():
        surplus: dict[int, int] = {}
        for _, location_id, on_hand, reserved, incoming, _ in rows:
            own = need(
                (variant_id, location_id), on_hand, reserved, incoming, policy.transfer_lead_days
            )
            surplus[location_id] = math.floor(on_hand - reserved - own.target)
        for _, location_id, on_hand, reserved, incoming, reorder_point in rows:
            key = (variant_id, location_id)
            if key not in daily and on_hand - reserved + incoming > reorder_point:
                continue
            transfer = need(key, on_hand, reserved, incoming, policy.transfer_lead_days)
            donors = [
                (spare, loc)
                for loc, spare in surplus.items()
                if loc != location_id and spare >= transfer.quantity > 0
            ]
            if donors:
                _spare, source = max(donors)
                chosen, kind, lead = transfer, SuggestionKind.TRANSFER, policy.transfer_lead_days
                surplus[source] -= transfer.quantity
            else:
                chosen = need(key, on_hand, reserved, incoming, policy.supplier_lead_days)
                kind, lead, source = SuggestionKind.PURCHASE, policy.supplier_lead_days, None
                # Below the reorder point with no forecast: bring it back up to the point.
                floor_qty = reorder_point - (on_hand - reserved + incoming)
                if floor_qty > chosen.quantity:
                    chosen = Need(
                        floor_qty, chosen.lead_time_demand, chosen.safety_stock, reorder_point
                    )
            if chosen.quantity <= 0:
                continue
            suggestions.append(
                ReplenishmentSuggestion(
                    variant_id=variant_id,
                    location_id=location_id,
                    kind=kind,
                    source_location_id=source,
                    quantity=chosen.quantity,
                    forecast_daily=round(daily.get(key, 0.0), 3),
                    lead_time_days=lead,
                    lead_time_demand=round(chosen.lead_time_demand, 3),
                    safety_stock=chosen.safety_stock,
                    on_hand=on_hand,
                    available=on_hand - reserved,
                    in_transit=incoming,
                )
            )
    ReplenishmentSuggestion.objects.filter(status=SuggestionStatus.OPEN).delete()
    ReplenishmentSuggestion.objects.bulk_create(suggestions, batch_size=1000)
    return len(suggestions)


@transaction.atomic(durable=True)
def suggestion_to_transfer(*, suggestion_id: int, source_location_id: int | None = None, user=None):
    """Turn an open suggestion into a draft inventory transfer (from its suggested source, or
    the one staff pick) and mark it converted. Locks the suggestion row so two clicks make
    one transfer."""
    from analytics.locks import suggestion_for_update
    from inventory.services import StockLine, transfer_create

    suggestion = suggestion_for_update(suggestion_id=suggestion_id)
    if suggestion.status != SuggestionStatus.OPEN:
        raise SuggestionNotOpen(status=suggestion.status)
    source = source_location_id or suggestion.source_location_id
    if source is None:
        from omni.errors import InvalidInput

        raise InvalidInput(
            "A purchase suggestion needs a source location to become a transfer.",
            code="source_location_required",
            field="source_location",
        )
    transfer = transfer_create(
        source_id=source,
        destination_id=suggestion.location_id,
        lines=[StockLine(variant_id=suggestion.variant_id, quantity=suggestion.quantity)],
        reference=f"REPL-{suggestion.pk}",
        note="From a replenishment suggestion",
        user=user,
    )
    suggestion.status = SuggestionStatus.CONVERTED
    suggestion.transfer_reference = transfer.reference or f"TR-{transfer.pk}"
    suggestion.save(update_fields=["status", "transfer_reference", "updated_at"])
    return transfer


@transaction.atomic(durable=True)
def suggestion_dismiss(*, suggestion_id: int) -> ReplenishmentSuggestion:
    from analytics.locks import suggestion_for_update

    suggestion = suggestion_for_update(suggestion_id=suggestion_id)
    if suggestion.status != SuggestionStatus.OPEN:
        raise SuggestionNotOpen(status=suggestion.status)
    suggestion.status = SuggestionStatus.DISMISSED
    suggestion.save(update_fields=["status", "updated_at"])
    return suggestion
