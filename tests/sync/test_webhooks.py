"""Inbound webhooks: signature, timestamp, replay, size and content-type checks; dedup."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Stock, StockMovement
from omni.sync.connectors.signing import sign
from omni.sync.models import EventStatus, InboundEvent, SyncRun
from omni.sync.services.webhooks import MAX_BODY_BYTES

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhooks/market/"


def stock_event(event_id="evt-1", quantity=6, as_of=None):
    as_of = as_of or timezone.now() - timedelta(minutes=1)
    return {
        "id": event_id,
        "type": "stock.updated",
        "data": {
            "as_of": as_of.isoformat(),
            "location": "wh",
            "counts": [{"sku": "A-1", "quantity": quantity}, {"sku": "ZZZ", "quantity": 1}],
        },
    }


def post(client, payload, *, secret, timestamp=None, body=None, signature=None, **extra):
    body = body if body is not None else json.dumps(payload).encode()
    timestamp = str(int(timestamp if timestamp is not None else time.time()))
    headers = {
        "HTTP_X_OMNI_TIMESTAMP": timestamp,
        "HTTP_X_OMNI_SIGNATURE": signature or sign(secret=secret, timestamp=timestamp, body=body),
    }
    content_type = extra.pop("content_type", "application/json")
    headers.update(extra)
    return client.generic("POST", URL, body, content_type=content_type, **headers)


@pytest.fixture
def ready(connector, warehouse, skus, django_capture_on_commit_callbacks):
    def send(client, payload, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post(client, payload, **kwargs)

    return send


def test_signed_stock_event_is_applied_once_with_bad_items_rejected(
    api_client, ready, secret, skus
):
    response = ready(api_client, stock_event(), secret=secret)

    assert response.status_code == 202, response.content
    event = InboundEvent.objects.get(event_id="evt-1")
    assert event.status == EventStatus.REJECTED  # one of its two counts named an unknown SKU
    assert event.result["applied"] == 1 and event.result["rejected"] == 1
    assert Stock.objects.get(variant=skus["A-1"]).on_hand == 6
    run = SyncRun.objects.get(pk=event.result["run"])
    assert run.rejections.get().code == "unknown_sku"


def test_redelivered_event_id_is_a_duplicate_and_changes_nothing(api_client, ready, secret):
    ready(api_client, stock_event(quantity=6), secret=secret)
    movements = StockMovement.objects.count()

    again = ready(api_client, stock_event(quantity=9), secret=secret)

    assert again.status_code == 200
    assert again.json() == {"event_id": "evt-1", "status": "duplicate"}
    assert InboundEvent.objects.count() == 1
    assert StockMovement.objects.count() == movements
    assert Stock.objects.get().on_hand == 6


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"signature": "sha256=" + "0" * 64}, "bad_signature"),
        ({"timestamp": -301}, "timestamp_expired"),
        ({"timestamp": +400}, "timestamp_in_future"),
        ({"signature": "sha256=deadbeef"}, "bad_signature"),
    ],
)
def test_bad_signature_or_stale_timestamp_is_refused(api_client, ready, secret, change, code):
    if "timestamp" in change:  # an offset from now, taken when the test runs
        change = {"timestamp": time.time() + change["timestamp"]}
    response = ready(api_client, stock_event(), secret=secret, **change)

    assert response.status_code == 401
    assert response.json()["code"] == code
    assert not InboundEvent.objects.exists()


def test_a_captured_request_replayed_after_five_minutes_is_refused(api_client, ready, secret):
    old = time.time() - 360
    body = json.dumps(stock_event("evt-replay")).encode()
    signature = sign(secret=secret, timestamp=str(int(old)), body=body)

    response = ready(api_client, None, secret=secret, body=body, timestamp=old, signature=signature)

    assert response.status_code == 401
    assert response.json()["code"] == "timestamp_expired"


def test_signature_from_another_secret_is_refused(api_client, ready, secret):
    response = ready(api_client, stock_event(), secret="someone-else")

    assert response.status_code == 401
    assert response.json()["errors"][0]["field"] == "X-Omni-Signature"


def test_oversized_body_is_refused_before_it_is_read(api_client, ready, secret):
    payload = stock_event()
    payload["data"]["padding"] = "x" * MAX_BODY_BYTES

    response = ready(api_client, payload, secret=secret)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_wrong_content_type_is_refused(api_client, ready, secret):
    response = ready(api_client, stock_event(), secret=secret, content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_unknown_channel_is_not_found(api_client, secret, db):
    response = api_client.post("/api/v1/webhooks/nobody/", {}, format="json")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_channel"


def test_missing_secret_refuses_rather_than_accepting_unsigned(
    api_client, ready, secret, monkeypatch
):
    monkeypatch.delenv("OMNI_TEST_SYNC_SECRET")

    response = ready(api_client, stock_event(), secret="")

    assert response.status_code == 503
    assert response.json()["code"] == "webhook_not_configured"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "malformed_json"),
        (b"[1, 2]", "malformed_json"),
        (json.dumps({"type": "stock.updated", "data": {}}).encode(), "required"),
        (json.dumps({"id": "x", "type": "refund", "data": {}}).encode(), "invalid_type"),
    ],
)
def test_malformed_event_is_rejected_with_a_code(api_client, ready, secret, body, code):
    response = ready(api_client, None, secret=secret, body=body)

    assert response.status_code == 400
    assert response.json()["code"] == code


def test_stock_event_older_than_the_last_applied_is_ignored(api_client, ready, secret, skus):
    now = timezone.now()
    ready(
        api_client, stock_event("new", quantity=8, as_of=now - timedelta(minutes=1)), secret=secret
    )

    ready(
        api_client, stock_event("late", quantity=2, as_of=now - timedelta(minutes=9)), secret=secret
    )

    assert Stock.objects.get(variant=skus["A-1"]).on_hand == 8
    late = InboundEvent.objects.get(event_id="late")
    assert late.result["applied"] == 0 and late.result["unchanged"] == 1
