"""POST /api/v1/events/: batches of storefront events, idempotent by event id, feeding the
funnel and the conversion rate."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import BehaviourEvent, EventDay
from analytics.selectors import Period, funnel
from tests.catalog.factories import VariantFactory

URL = "/api/v1/events/"


def _event(kind="product_view", session="s1", sku=None, **extra):
    body = {
        "id": str(uuid.uuid4()),
        "type": kind,
        "session_id": session,
        "occurred_at": timezone.now().isoformat(),
        **extra,
    }
    if sku:
        body["sku"] = sku
    return body


@pytest.fixture
def variant(db):
    return VariantFactory()


def test_batch_is_stored_and_counted_once_when_redelivered(
    channel, key_client, variant, django_capture_on_commit_callbacks
):
    client = key_client(channel, scopes=["events"])
    batch = [
        _event(sku=variant.sku, session="a"),
        _event(sku=variant.sku, session="a"),
        _event(sku=variant.sku, session="b"),
        _event("add_to_cart", session="a", sku=variant.sku),
        _event("checkout_start", session="a"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(URL, {"events": batch}, format="json")
    assert first.status_code == 202
    assert first.json() == {"received": 5, "accepted": 5, "duplicates": 0}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = client.post(URL, {"events": batch[:2]}, format="json")
    assert again.json() == {"received": 2, "accepted": 0, "duplicates": 2}
    assert callbacks == []  # nothing new, no refresh
    assert BehaviourEvent.objects.count() == 5
    today = timezone.localdate()
    views = EventDay.objects.get(channel=channel, day=today, kind="product_view")
    assert (views.events, views.sessions) == (3, 2)
    [row] = funnel(period=Period(today, today))
    assert (row["product_view"], row["add_to_cart"], row["checkout_start"]) == (2, 1, 1)
    assert BehaviourEvent.objects.filter(kind="product_view").first().product_id == (
        variant.product_id
    )


def test_unknown_sku_is_refused_naming_the_event(channel, key_client, variant):
    client = key_client(channel, scopes=["events"])
    response = client.post(
        URL, {"events": [_event(sku=variant.sku), _event(sku="NOPE")]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0] == {
        "field": "events.1.sku",
        "code": "unknown_sku",
        "message": "Unknown SKU 'NOPE'.",
    }
    assert BehaviourEvent.objects.count() == 0


def test_invalid_events_are_refused_with_field_codes(channel, key_client):
    client = key_client(channel, scopes=["events"])
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    response = client.post(
        URL,
        {"events": [_event("teleport", sku="x"), _event(occurred_at=future), _event()]},
        format="json",
    )
    assert response.status_code == 400
    fields = {(e["field"], e["code"]) for e in response.json()["errors"]}
    assert ("events.0.type", "invalid_choice") in fields
    assert ("events.1.occurred_at", "in_future") in fields
    assert ("events.2.sku", "required") in fields


def test_empty_or_oversized_batches_are_refused(channel, key_client):
    client = key_client(channel, scopes=["events"])
    assert client.post(URL, {"events": []}, format="json").status_code == 400
    too_many = [_event("checkout_start") for _ in range(501)]
    assert client.post(URL, {"events": too_many}, format="json").status_code == 400


def test_key_without_events_scope_is_refused(channel, key_client):
    client = key_client(channel, scopes=["catalog"])
    response = client.post(URL, {"events": [_event("checkout_start")]}, format="json")
    assert response.status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_redeliveries_store_each_event_once(channel, variant):
    import threading

    from django.db import connection

    from analytics.services import EventInput, events_record

    events = [
        EventInput(
            event_id=uuid.uuid4(),
            kind="product_view",
            session_id=f"s{i}",
            occurred_at=timezone.now(),
            sku=variant.sku,
        )
        for i in range(50)
    ]
    barrier = threading.Barrier(4)
    errors = []

    def send():
        try:
            barrier.wait()
            events_record(channel=channel, events=events)
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert BehaviourEvent.objects.count() == 50
