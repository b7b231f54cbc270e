"""Locks of the analytics app: rollup builders serialise on one advisory lock."""

from django.db import connection

# Any constant works; it only has to differ from other apps' advisory lock keys.
ROLLUP_LOCK_KEY = 0x0A7A1_7C5


def rollup_lock_for_update() -> None:
    """Serialise rollup writers until the surrounding transaction ends.

    Rollup rows are rewritten by delete + insert per key; two builders interleaving would
    either collide on the unique constraints or drop each other's counts. On PostgreSQL a
    transaction-scoped advisory lock orders them; SQLite already allows only one writer.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK_KEY])


def suggestion_for_update(*, suggestion_id: int):
    """The suggestion row, locked until the transaction ends (404 when it does not exist)."""
    from analytics.models import ReplenishmentSuggestion
    from omni.errors import NotFound

    suggestion = (
        ReplenishmentSuggestion.objects.filter(pk=suggestion_id)
        .select_for_update(of=("self",))
        .first()
    )
    if suggestion is None:
        raise NotFound("No such suggestion.", code="suggestion_not_found")
    return suggestion
