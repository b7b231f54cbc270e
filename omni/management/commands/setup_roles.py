"""Create or refresh the staff roles (Django groups with permissions). Idempotent."""

from django.core.management.base import BaseCommand

from omni.roles import ROLES, roles_setup


class Command(BaseCommand):
    help = "Create or refresh the staff role groups and their permissions."

    def handle(self, *args, **options):
        counts = roles_setup()
        for role in ROLES:
            self.stdout.write(f"  {role.name:<18} {counts[role.name]:>4} permissions")
        self.stdout.write(self.style.SUCCESS(f"{len(ROLES)} roles set up."))
