"""`manage.py catalog_refresh_channel_products`: rebuild the storefront's per-channel product
rows from the listings (after a bulk load outside the services, or to repair)."""

from django.core.management.base import BaseCommand

from catalog.services import channel_products_rebuild


class Command(BaseCommand):
    help = "Rebuild the per-channel product rows the storefront lists from."

    def handle(self, *args, **options):
        rows = channel_products_rebuild()
        self.stdout.write(self.style.SUCCESS(f"{rows} channel product rows rebuilt."))
