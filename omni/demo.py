"""Demo channels, the staff superuser and one API key per channel. Idempotent."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from omni.models import ApiScope, Channel, ChannelKind
from omni.services import api_key_create

DEMO_CHANNELS = [
    # code, name, kind, safety stock, cap, share
    ("store-downtown", "Downtown Store", ChannelKind.STORE, 0, None, 100),
    ("store-riverside", "Riverside Store", ChannelKind.STORE, 0, None, 100),
    ("web", "Web shop", ChannelKind.WEB, 1, None, 100),
    ("app", "Mobile app", ChannelKind.APP, 1, None, 100),
    ("marketplace", "Marketplace", ChannelKind.MARKETPLACE, 3, 50, 80),
    ("social", "Social shop", ChannelKind.SOCIAL, 2, 20, 50),
    ("phone", "Call centre", ChannelKind.CALLCENTER, 0, None, 100),
]

ADMIN_USERNAME = "admin"


@transaction.atomic
def load(command) -> None:
    out = command.stdout
    style = command.style
    user_model = get_user_model()
    admin_user = user_model.objects.filter(username=ADMIN_USERNAME).first()
    if admin_user is None:
        password = os.environ.get("OMNI_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_model.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", password)
        out.write(style.SUCCESS(f"Staff login: {ADMIN_USERNAME} / {password}"))
    else:
        out.write(f"Staff login: {ADMIN_USERNAME} (exists; password unchanged)")

    for code, name, kind, safety, cap, share in DEMO_CHANNELS:
        channel, created = Channel.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "currency": "USD",
                "safety_stock": safety,
                "availability_cap": cap,
                "availability_share": share,
            },
        )
        if channel.api_keys.exists():
            out.write(
                f"  channel {code:<16} exists; mint another key: manage.py create_api_key {code}"
            )
            continue
        scopes = [ApiScope.CATALOG, ApiScope.ORDERS, ApiScope.EVENTS]
        if kind in (ChannelKind.WEB, ChannelKind.APP, ChannelKind.STORE, ChannelKind.CALLCENTER):
            scopes.append(ApiScope.CUSTOMERS)
        _, secret = api_key_create(channel=channel, name="demo", scopes=scopes)
        verb = "created" if created else "keyed"
        out.write(style.SUCCESS(f"  channel {code:<16} {verb}; API key (shown once): {secret}"))
