"""Staff logins: wrong passwords for one username from one address lock that pair out for a
while (django-axes), a right password included, without locking the same user elsewhere; and
the client address behind every per-address limit cannot be forged with X-Forwarded-For."""

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings

from omni.throttling import FailedCredentialsThrottle

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
LOGIN = "/admin/login/"


@pytest.fixture
def manager(db):
    return get_user_model().objects.create_user("manager", password=PASSWORD, is_staff=True)


def log_in(client, password, address="203.0.113.7", **headers):
    return client.post(
        LOGIN,
        {"username": "manager", "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **headers,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


@override_settings(AXES_FAILURE_LIMIT=3)
def test_failed_logins_lock_the_username_from_that_address(client, manager):
    assert [log_in(client, "wrong").status_code for _ in range(2)] == [200, 200]
    locked = log_in(client, "wrong")
    assert locked.status_code == 429
    assert b"logins as this user from your address are locked" in locked.content
    assert b"Try again in 15 minutes" in locked.content

    refused = log_in(client, PASSWORD)
    assert refused.status_code == 429
    assert not logged_in(client)

    elsewhere = log_in(client, PASSWORD, address="198.51.100.2")
    assert elsewhere.status_code == 302
    assert logged_in(client)


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_successful_login_clears_the_failures(client, manager):
    for _ in range(2):
        assert log_in(client, "wrong").status_code == 200
    assert log_in(client, PASSWORD).status_code == 302
    client.logout()
    assert [log_in(client, "wrong").status_code for _ in range(2)] == [200, 200]
    assert log_in(client, PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=3)
def test_a_forged_forwarded_address_does_not_reset_the_count(client, manager):
    for n in range(3):
        log_in(client, "wrong", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}")
    assert log_in(client, PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.99").status_code == 429


def test_forged_forwarded_addresses_share_the_failed_key_budget(monkeypatch, api_client):
    monkeypatch.setattr(FailedCredentialsThrottle, "rate", "2/min", raising=False)
    api_client.credentials(HTTP_AUTHORIZATION="Api-Key wrong")
    statuses = [
        api_client.get("/api/v1/products/", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code
        for n in range(3)
    ]
    assert statuses == [401, 401, 429]
