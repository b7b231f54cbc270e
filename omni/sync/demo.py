"""Demo connector settings for the marketplace and social channels, and the beat schedules."""

from django.db import transaction

from omni.models import Channel
from omni.sync.models import ConnectorSettings
from omni.sync.services.schedules import schedules_setup

DEMO_CONNECTORS = {
    # The marketplace talks webhooks both ways; its secret is read from the environment.
    "marketplace": {
        "kind": "webhook",
        "push_url": "http://127.0.0.1:9009/omni/push",
        "signing_secret_env": "OMNI_SYNC_MARKETPLACE_SECRET",
        "credential_env": "OMNI_SYNC_MARKETPLACE_TOKEN",
        "pull_kinds": ["orders", "stock"],
        "push_kinds": ["availability", "order_status"],
        "stock_location": "",
    },
    # The social shop drops files: orders and prices as feeds in a local folder.
    "social": {
        "kind": "file_feed",
        "orders_source": "var/feeds/social/orders.jsonl",
        "prices_source": "var/feeds/social/prices.csv",
        "pull_kinds": ["orders", "prices"],
        "push_kinds": [],
    },
}


@transaction.atomic
def load(command) -> None:
    out = command.stdout
    for code, fields in DEMO_CONNECTORS.items():
        channel = Channel.objects.filter(code=code).first()
        if channel is None:
            continue
        _, created = ConnectorSettings.objects.get_or_create(channel=channel, defaults=fields)
        out.write(
            f"  connector {code:<12} {fields['kind']:<10} {'created' if created else 'exists'}"
        )
    for name, created in schedules_setup().items():
        out.write(f"  schedule {name}: {'created' if created else 'exists'}")
