"""The fuzz tests share one small business, built and committed once per module (fuzzing every
operation against a fresh build would take minutes); each test still runs in its own
transaction, rolled back after it, and the module's data is flushed at the end."""

import pytest
from django.core.management import call_command

from tests.fuzz.world import World, world_build


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> World:
    from omni.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_db_blocker.unblock():
            built = world_build()
            yield built
            call_command("flush", verbosity=0, interactive=False)
    finally:
        app.conf.task_always_eager = eager


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Schemathesis calls the WSGI application itself, whose request signals would close the
    test's database connection (and its transaction); Django's test client unhooks them too."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
