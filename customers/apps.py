from celery.schedules import crontab
from django.apps import AppConfig

# Nightly jobs; django-celery-beat's DatabaseScheduler copies them into its table at start, where
# staff can change the times in the admin.
BEAT_SCHEDULE = {
    "customers-loyalty-expire": {
        "task": "customers.loyalty_expire",
        "schedule": crontab(hour=2, minute=15),
    },
    "customers-segments-recompute": {
        "task": "customers.segments_recompute",
        "schedule": crontab(hour=3, minute=0),
    },
}


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self) -> None:
        from omni.celery import app

        app.conf.beat_schedule = {**(app.conf.beat_schedule or {}), **BEAT_SCHEDULE}
