"""Suite-wide fixtures and the PostgreSQL / broker gates.

Tests marked `postgres` prove locking, concurrency or idempotency: they run on PostgreSQL and
skip elsewhere with a reason. In CI (`CI=true`) the whole suite must run on PostgreSQL with the
Redis broker, so a missing service fails the run instead of skipping silently.
"""

import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from omni.models import Channel
from omni.services import api_key_create

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _on_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_sessionstart(session):
    if IN_CI and not _on_postgres():
        pytest.exit("CI must run on PostgreSQL: set DATABASE_URL.", returncode=2)
    if IN_CI and not settings.CELERY_BROKER_URL:
        pytest.exit("CI must run with the Redis broker: set CELERY_BROKER_URL.", returncode=2)


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL); runs in CI")
    skip_broker = pytest.mark.skip(reason="needs a Celery broker (set CELERY_BROKER_URL)")
    for item in items:
        if "postgres" in item.keywords and not _on_postgres():
            item.add_marker(skip_pg)
        if "broker" in item.keywords and not settings.CELERY_BROKER_URL:
            item.add_marker(skip_broker)


@pytest.fixture(autouse=True)
def _celery_eager_unless_broker_test(request):
    """Tasks run in-process in tests, so no test leaves work queued in the shared broker; tests
    marked `broker` talk to the real Redis broker and a real worker."""
    from celery import _state

    from omni.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = "broker" not in request.keywords
    yield
    app.conf.task_always_eager = previous
    # Eager `.delay()` from several threads at once can leave Celery's process-wide "joining
    # would block" flag set, failing a later test's `result.get()`. Inventory's outbox kick no
    # longer does (it uses `apply()`), but the full CI-ordered suite still leaks the flag from
    # some other eager `.delay()`/`apply_async()` run in threads, so it is reset per test.
    _state._set_task_join_will_block(False)


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts with an empty cache and no per-process pricing snapshot: ids are reused
    across tests (SQLite reuses them after a rollback), so a snapshot keyed by a channel id
    could otherwise carry another test's promotions."""
    from django.core.cache import cache

    from promotions.rules import forget_local

    cache.clear()
    forget_local()
    yield
    cache.clear()
    forget_local()


@pytest.fixture
def channel(db) -> Channel:
    return Channel.objects.create(code="web", name="Web shop", kind="web", currency="USD")


@pytest.fixture
def make_channel(db):
    def make(code: str, **fields) -> Channel:
        defaults = {"name": code.title(), "kind": "web", "currency": "USD"}
        defaults.update(fields)
        return Channel.objects.create(code=code, **defaults)

    return make


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def key_client(db):
    """An APIClient authenticated with a new key of `channel` (all scopes unless given)."""

    def make(channel: Channel, scopes: list[str] | None = None) -> APIClient:
        _, secret = api_key_create(
            channel=channel,
            scopes=scopes if scopes is not None else ["catalog", "orders", "customers", "events"],
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return client

    return make


@pytest.fixture
def staff_user(db, django_user_model):
    return django_user_model.objects.create_user(
        "staff", "staff@example.com", "staff-pass-123", is_staff=True
    )


@pytest.fixture
def admin_client_api(db, admin_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin_user)
    return client
