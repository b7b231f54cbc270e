"""Demo channels, the staff roles with one login per role, the superuser and one API key per
channel. Idempotent."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from omni import roles
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

# One demo login per role. The store staff login works at the Downtown store (assigned by the
# inventory demo, which creates the locations).
ROLE_USERS = [
    ("manager", roles.ADMIN),
    ("merch", roles.MERCHANDISER),
    ("stockmgr", roles.INVENTORY_MANAGER),
    ("store", roles.STORE_STAFF),
    ("service", roles.CUSTOMER_SERVICE),
    ("analyst", roles.ANALYST),
]
STORE_STAFF_USERNAME = "store"
STORE_STAFF_LOCATION = "store-downtown"


def _role_users(command) -> None:
    out = command.stdout
    counts = roles.roles_setup()
    out.write(f"  roles: {', '.join(f'{name} ({n} perms)' for name, n in counts.items())}")
    user_model = get_user_model()
    groups = {g.name: g for g in Group.objects.filter(name__in=[r for _, r in ROLE_USERS])}
    for username, role in ROLE_USERS:
        if user_model.objects.filter(username=username).exists():
            out.write(f"  {role} login: {username} (exists; password unchanged)")
            continue
        password = secrets.token_urlsafe(12)
        user = user_model.objects.create_user(
            username, f"{username}@example.com", password, is_staff=True
        )
        user.groups.add(groups[role])
        out.write(command.style.SUCCESS(f"  {role} login: {username} / {password}"))


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

    _role_users(command)

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
