"""State changes of channels and their API keys."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from omni.models import ApiKey, Channel

KEY_PREFIX = "omni"


def _digest(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _split_key(raw_key: str) -> str | None:
    """Return the visible prefix of a well-formed key, or None."""
    parts = raw_key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1]


@transaction.atomic
def api_key_create(
    *,
    channel: Channel,
    name: str = "",
    scopes: list[str] | None = None,
    created_by=None,
) -> tuple[ApiKey, str]:
    """Create a key for `channel`; return it with its secret, which is never stored or shown
    again."""
    prefix = secrets.token_hex(4)
    raw_key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        channel=channel,
        name=name,
        prefix=prefix,
        hashed_secret=_digest(raw_key),
        created_by=created_by,
    )
    if scopes is not None:
        api_key.scopes = sorted(set(scopes))
    api_key.save()
    return api_key, raw_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoke a key; from then on it authenticates nothing. Revoking twice keeps the first time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_authenticate(raw_key: str) -> ApiKey | None:
    """Resolve a presented key to its usable ApiKey, or None (malformed, unknown, revoked,
    or the channel is inactive). Compares digests in constant time."""
    prefix = _split_key(raw_key)
    if prefix is None:
        return None
    api_key = ApiKey.objects.usable().select_related("channel").filter(prefix=prefix).first()
    if api_key is None or not hmac.compare_digest(api_key.hashed_secret, _digest(raw_key)):
        return None
    _api_key_touch(api_key)
    return api_key


def _api_key_touch(api_key: ApiKey) -> None:
    """Record use at most once a minute per key. The row just read tells whether it is due, so
    most requests write nothing; the UPDATE stays conditional for concurrent requests."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.OMNI_API_KEY_TOUCH_SECONDS)
    if api_key.last_used_at is not None and api_key.last_used_at >= stale:
        return
    ApiKey.objects.filter(pk=api_key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale)
    ).update(last_used_at=now)
