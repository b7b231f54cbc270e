"""Rate limits per key: over the rate a key gets 429 with Retry-After and a JSON code, on
reads and on order placement alike, while other keys go on."""

import pytest

from omni.services import api_key_create
from omni.throttling import ApiKeyRateThrottle

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
