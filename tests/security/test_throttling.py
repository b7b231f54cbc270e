"""Rate limits per key: over the rate a key gets 429 with Retry-After and a JSON code, on
reads and on order placement alike, while other keys go on. Failed credentials are limited per
address."""

import pytest

from omni.services import api_key_create
from omni.throttling import ApiKeyRateThrottle, FailedCredentialsThrottle

pytestmark = pytest.mark.django_db


def test_order_placement_is_rate_limited_per_key(monkeypatch, api_client, shop, rival, catalog):
    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "2/min", raising=False)
    _, flooding = api_key_create(channel=shop, scopes=["orders", "catalog"])
    _, calm = api_key_create(channel=rival, scopes=["orders", "catalog"])

    def place(secret):
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        return api_client.post("/api/v1/orders/", {"lines": []}, format="json")

    assert [place(flooding).status_code for _ in range(2)] == [400, 400]
    throttled = place(flooding)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert 0 < int(throttled["Retry-After"]) <= 60
    assert throttled.json()["retry_after"] == int(throttled["Retry-After"])
    assert place(calm).status_code == 400
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {flooding}")
    assert api_client.get("/api/v1/products/").status_code == 429


@pytest.fixture
def three_failures(monkeypatch):
    monkeypatch.setattr(FailedCredentialsThrottle, "rate", "3/min", raising=False)


def test_wrong_keys_spend_the_address_budget_then_even_a_right_key_waits(
    three_failures, api_client, shop
):
    """Authentication runs before the per-key throttle, so guessing keys is limited per
    address: once the failures are spent the address gets 429 without its key being looked
    up (a right key included), while other addresses go on."""
    _, secret = api_key_create(channel=shop, scopes=["catalog"])

    def call(key, address="203.0.113.7"):
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        return api_client.get("/api/v1/products/", REMOTE_ADDR=address)

    assert [call(secret).status_code for _ in range(5)] == [200] * 5  # successes never count
    assert [call(secret + "x").status_code for _ in range(3)] == [401] * 3
    refused = call(secret)
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"
    assert 0 < int(refused["Retry-After"]) <= 60
    assert call(secret + "x").status_code == 429
    assert call(secret, address="198.51.100.2").status_code == 200


def test_wrong_staff_tokens_share_the_budget(three_failures, api_client, shop, admin_user):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=admin_user)
    _, secret = api_key_create(channel=shop, scopes=["catalog"])
    api_client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert [api_client.get("/api/v1/products/").status_code for _ in range(2)] == [401] * 2
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}-wrong")
    assert api_client.get("/api/v1/products/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get("/api/v1/orders/").status_code == 429
