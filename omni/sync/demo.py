"""Demo connector settings for the marketplace and social channels, a sample price feed for
the social shop, and the beat schedules."""

import csv
import tempfile
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from catalog.models import Listing
from omni.models import Channel
from omni.sync.models import ConnectorSettings
from omni.sync.services.schedules import schedules_setup

FEED_DIR = Path(tempfile.gettempdir()) / "omni-demo-feeds"
SOCIAL_PRICES = FEED_DIR / "social-prices.csv"

DEMO_CONNECTORS = {
    # The marketplace talks webhooks both ways; its secret is read from the environment
    # (set OMNI_SYNC_MARKETPLACE_SECRET to accept its webhooks and sign pushes to it).
    "marketplace": {
        "kind": "webhook",
        "push_url": "http://127.0.0.1:9009/omni/push",
        "signing_secret_env": "OMNI_SYNC_MARKETPLACE_SECRET",
        "credential_env": "OMNI_SYNC_MARKETPLACE_TOKEN",
        "pull_kinds": ["orders", "stock"],
        "push_kinds": ["availability", "order_status"],
    },
    # The social shop drops a price file: `manage.py sync_channel social --pull prices`.
    "social": {
        "kind": "file_feed",
        "prices_source": str(SOCIAL_PRICES),
        "pull_kinds": ["prices"],
        "push_kinds": [],
    },
}


def _write_social_prices(channel: Channel) -> int:
    """A sample feed: 5% off the first twenty social listings, plus one unknown SKU and one
    negative price, so a pull shows applied and rejected rows."""
    listings = Listing.objects.filter(channel=channel).select_related("variant")[:20]
    FEED_DIR.mkdir(parents=True, exist_ok=True)
    with SOCIAL_PRICES.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["sku", "price"])
        for listing in listings:
            writer.writerow(
                [listing.variant.sku, (listing.price * Decimal("0.95")).quantize(Decimal("0.01"))]
            )
        writer.writerow(["NO-SUCH-SKU", "9.99"])
        writer.writerow([listings[0].variant.sku if listings else "X", "-1"])
    return len(listings)


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
        if code == "social" and not SOCIAL_PRICES.exists():
            count = _write_social_prices(channel)
            out.write(f"  sample price feed for social ({count} SKUs): {SOCIAL_PRICES}")
    for name, created in schedules_setup().items():
        out.write(f"  schedule {name}: {'created' if created else 'exists'}")
