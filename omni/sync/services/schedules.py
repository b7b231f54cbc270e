"""Default beat schedules of channel sync, kept in django-celery-beat (editable in the admin)."""

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

DEFAULT_SCHEDULES = [
    # (name, task, kwargs, interval seconds or crontab (minute, hour))
    ("sync: pull orders", "sync.pull_all", '{"kind": "orders"}', 60),
    ("sync: pull stock counts", "sync.pull_all", '{"kind": "stock"}', 15 * 60),
    ("sync: outbound retry sweep", "sync.outbound_dispatch_due", "{}", 60),
    ("sync: availability coalesced push sweep", "sync.availability_push_due", "{}", 30),
    ("sync: order status push sweep", "sync.order_status_push_sweep", "{}", 60),
    ("sync: full availability push (nightly)", "sync.availability_push_full", "{}", ("0", "2")),
    ("sync: reconcile channel views (nightly)", "sync.reconcile", "{}", ("30", "3")),
]


@transaction.atomic
def schedules_setup() -> dict[str, bool]:
    """Create each default schedule that does not exist yet. A schedule staff edited (or
    disabled) in the admin keeps its edits: existing tasks are matched by name, not reset."""
    result = {}
    for name, task, kwargs, when in DEFAULT_SCHEDULES:
        if isinstance(when, tuple):
            minute, hour = when
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=minute,
                hour=hour,
                day_of_week="*",
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
            defaults = {"task": task, "kwargs": kwargs, "crontab": crontab}
        else:
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=when, period=IntervalSchedule.SECONDS
            )
            defaults = {"task": task, "kwargs": kwargs, "interval": interval}
        _, created = PeriodicTask.objects.get_or_create(name=name, defaults=defaults)
        result[name] = created
    return result
