"""`manage.py forecast_backtest`: hold out the last weeks of daily sales, forecast them, and
print the error (WAPE and MAPE) of the forecast model next to the naive seasonal baseline."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db.models import Max
from django.utils import timezone

from analytics.forecast import (
    HISTORY_DAYS,
    HORIZON_DAYS,
    backtest,
    channel_histories,
    variant_location_histories,
)
from analytics.models import ChannelDay


def _pct(value) -> str:
    return "   n/a" if value is None else f"{value * 100:5.1f}%"


class Command(BaseCommand):
    help = "Backtest the demand forecasts against the naive seasonal baseline."

    def add_arguments(self, parser):
        parser.add_argument("--horizon", type=int, default=HORIZON_DAYS, help="days held out")
        parser.add_argument("--history", type=int, default=HISTORY_DAYS, help="days of history")
        parser.add_argument(
            "--series",
            type=int,
            default=100,
            help="variant x location series to test (the best sellers; 0 for all)",
        )

    def handle(self, *args, horizon: int, history: int, series: int, **options):
        last = ChannelDay.objects.aggregate(last=Max("day"))["last"]
        if last is None:
            self.stdout.write("No sales rollups yet: load the demo data or build the rollups.")
            return
        # Today is not over: its partial sales would look like a drop in demand.
        last = min(last, timezone.localdate() - timedelta(days=1))
        start = last - timedelta(days=history + horizon - 1)
        levels = {
            "channel": channel_histories(start=start, end=last),
            "variant x location": variant_location_histories(start=start, end=last),
        }
        if series:
            histories = levels["variant x location"]
            best = sorted(histories, key=lambda k: (-sum(histories[k]), k))[:series]
            levels["variant x location"] = {k: histories[k] for k in best}
        self.stdout.write(
            f"Backtest: {history} days of history to {last - timedelta(days=horizon)}, "
            f"forecasting the {horizon} days to {last}."
        )
        header = f"{'level':<20} {'series':>6} {'model WAPE':>11} {'naive WAPE':>11} "
        header += f"{'model MAPE':>11} {'naive MAPE':>11}  methods"
        self.stdout.write(header)
        for name, histories in levels.items():
            model, naive, methods = backtest(histories, horizon=horizon)
            used = ", ".join(f"{m} {n}" for m, n in sorted(methods.items()))
            self.stdout.write(
                f"{name:<20} {sum(methods.values()):>6} {_pct(model.wape):>11} "
                f"{_pct(naive.wape):>11} {_pct(model.mape):>11} {_pct(naive.mape):>11}  {used}"
            )
            if model.wape is not None and naive.wape is not None:
                verdict = "beats" if model.wape < naive.wape else "does not beat"
                self.stdout.write(f"  -> the model {verdict} the naive seasonal baseline on WAPE")
