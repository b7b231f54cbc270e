"""Demand forecasts: Holt-Winters on a long seasonal history, fallbacks on short ones, the
stored forecasts and the backtest tally."""

from datetime import date, timedelta

import pytest

from analytics.forecast import (
    ErrorTally,
    backtest,
    forecast_series,
    forecasts_rebuild,
    seasonal_naive,
)
from analytics.models import DemandForecast, ForecastMethod, VariantLocationDay

WEEK = [2, 3, 4, 5, 9, 14, 6]


def test_short_history_uses_the_mean():
    result = forecast_series([0, 0, 0, 3, 5, 1])  # leading zeros are not history
    assert result.method == ForecastMethod.MEAN
    assert result.values == [3.0] * 28


def test_no_sales_at_all_forecasts_zero():
    result = forecast_series([0] * 40)
    assert result.values == [0.0] * 28


def test_two_weeks_use_seasonal_naive():
    history = WEEK * 2
    result = forecast_series(history, horizon=10)
    assert result.method == ForecastMethod.SEASONAL_NAIVE
    assert result.values == [2, 3, 4, 5, 9, 14, 6, 2, 3, 4]


def test_long_seasonal_history_uses_holt_winters_and_keeps_the_weekly_shape():
    history = WEEK * 12
    result = forecast_series(history, horizon=14)
    assert result.method == ForecastMethod.HOLT_WINTERS
    assert len(result.values) == 14
    assert all(v >= 0 for v in result.values)
    for got, expected in zip(result.values, WEEK * 2, strict=True):
        assert got == pytest.approx(expected, abs=0.5)


def test_error_tally_wape_and_mape():
    tally = ErrorTally()
    tally.add([10, 0, 5], [8, 1, 5])
    assert tally.wape == pytest.approx(3 / 15)
    assert tally.mape == pytest.approx((2 / 10 + 0 / 5) / 2)


def test_backtest_beats_or_matches_naive_on_a_clean_seasonal_series():
    histories = {"a": [v * 1.0 for v in WEEK * 10]}
    model, naive, methods = backtest(histories, horizon=14)
    assert methods == {ForecastMethod.HOLT_WINTERS: 1}
    assert naive.wape == pytest.approx(0.0)
    assert model.wape < 0.1


def test_seasonal_naive_repeats_last_week():
    assert seasonal_naive([1, 2, 3, 4, 5, 6, 7, 8], horizon=3) == [2, 3, 4]


def test_forecasts_rebuild_stores_28_days_per_series(world):
    v1, l1, web = world["v1"], world["l1"], world["web"]
    today = date(2026, 3, 1)
    for i in range(10):
        VariantLocationDay.objects.create(
            variant=v1,
            product_id=v1.product_id,
            location=l1,
            day=today - timedelta(days=10 - i),
            units=4,
        )
    from analytics.models import ChannelDay

    ChannelDay.objects.create(channel=web, day=today - timedelta(days=1), units=7)
    assert forecasts_rebuild(today=today) == 2
    rows = DemandForecast.objects.filter(variant=v1, location=l1).order_by("day")
    assert rows.count() == 28
    assert rows[0].day == today
    assert {r.method for r in rows} == {ForecastMethod.SEASONAL_NAIVE}
    assert {r.quantity for r in rows} == {4.0}
    channel_rows = DemandForecast.objects.filter(channel=web)
    assert {r.method for r in channel_rows} == {ForecastMethod.MEAN}
    assert {r.quantity for r in channel_rows} == {7.0}


def test_backtest_command_prints_model_and_naive_errors(world):
    import io

    from django.core.management import call_command

    from analytics.models import ChannelDay

    start = date(2026, 1, 1)
    for i in range(70):
        ChannelDay.objects.create(
            channel=world["web"], day=start + timedelta(days=i), units=WEEK[i % 7]
        )
    out = io.StringIO()
    call_command("forecast_backtest", "--horizon", "14", "--history", "56", stdout=out)
    text = out.getvalue()
    assert "channel" in text and "naive WAPE" in text
    assert "holt_winters 1" in text
    assert "beats the naive" in text or "does not beat the naive" in text
