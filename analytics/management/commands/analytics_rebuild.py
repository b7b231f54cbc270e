"""`manage.py analytics_rebuild`: what the nightly Celery jobs do, on demand: facts and
rollups from every order, recommendations, demand forecasts and replenishment suggestions."""

from time import monotonic

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Rebuild analytics rollups (and optionally recommendations and forecasts)."

    def add_arguments(self, parser):
        parser.add_argument("--rollups-only", action="store_true", help="skip recs/forecasts")

    def handle(self, *args, rollups_only: bool, **options):
        from analytics.forecast import forecasts_rebuild
        from analytics.models import OrderFact
        from analytics.recommendations import recommendations_rebuild
        from analytics.replenishment import suggestions_rebuild
        from analytics.services import rollups_rebuild, stock_snapshot_take

        started = monotonic()
        rollups_rebuild()
        self.stdout.write(
            f"rollups: {OrderFact.objects.count():,} orders ({monotonic() - started:.1f} s)"
        )
        if rollups_only:
            return
        self.stdout.write(f"stock snapshot: {stock_snapshot_take():,} rows")
        pairs, customers = recommendations_rebuild()
        self.stdout.write(f"recommendations: {pairs:,} pairs, {customers:,} customers")
        self.stdout.write(f"forecasts: {forecasts_rebuild():,} series")
        self.stdout.write(f"replenishment: {suggestions_rebuild():,} open suggestions")
