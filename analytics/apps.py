"""The analytics app: registers its nightly schedule with Celery beat."""

from django.apps import AppConfig

# name -> (task, hour, minute) of the nightly jobs, in UTC.
NIGHTLY = {
    "analytics-stock-snapshot": ("analytics.stock_snapshot", 23, 55),
    "analytics-rollups-rebuild": ("analytics.rollups_rebuild", 2, 0),
    "analytics-recommendations": ("analytics.recommendations_rebuild", 3, 0),
    "analytics-forecasts": ("analytics.forecasts_rebuild", 3, 30),
}


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from celery.schedules import crontab

        from omni.celery import app

        # django-celery-beat's scheduler copies these entries into its database on start.
        for name, (task, hour, minute) in NIGHTLY.items():
            app.conf.beat_schedule.setdefault(
                name, {"task": task, "schedule": crontab(hour=hour, minute=minute)}
            )
        app.conf.beat_schedule.setdefault(
            "analytics-rollup-refresh",
            {"task": "analytics.rollup_refresh_changed", "schedule": crontab(minute="*/5")},
        )
