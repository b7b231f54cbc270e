"""HMAC-SHA256 signatures over "<timestamp>.<body>", the scheme of webhooks both ways."""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Omni-Signature"
TIMESTAMP_HEADER = "X-Omni-Timestamp"
EVENT_ID_HEADER = "X-Omni-Event-Id"
MESSAGE_ID_HEADER = "X-Omni-Message-Id"
SCHEME = "sha256="
# Deliveries signed longer ago than this are refused: a captured request cannot be replayed.
MAX_AGE_SECONDS = 300


def sign(*, secret: str, timestamp: int | str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def signed_headers(*, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = str(int(now if now is not None else time.time()))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(secret=secret, timestamp=timestamp, body=body),
    }


def verify(
    *, secret: str, timestamp: str, signature: str, body: bytes, now: float | None = None
) -> str:
    """Return "" when the signature is good and fresh, else the refusal code."""
    if not timestamp or not timestamp.strip().isdigit():
        return "timestamp_missing"
    age = (now if now is not None else time.time()) - int(timestamp)
    if age > MAX_AGE_SECONDS:
        return "timestamp_expired"
    if age < -MAX_AGE_SECONDS:
        return "timestamp_in_future"
    if not signature:
        return "signature_missing"
    expected = sign(secret=secret, timestamp=timestamp.strip(), body=body)
    # Constant-time comparison: timing must not reveal how much of a forged signature matched.
    if not hmac.compare_digest(expected, signature.strip()):
        return "bad_signature"
    return ""
