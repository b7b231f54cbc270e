"""Webhook connector: signed JSON in (orders, stock updates) and signed JSON pushes out."""

import json

import requests
from django.core.serializers.json import DjangoJSONEncoder

from omni.sync.connectors.base import Connector, PushResult, register
from omni.sync.connectors.signing import MESSAGE_ID_HEADER, signed_headers
from omni.sync.errors import PushFailed


@register
class WebhookConnector(Connector):
    """The channel POSTs events to `/api/v1/webhooks/<channel>/`; Omni POSTs availability,
    prices and order status to the channel's `push_url`, both signed with the channel's
    secret. Feed URLs, when configured, are pulled like a file feed."""

    kind = "webhook"
    label = "Webhook (signed JSON both ways)"
    pulls = frozenset({"orders", "stock", "prices"})
    pushes = frozenset({"availability", "prices", "order_status"})
    receives_webhooks = True

    def push(self, message) -> PushResult:
        url = self.settings.push_url
        secret = self.settings.signing_secret()
        if not url:
            raise PushFailed("The channel has no push URL.", code="no_push_url")
        if not secret:
            raise PushFailed("The channel's signing secret is not set.", code="no_signing_secret")
        body = json.dumps(
            {"id": message.pk, "type": message.kind, "data": message.payload},
            cls=DjangoJSONEncoder,
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            MESSAGE_ID_HEADER: str(message.pk),
            **signed_headers(secret=secret, body=body),
        }
        token = self.settings.credential()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = requests.post(
                url, data=body, headers=headers, timeout=self.settings.timeout_seconds
            )
        except requests.RequestException as exc:
            # The exception text can carry the URL with credentials in it; keep the class only.
            return PushResult(ok=False, status_code=None, error=exc.__class__.__name__)
        if 200 <= response.status_code < 300:
            return PushResult(ok=True, status_code=response.status_code)
        return PushResult(
            ok=False, status_code=response.status_code, error=f"HTTP {response.status_code}"
        )
