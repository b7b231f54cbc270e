"""Domain errors of channel sync, each with a stable code."""

from rest_framework import status

from omni.errors import DomainError


class SyncError(DomainError):
    code = "sync_error"
    status_code = status.HTTP_409_CONFLICT


class ConnectorError(SyncError):
    code = "connector_error"
    status_code = status.HTTP_400_BAD_REQUEST


class FeedUnavailable(SyncError):
    code = "feed_unavailable"
    status_code = status.HTTP_502_BAD_GATEWAY


class PushFailed(SyncError):
    code = "push_failed"
    status_code = status.HTTP_502_BAD_GATEWAY


class WebhookRefused(SyncError):
    """A webhook request that is not accepted; `status_code` says why (401, 413, 415...)."""

    code = "webhook_refused"
    status_code = status.HTTP_400_BAD_REQUEST


class RowRejected(SyncError):
    """One feed row refused; the rest of the feed goes on."""

    code = "row_rejected"
    status_code = status.HTTP_400_BAD_REQUEST
