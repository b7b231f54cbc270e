"""The analytics app: registers its schedule with Celery beat, its suggestion provider with the
customer lookup, and its receivers of the orders' and customers' change notices."""

from django.apps import AppConfig

# name -> (task, hour, minute) of the nightly jobs, in UTC.
NIGHTLY = {
    "analytics-stock-snapshot": ("analytics.stock_snapshot", 23, 55),
    "analytics-rollups-rebuild": ("analytics.rollups_rebuild", 2, 0),
    # Affinities, then every customer's suggestions from them (served in the customer lookup).
    "analytics-recommendations": ("analytics.recommendations_rebuild", 3, 0),
    "analytics-forecasts": ("analytics.forecasts_rebuild", 3, 30),
}


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from celery.schedules import crontab

        from analytics import ports
        from customers.profile_changes import profile_change_subscribe
        from customers.suggestions import register_suggestion_provider
        from omni.celery import app
        from orders.changes import order_change_subscribe

        # django-celery-beat's scheduler copies these entries into its database on start.
        for name, (task, hour, minute) in NIGHTLY.items():
            app.conf.beat_schedule.setdefault(
                name, {"task": task, "schedule": crontab(hour=hour, minute=minute)}
            )
        # The safety net behind the change notices: orders whose updated_at moved.
        app.conf.beat_schedule.setdefault(
            "analytics-rollup-refresh",
            {"task": "analytics.rollup_refresh_changed", "schedule": crontab(minute="*/5")},
        )
        register_suggestion_provider(ports.CustomerSuggestions())
        # Orders and merges are announced after commit; each queues one incremental refresh.
        order_change_subscribe(ports.orders_changed)
        profile_change_subscribe(ports.profiles_changed)
