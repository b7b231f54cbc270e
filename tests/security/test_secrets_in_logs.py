"""Secrets never reach the logs: API keys (good, wrong, revoked), staff tokens, webhook signing
secrets and signatures, connector credentials and tokens in feed URLs. Every log record at
every level is captured, message, arguments and traceback alike, while each is exercised."""

import json
import logging
import time

import pytest
from rest_framework.authtoken.models import Token

from omni.services import api_key_create, api_key_revoke
from omni.sync.connectors.signing import sign
from omni.sync.services.feeds import feed_pull
from omni.sync.services.outbox import message_enqueue, message_send

pytestmark = pytest.mark.django_db

CREDENTIAL = "connector-bearer-token-5f1e9a"
URL_TOKEN = "url-token-77c2d0"


@pytest.fixture
def logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.security", "omni", "celery"):
        caplog.set_level(logging.DEBUG, logger=name)

    def text() -> str:
        formatter = logging.Formatter("%(name)s %(message)s")
        return "\n".join(formatter.format(record) for record in caplog.records)

    return text


def assert_not_logged(text: str, *secrets: str):
    assert text, "nothing was logged: the test would prove nothing"
    for secret in secrets:
        assert secret and secret not in text
        # Not even the part after the public prefix.
        assert secret.rsplit("_", 1)[-1] not in text


def test_api_keys_and_tokens_are_never_logged(logs, api_client, shop, admin_user):
    _, good = api_key_create(channel=shop)
    _, revoked = api_key_create(channel=shop)
    api_key_revoke(api_key=shop.api_keys.get(prefix=revoked.split("_")[1]))
    wrong = good[:-4] + "XXXX"
    token = Token.objects.create(user=admin_user).key
    for header in (f"Api-Key {good}", f"Api-Key {wrong}", f"Api-Key {revoked}",
                   f"Api-Key {good} extra", f"Token {token}", f"Token {token[:-2]}zz"):  # fmt: skip
        api_client.credentials(HTTP_AUTHORIZATION=header)
        api_client.get("/api/v1/products/")
        api_client.post("/api/v1/orders/", {"lines": "bad"}, format="json")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    created = api_client.post(f"/api/v1/channels/{shop.code}/api-keys/", {}, format="json")
    assert created.status_code == 201
    assert_not_logged(logs(), good, wrong, revoked, token, created.json()["secret"])


def test_webhook_secrets_and_signatures_are_never_logged(logs, api_client, connector, market):
    from tests.sync.conftest import SECRET

    body = json.dumps({"id": "evt-9", "type": "stock.updated", "data": {}}).encode()
    stamp = str(int(time.time()))
    good = sign(secret=SECRET, timestamp=stamp, body=body)
    bad = sign(secret="not-the-secret", timestamp=stamp, body=body)
    for signature in (good, bad):
        api_client.generic(
            "POST",
            f"/api/v1/webhooks/{market.code}/",
            body,
            content_type="application/json",
            HTTP_X_OMNI_TIMESTAMP=stamp,
            HTTP_X_OMNI_SIGNATURE=signature,
        )
    assert_not_logged(logs(), SECRET, good.split("=", 1)[-1], bad.split("=", 1)[-1])


def test_connector_credentials_are_never_logged(logs, monkeypatch, market, connector, receiver):
    from tests.sync.conftest import SECRET

    monkeypatch.setenv("OMNI_TEST_CONNECTOR_TOKEN", CREDENTIAL)
    connector.credential_env = "OMNI_TEST_CONNECTOR_TOKEN"
    connector.push_url = f"{receiver.url}/push"
    connector.save(update_fields=["credential_env", "push_url"])

    receiver.body_to_serve = b"sku,quantity\nNOPE,1\n"
    feed_pull(channel=market, kinds=["stock"], source=f"{receiver.url}/s.csv?token={URL_TOKEN}")
    feed_pull(channel=market, kinds=["stock"], source=f"http://127.0.0.1:9/s.csv?token={URL_TOKEN}")
    receiver.statuses = [500, 500, 500]
    message = message_enqueue(channel=market, kind="availability", payload={"items": []})
    for _ in range(3):
        message_send(message_id=message.pk, now=None)
        message.refresh_from_db()
        if message.next_attempt_at:
            message_send(message_id=message.pk, now=message.next_attempt_at)
    connector.push_url = f"http://user:{CREDENTIAL}@127.0.0.1:9/push"
    connector.save(update_fields=["push_url"])
    message_send(message_id=message_enqueue(channel=market, kind="availability", payload={}).pk)

    assert receiver.requests[0]["headers"]["Authorization"] == f"Bearer {CREDENTIAL}"
    assert_not_logged(logs(), CREDENTIAL, URL_TOKEN, SECRET)
