"""`manage.py create_api_key CHANNEL_CODE`: print a new key's secret, alone, on stdout."""

from django.core.management.base import BaseCommand, CommandError

from omni.models import ApiScope, Channel
from omni.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a channel and print its secret (shown only this once)."

    def add_arguments(self, parser):
        parser.add_argument("channel_code")
        parser.add_argument("--name", default="", help="A label to recognise the key by.")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            choices=ApiScope.values,
            help="Grant a scope (repeat for several); default: catalog, orders, events.",
        )

    def handle(self, *args, channel_code, name, scopes, **options):
        channel = Channel.objects.filter(code=channel_code).first()
        if channel is None:
            raise CommandError(f"No channel with code {channel_code!r}.")
        _, secret = api_key_create(channel=channel, name=name or "cli", scopes=scopes)
        self.stdout.write(secret)
