"""`manage.py setup_sync_schedules`: create the default beat schedules (safe to run again)."""

from django.core.management.base import BaseCommand

from omni.sync.services.schedules import schedules_setup


class Command(BaseCommand):
    help = "Create or refresh the default channel sync schedules in django-celery-beat."

    def handle(self, *args, **options):
        created = schedules_setup()
        for name, was_created in created.items():
            self.stdout.write(f"{'created' if was_created else 'present'}: {name}")
