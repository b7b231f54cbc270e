"""`manage.py load_demo_data`: the demo business `make run` serves. Safe to run again."""

import importlib
import importlib.util

from django.core.management.base import BaseCommand

# Each app that has demo data offers `<app>.demo.load(command)`; order follows dependencies.
DEMO_APPS = [
    "omni",
    "catalog",
    "inventory",
    "customers",
    "promotions",
    "orders",
    "omni.sync",
    "analytics",
]


class Command(BaseCommand):
    help = "Create the demo channels, staff login, API keys, catalog, stock and history."

    def handle(self, *args, **options):
        for app in DEMO_APPS:
            if importlib.util.find_spec(f"{app}.demo") is None:
                continue
            self.stdout.write(self.style.MIGRATE_HEADING(f"Demo data: {app}"))
            importlib.import_module(f"{app}.demo").load(self)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
