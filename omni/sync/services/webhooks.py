"""Inbound webhooks: verify, deduplicate by event id, then apply as a recorded run."""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import status

from omni.models import Channel
from omni.sync.connectors import connector_for
from omni.sync.connectors.base import FeedRow
from omni.sync.connectors.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from omni.sync.errors import RowRejected, WebhookRefused
from omni.sync.models import ConnectorSettings, EventStatus, InboundEvent
from omni.sync.services.feeds import _as_of, feed_apply_rows

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024
EVENT_KINDS = {"order.created": "orders", "stock.updated": "stock"}


@dataclass(frozen=True)
class Received:
    event: InboundEvent
    duplicate: bool


def _refuse(message: str, code: str, http_status: int, field: str | None = None):
    return WebhookRefused(message, code=code, status_code=http_status, field=field)


def webhook_settings(*, channel_code: str) -> ConnectorSettings:
    settings = (
        ConnectorSettings.objects.select_related("channel")
        .filter(channel__code=channel_code, channel__active=True, active=True)
        .first()
    )
    if settings is None or not connector_for(settings).receives_webhooks:
        raise _refuse(
            f"No webhook connector for channel {channel_code!r}.",
            "unknown_channel",
            status.HTTP_404_NOT_FOUND,
        )
    return settings


def webhook_receive(
    *,
    channel_code: str,
    content_type: str,
    content_length: int | None,
    read_body,
    headers: Mapping[str, str],
    now: float | None = None,
) -> Received:
    """Accept one webhook delivery: JSON only, at most MAX_BODY_BYTES, HMAC-SHA256 of
    "<timestamp>.<body>" with the channel's secret, timestamp within 5 minutes. A verified
    event is stored once per (channel, event id) and applied after commit; a redelivery of
    the same id is answered as a duplicate and changes nothing. `read_body` is called only
    once size and type have passed, so an oversized body is never read."""
    settings = webhook_settings(channel_code=channel_code)
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise _refuse(
            "Webhooks are JSON: send Content-Type: application/json.",
            "unsupported_media_type",
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
        )
    if content_length is not None and content_length > MAX_BODY_BYTES:
        raise _refuse(
            f"The body exceeds {MAX_BODY_BYTES} bytes.",
            "payload_too_large",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    body: bytes = read_body()
    if len(body) > MAX_BODY_BYTES:
        raise _refuse(
            f"The body exceeds {MAX_BODY_BYTES} bytes.",
            "payload_too_large",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    secret = settings.signing_secret()
    if not secret:
        # Never accept unsigned data because a secret is missing from the environment.
        raise _refuse(
            "The channel's webhook secret is not configured.",
            "webhook_not_configured",
            status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    refusal = verify(
        secret=secret,
        timestamp=headers.get(TIMESTAMP_HEADER, ""),
        signature=headers.get(SIGNATURE_HEADER, ""),
        body=body,
        now=now,
    )
    if refusal:
        logger.warning("webhook for %s refused: %s", channel_code, refusal)
        field = TIMESTAMP_HEADER if refusal.startswith("timestamp") else SIGNATURE_HEADER
        raise _refuse(
            "The webhook signature or timestamp is not valid.",
            refusal,
            status.HTTP_401_UNAUTHORIZED,
            field=field,
        )
    try:
        payload = json.loads(body)
    except ValueError:
        raise _refuse("The body is not valid JSON.", "malformed_json", 400) from None
    if not isinstance(payload, dict):
        raise _refuse("The body must be a JSON object.", "malformed_json", 400)
    event_id = str(payload.get("id") or headers.get(EVENT_ID_HEADER) or "").strip()
    if not event_id or len(event_id) > 200:
        raise _refuse("An event id (1-200 characters) is required.", "required", 400, "id")
    kind = payload.get("type")
    if kind not in EVENT_KINDS:
        raise _refuse(
            f"type must be one of {', '.join(sorted(EVENT_KINDS))}.", "invalid_type", 400, "type"
        )
    if not isinstance(payload.get("data"), dict):
        raise _refuse("data must be an object.", "required", 400, "data")
    return _store(channel=settings.channel, event_id=event_id, kind=kind, payload=payload)


def _kick_process(event_pk: int) -> None:
    from omni.sync.tasks import inbound_event_process_task

    inbound_event_process_task.delay(event_pk)


@transaction.atomic(durable=True)
def _store(*, channel: Channel, event_id: str, kind: str, payload: dict) -> Received:
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                channel=channel, event_id=event_id, type=kind, payload=payload
            )
    except IntegrityError:
        existing = InboundEvent.objects.get(channel=channel, event_id=event_id)
        return Received(existing, duplicate=True)
    transaction.on_commit(lambda: _kick_process(event.pk))
    return Received(event, duplicate=False)


def _event_rows(event: InboundEvent) -> tuple[list[FeedRow], dict]:
    data = event.payload["data"]
    if event.type == "order.created":
        return [FeedRow(1, json.dumps(data)[:2000], data)], {}
    counts = data.get("counts")
    if not isinstance(counts, list):
        return [FeedRow(1, json.dumps(data)[:2000], None, "data.counts must be a list")], {}
    options = {}
    try:
        options["as_of"] = _as_of(data, None) if data.get("as_of") else None
    except RowRejected as exc:
        return [FeedRow(1, str(data.get("as_of")), None, exc.message)], {}
    rows = []
    for index, item in enumerate(counts, start=1):
        if isinstance(item, dict):
            merged = {"location": data.get("location", ""), **item}
            rows.append(FeedRow(index, json.dumps(item)[:2000], merged))
        else:
            rows.append(FeedRow(index, json.dumps(item)[:2000], None, "each count is an object"))
    return rows, options


def inbound_event_process(*, event_pk: int) -> InboundEvent:
    """Apply a stored event once. The event's run is keyed by the event, so a redelivered task
    resumes it rather than applying it again; orders are keyed by external id besides."""
    event = InboundEvent.objects.select_related("channel").get(pk=event_pk)
    if event.status != EventStatus.RECEIVED:
        return event
    rows, options = _event_rows(event)
    run = feed_apply_rows(
        channel=event.channel,
        kinds=[EVENT_KINDS[event.type]],
        rows=lambda: rows,
        source=f"webhook event {event.event_id}",
        run_key=f"event:{event.pk}",
        as_of=options.get("as_of"),
    )
    InboundEvent.objects.filter(pk=event.pk, status=EventStatus.RECEIVED).update(
        status=EventStatus.REJECTED if run.rows_rejected else EventStatus.APPLIED,
        processed_at=timezone.now(),
        result={
            "run": run.pk,
            "applied": run.rows_applied,
            "unchanged": run.rows_unchanged,
            "rejected": run.rows_rejected,
        },
    )
    event.refresh_from_db()
    return event
