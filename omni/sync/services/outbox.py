"""Outbound messages: enqueue with the change that caused them, deliver signed, retry with
exponential backoff and jitter, dead-letter after the last attempt, replay on demand."""

import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from omni.models import Channel
from omni.sync.connectors import connector_for
from omni.sync.errors import SyncError
from omni.sync.models import ConnectorSettings, MessageStatus, OutboundMessage

logger = logging.getLogger(__name__)


def lease() -> timedelta:
    """A worker that claimed a message and died holds it this long; then any worker may send
    it (settings.OMNI_SYNC_SEND_LEASE_SECONDS, 2 minutes unless set)."""
    return timedelta(seconds=getattr(django_settings, "OMNI_SYNC_SEND_LEASE_SECONDS", 120))


MAX_DELAY_SECONDS = 6 * 3600


def backoff_delay(*, attempts: int, base_seconds: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failure: base * 2^(attempts-1), capped, with
    "equal jitter" (half fixed, half random) so retries of many messages do not stampede."""
    ceiling = min(MAX_DELAY_SECONDS, base_seconds * 2 ** max(0, attempts - 1))
    return ceiling / 2 + (rng or random).uniform(0, ceiling / 2)


def _kick(message_id: int, countdown: float | None = None) -> None:
    from omni.sync.tasks import outbound_send_task

    if countdown:
        outbound_send_task.apply_async(args=[message_id], countdown=countdown)
    else:
        outbound_send_task.delay(message_id)


def message_enqueue(
    *,
    channel: Channel,
    kind: str,
    payload: dict,
    dedup_key: str | None = None,
    settings: ConnectorSettings | None = None,
) -> OutboundMessage | None:
    """Queue a push to `channel`, to be sent after the caller's transaction commits. With a
    `dedup_key` already queued for the channel nothing is added (returns None)."""
    settings = settings or ConnectorSettings.objects.filter(channel=channel).first()
    max_attempts = settings.max_attempts if settings else 8
    message = OutboundMessage(
        channel=channel,
        kind=kind,
        payload=payload,
        dedup_key=dedup_key,
        max_attempts=max_attempts,
        next_attempt_at=timezone.now(),
    )
    with transaction.atomic():
        try:
            # A savepoint: a duplicate key must not break the caller's transaction.
            with transaction.atomic():
                message.save()
        except IntegrityError:
            return None
        message_id = message.pk
        transaction.on_commit(lambda: _kick(message_id))
    return message


def _claim(message_id: int, now: datetime) -> bool:
    """Take the send of a message: one conditional UPDATE, so two workers (a redelivered task,
    the sweeper) never send it at the same time."""
    due = Q(status=MessageStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, lease_until__lt=now
    )
    return bool(
        OutboundMessage.objects.filter(due, pk=message_id).update(
            status=MessageStatus.SENDING, lease_until=now + lease()
        )
    )


def message_send(*, message_id: int, now: datetime | None = None, rng=None) -> OutboundMessage:
    """Deliver one message if it is due: claim it, call the connector (no transaction is held
    during the network call), then record success, a retry at the backoff time, or the dead
    letter after `max_attempts`. A message not due (sent, dead, leased, later) is left alone."""
    now = now or timezone.now()
    if not _claim(message_id, now):
        return OutboundMessage.objects.get(pk=message_id)
    message = OutboundMessage.objects.select_related("channel").get(pk=message_id)
    settings = ConnectorSettings.objects.filter(channel_id=message.channel_id).first()
    try:
        if settings is None or not settings.active:
            raise SyncError("The channel has no active connector.", code="no_connector")
        result = connector_for(settings).push(message)
        ok, status_code, error = result.ok, result.status_code, result.error
    except SyncError as exc:
        ok, status_code, error = False, None, exc.message
    attempts = message.attempts + 1
    finished = timezone.now()
    with transaction.atomic():
        if ok:
            OutboundMessage.objects.filter(pk=message_id).update(
                status=MessageStatus.SENT,
                attempts=attempts,
                sent_at=finished,
                lease_until=None,
                last_status_code=status_code,
                last_error="",
            )
        elif attempts >= message.max_attempts:
            OutboundMessage.objects.filter(pk=message_id).update(
                status=MessageStatus.DEAD,
                attempts=attempts,
                dead_at=finished,
                lease_until=None,
                last_status_code=status_code,
                last_error=error[:2000],
            )
            logger.warning("outbound message %s dead-lettered: %s", message_id, error)
        else:
            delay = backoff_delay(
                attempts=attempts,
                base_seconds=settings.backoff_seconds if settings else 30,
                rng=rng,
            )
            OutboundMessage.objects.filter(pk=message_id).update(
                status=MessageStatus.PENDING,
                attempts=attempts,
                next_attempt_at=max(now, finished) + timedelta(seconds=delay),
                lease_until=None,
                last_status_code=status_code,
                last_error=error[:2000],
            )
            transaction.on_commit(lambda: _kick(message_id, countdown=delay))
    message.refresh_from_db()
    return message


def messages_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    now = now or timezone.now()
    due = Q(status=MessageStatus.PENDING, next_attempt_at__lte=now) | Q(
        status=MessageStatus.SENDING, lease_until__lt=now
    )
    return list(
        OutboundMessage.objects.filter(due)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def messages_replay(*, message_ids: Sequence[int]) -> int:
    """Give dead letters a fresh set of attempts, due now. Only dead messages move."""
    count = OutboundMessage.objects.filter(pk__in=message_ids, status=MessageStatus.DEAD).update(
        status=MessageStatus.PENDING,
        attempts=0,
        next_attempt_at=timezone.now(),
        dead_at=None,
        replayed_count=F("replayed_count") + 1,
    )
    ids = list(message_ids)
    transaction.on_commit(lambda: [_kick(pk) for pk in ids])
    return count
