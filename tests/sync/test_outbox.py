"""Outbound pushes: signed, retried with backoff and jitter, dead-lettered, replayed."""

import json
import random
from datetime import timedelta

import pytest
from django.utils import timezone

from omni.sync.connectors.signing import verify
from omni.sync.models import MessageStatus, OutboundMessage
from omni.sync.services.outbox import (
    backoff_delay,
    message_enqueue,
    message_send,
    messages_due,
    messages_replay,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pushing(connector, receiver):
    connector.push_url = f"{receiver.url}/push"
    connector.save(update_fields=["push_url"])
    return connector


def enqueue(channel, **kwargs):
    return message_enqueue(
        channel=channel,
        kind="availability",
        payload={"items": [{"sku": "A-1", "available": 4}]},
        **kwargs,
    )


def test_push_is_signed_json_the_receiver_can_verify(market, pushing, receiver, secret):
    message = enqueue(market)

    sent = message_send(message_id=message.pk)

    assert sent.status == MessageStatus.SENT
    request = receiver.requests[0]
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Omni-Message-Id"] == str(message.pk)
    assert (
        verify(
            secret=secret,
            timestamp=headers["X-Omni-Timestamp"],
            signature=headers["X-Omni-Signature"],
            body=request["body"],
        )
        == ""
    )
    assert json.loads(request["body"])["data"]["items"] == [{"sku": "A-1", "available": 4}]


def test_push_retried_then_dead_lettered_then_replayed(market, pushing, receiver):
    receiver.statuses = [500, 503, 502]  # max_attempts is 3 in the factory
    message = enqueue(market)
    now = timezone.now()

    first = message_send(message_id=message.pk, now=now)
    assert (first.status, first.attempts, first.last_status_code) == ("pending", 1, 500)
    delay = (first.next_attempt_at - now).total_seconds()
    assert 5 <= delay <= 10.5  # base 10 s, equal jitter: between half and all of it

    early = message_send(message_id=message.pk, now=now + timedelta(seconds=1))
    assert early.attempts == 1 and len(receiver.requests) == 1  # not due: not sent

    second = message_send(message_id=message.pk, now=first.next_attempt_at)
    assert (second.status, second.attempts) == ("pending", 2)
    assert (second.next_attempt_at - first.next_attempt_at).total_seconds() >= 10

    third = message_send(message_id=message.pk, now=second.next_attempt_at)
    assert (third.status, third.attempts, third.last_error) == ("dead", 3, "HTTP 502")
    assert third.dead_at is not None
    assert message_send(message_id=message.pk, now=now + timedelta(days=1)).status == "dead"
    assert len(receiver.requests) == 3

    assert messages_replay(message_ids=[message.pk]) == 1
    replayed = message_send(message_id=message.pk)

    assert (replayed.status, replayed.attempts, replayed.replayed_count) == ("sent", 1, 1)
    assert len(receiver.requests) == 4
    bodies = {r["body"] for r in receiver.requests}
    assert len({json.loads(b)["id"] for b in bodies}) == 1  # same message id for dedup


def test_unreachable_endpoint_counts_as_a_failed_attempt(market, connector):
    connector.push_url = "http://127.0.0.1:9/push"  # discard port: connection refused
    connector.save(update_fields=["push_url"])
    message = enqueue(market)

    result = message_send(message_id=message.pk)

    assert (result.status, result.attempts) == ("pending", 1)
    assert result.last_error == "ConnectionError"


def test_backoff_grows_exponentially_with_bounded_jitter():
    rng = random.Random(7)
    delays = [backoff_delay(attempts=n, base_seconds=10, rng=rng) for n in range(1, 6)]
    for n, delay in enumerate(delays, start=1):
        ceiling = 10 * 2 ** (n - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff_delay(attempts=40, base_seconds=10, rng=rng) <= 6 * 3600


def test_a_claimed_message_is_not_sent_twice_and_an_expired_lease_is_reclaimed(
    market, pushing, receiver
):
    message = enqueue(market)
    now = timezone.now()
    OutboundMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.SENDING, lease_until=now + timedelta(minutes=1)
    )

    assert message_send(message_id=message.pk, now=now).status == "sending"
    assert receiver.requests == []
    assert messages_due(now=now) == []
    assert messages_due(now=now + timedelta(minutes=2)) == [message.pk]

    assert message_send(message_id=message.pk, now=now + timedelta(minutes=2)).status == "sent"


def test_same_dedup_key_is_queued_once(market, pushing):
    assert enqueue(market, dedup_key="k1") is not None
    assert enqueue(market, dedup_key="k1") is None
    assert OutboundMessage.objects.count() == 1


def test_channel_without_connector_dead_letters_after_its_attempts(market, db):
    message = enqueue(market)
    now = timezone.now()
    for day in range(1, 9):
        message = message_send(message_id=message.pk, now=now + timedelta(days=day))
    assert message.status == "dead"
    assert "no active connector" in message.last_error
