"""Bodies over the limit are refused: a webhook over MAX_BODY_BYTES is a 413 before its
signature is even checked, and nothing of it is stored; any API body over Django's upload
limit is a JSON 413."""

import json
import time

import pytest

from omni.sync.models import InboundEvent
from omni.sync.services.webhooks import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db


def webhook_post(client, channel_code, body: bytes, **headers):
    return client.generic(
        "POST",
        f"/api/v1/webhooks/{channel_code}/",
        body,
        content_type="application/json",
        HTTP_X_OMNI_TIMESTAMP=str(int(time.time())),
        HTTP_X_OMNI_SIGNATURE="v1=" + "0" * 64,
        **headers,
    )


@pytest.mark.parametrize("extra", [0, 1, 5 * MAX_BODY_BYTES])
def test_webhook_body_over_the_limit_is_a_413_before_the_signature(
    api_client, connector, market, extra
):
    body = json.dumps({"id": "e", "type": "stock.updated", "pad": "x" * MAX_BODY_BYTES}).encode()
    body += b" " * extra
    response = webhook_post(api_client, market.code, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not InboundEvent.objects.exists()


def test_webhook_body_at_the_limit_reaches_the_signature_check(api_client, connector, market):
    body = json.dumps({"id": "e", "type": "stock.updated"}).encode()
    response = webhook_post(api_client, market.code, body.ljust(MAX_BODY_BYTES))
    assert response.status_code == 401
    assert not InboundEvent.objects.exists()


def test_api_json_body_over_the_upload_limit_is_refused(shop_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"lines": [{"sku": "TEE", "quantity": 1}], "note": "x" * 20_000})
    response = shop_client.generic("POST", "/api/v1/quotes/", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
