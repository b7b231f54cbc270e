"""Demand forecasts from daily sales: Holt-Winters exponential smoothing with weekly
seasonality (statsmodels), falling back to simpler methods when the history is short.

- 28 days of history or more (from the first sale): Holt-Winters, additive damped trend and
  additive weekly seasonality; if the fit fails or gives non-finite values, seasonal naive;
- 7 to 27 days: seasonal naive (each weekday repeats its value of the last week);
- fewer than 7 days: the mean of the days there are (nothing: zero).
Forecasts are never negative.
"""

import math
import warnings
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from analytics.models import ChannelDay, DemandForecast, ForecastMethod, VariantLocationDay

HORIZON_DAYS = 28
SEASON = 7
MIN_HOLT_WINTERS_DAYS = 4 * SEASON
HISTORY_DAYS = 182


@dataclass(frozen=True)
class Forecast:
    values: list[float]
    method: str


def seasonal_naive(history: Sequence[float], horizon: int = HORIZON_DAYS) -> list[float]:
    """Repeat the last full week (the value of the same weekday one week earlier)."""
    last_week = list(history[-SEASON:])
    return [float(last_week[i % SEASON]) for i in range(horizon)]


def forecast_series(history: Sequence[float], horizon: int = HORIZON_DAYS) -> Forecast:
    """Forecast `horizon` days after a daily series (oldest first, zeros included).

    Leading zeros before the first sale are not history: a product launched three weeks ago
    has three weeks of history whatever the window asked for.
    """
    values = [float(v) for v in history]
    first = next((i for i, v in enumerate(values) if v), len(values))
    values = values[first:]
    if len(values) < SEASON:
        mean = sum(values) / len(values) if values else 0.0
        return Forecast([mean] * horizon, ForecastMethod.MEAN)
    if len(values) < MIN_HOLT_WINTERS_DAYS:
        return Forecast(seasonal_naive(values, horizon), ForecastMethod.SEASONAL_NAIVE)
    fitted = _holt_winters(values, horizon)
    if fitted is None:
        return Forecast(seasonal_naive(values, horizon), ForecastMethod.SEASONAL_NAIVE)
    return Forecast(fitted, ForecastMethod.HOLT_WINTERS)


def _holt_winters(values: list[float], horizon: int) -> list[float] | None:
    import numpy as np
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    series = np.asarray(values, dtype=float)
    if not series.any():
        return [0.0] * horizon
    try:
        with warnings.catch_warnings():
            # Short or intermittent series warn about convergence; the result is still usable
            # and is checked for finiteness below.
            warnings.simplefilter("ignore")
            model = ExponentialSmoothing(
                series,
                trend="add",
                damped_trend=True,
                seasonal="add",
                seasonal_periods=SEASON,
                # Heuristic start values leave only the smoothing parameters to optimise:
                # about ten times faster than estimating the initial states too.
                initialization_method="heuristic",
            ).fit(use_brute=False)
            predicted = model.forecast(horizon)
    except (ValueError, np.linalg.LinAlgError):
        return None
    out = [max(0.0, float(v)) for v in predicted]
    if not all(math.isfinite(v) for v in out):
        return None
    return out


# --- series from the rollups ------------------------------------------------------------------


def _dense(points: dict[date, float], start: date, end: date) -> list[float]:
    days = (end - start).days + 1
    return [points.get(start + timedelta(days=i), 0.0) for i in range(days)]


def variant_location_histories(
    *, start: date, end: date, pairs: Sequence[tuple[int, int]] | None = None
) -> dict[tuple[int, int], list[float]]:
    """Daily units per (variant, location) over [start, end], zeros filled (one query)."""
    qs = VariantLocationDay.objects.filter(day__range=(start, end), location__isnull=False)
    if pairs is not None:
        qs = qs.filter(
            variant_id__in={v for v, _ in pairs}, location_id__in={loc for _, loc in pairs}
        )
    points: dict[tuple[int, int], dict[date, float]] = defaultdict(dict)
    for variant_id, location_id, day, units in qs.values_list(
        "variant_id", "location_id", "day", "units"
    ):
        points[(variant_id, location_id)][day] = float(units)
    wanted = set(pairs) if pairs is not None else None
    return {
        key: _dense(days, start, end)
        for key, days in points.items()
        if wanted is None or key in wanted
    }


def channel_histories(*, start: date, end: date) -> dict[int, list[float]]:
    """Daily units per channel over [start, end], zeros filled (one query)."""
    points: dict[int, dict[date, float]] = defaultdict(dict)
    for channel_id, day, units in (
        ChannelDay.objects.filter(day__range=(start, end))
        .values("channel_id", "day")
        .annotate(u=Sum("units"))
        .values_list("channel_id", "day", "u")
    ):
        points[channel_id][day] = float(units or 0)
    return {key: _dense(days, start, end) for key, days in points.items()}


@transaction.atomic
def forecasts_rebuild(
    *, today: date | None = None, history_days: int = HISTORY_DAYS, max_series: int | None = None
) -> int:
    """Forecast the next 28 days from yesterday's history back `history_days`, for every
    variant x location that sold in that window (or the `max_series` best sellers) and for
    every channel; replaces the stored forecasts. Returns the number of series forecast."""
    today = today or timezone.localdate()
    end = today - timedelta(days=1)
    start = end - timedelta(days=history_days - 1)
    rows: list[DemandForecast] = []
    series = 0
    histories = variant_location_histories(start=start, end=end)
    if max_series is not None:
        best = sorted(histories, key=lambda key: (-sum(histories[key]), key))[:max_series]
        histories = {key: histories[key] for key in best}
    for (variant_id, location_id), history in histories.items():
        result = forecast_series(history)
        series += 1
        rows.extend(
            DemandForecast(
                variant_id=variant_id,
                location_id=location_id,
                day=today + timedelta(days=i),
                quantity=round(value, 3),
                method=result.method,
            )
            for i, value in enumerate(result.values)
        )
    for channel_id, history in channel_histories(start=start, end=end).items():
        result = forecast_series(history)
        series += 1
        rows.extend(
            DemandForecast(
                channel_id=channel_id,
                day=today + timedelta(days=i),
                quantity=round(value, 3),
                method=result.method,
            )
            for i, value in enumerate(result.values)
        )
    DemandForecast.objects.all().delete()
    DemandForecast.objects.bulk_create(rows, batch_size=2000)
    return series


# --- backtest ---------------------------------------------------------------------------------


@dataclass
class ErrorTally:
    """Sums behind WAPE (sum |error| / sum actual) and MAPE (mean |error| / actual over days
    that sold something)."""

    abs_error: float = 0.0
    actual: float = 0.0
    ape_sum: float = 0.0
    ape_days: int = 0

    def add(self, actual: Sequence[float], predicted: Sequence[float]) -> None:
        for a, p in zip(actual, predicted, strict=True):
            self.abs_error += abs(a - p)
            self.actual += a
            if a > 0:
                self.ape_sum += abs(a - p) / a
                self.ape_days += 1

    @property
    def wape(self) -> float | None:
        return self.abs_error / self.actual if self.actual else None

    @property
    def mape(self) -> float | None:
        return self.ape_sum / self.ape_days if self.ape_days else None


def backtest(
    histories: dict, *, horizon: int = HORIZON_DAYS
) -> tuple[ErrorTally, ErrorTally, dict[str, int]]:
    """Hold out the last `horizon` days of each series, forecast them from the rest, and tally
    the model's errors and the seasonal-naive baseline's. Series too short to hold out are
    skipped."""
    model, naive = ErrorTally(), ErrorTally()
    methods: dict[str, int] = defaultdict(int)
    for history in histories.values():
        train, test = history[:-horizon], history[-horizon:]
        if len(train) < SEASON or not any(test):
            continue
        result = forecast_series(train, horizon)
        methods[result.method] += 1
        model.add(test, result.values)
        naive.add(test, seasonal_naive(train, horizon))
    return model, naive, dict(methods)
