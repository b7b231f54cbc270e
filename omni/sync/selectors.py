"""Read queries of channel sync shared by the API, the admin and the dashboard."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from omni.models import Channel
from omni.sync.connectors import connector_for
from omni.sync.models import ConnectorSettings, Direction, RunStatus, SyncRun


def channels_pulling(*, kind: str) -> list[int]:
    """Ids of active channels whose connector pulls `kind` from a configured source."""
    ids = []
    for settings in ConnectorSettings.objects.filter(active=True, channel__active=True):
        if (
            kind in settings.pull_kinds
            and kind in connector_for(settings).pulls
            and getattr(settings, f"{kind}_source", "")
        ):
            ids.append(settings.channel_id)
    return sorted(ids)


def channels_with_view() -> list[int]:
    return sorted(
        ConnectorSettings.objects.filter(active=True, channel__active=True)
        .exclude(view_source="")
        .values_list("channel_id", flat=True)
    )


def run_queryset() -> QuerySet[SyncRun]:
    return SyncRun.objects.select_related("channel")


@dataclass(frozen=True)
class ChannelSyncStatus:
    channel_id: int
    channel_code: str
    kind: str
    last_success_at: datetime | None
    lag_seconds: int | None
    running: int
    last_failed_at: datetime | None


def channel_sync_status(*, now: datetime | None = None) -> list[ChannelSyncStatus]:
    """Per channel with a connector: when it last synced successfully and how long ago (the
    lag the dashboard shows). One query."""
    now = now or timezone.now()
    ok = SyncRun.objects.filter(
        channel=OuterRef("pk"), status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL]
    ).exclude(direction=Direction.RECONCILE)
    channels = (
        Channel.objects.filter(connector_settings__isnull=False)
        .select_related("connector_settings")
        .annotate(
            last_success=Subquery(ok.order_by("-finished_at").values("finished_at")[:1]),
            last_failed=Subquery(
                SyncRun.objects.filter(channel=OuterRef("pk"), status=RunStatus.FAILED)
                .order_by("-finished_at")
                .values("finished_at")[:1]
            ),
            running=Count(
                "sync_runs",
                filter=Q(
                    sync_runs__status=RunStatus.RUNNING,
                    sync_runs__started_at__gte=now - timedelta(days=1),
                ),
            ),
        )
        .order_by("code")
    )
    return [
        ChannelSyncStatus(
            channel_id=c.pk,
            channel_code=c.code,
            kind=c.connector_settings.kind,
            last_success_at=c.last_success,
            lag_seconds=int((now - c.last_success).total_seconds()) if c.last_success else None,
            running=c.running,
            last_failed_at=c.last_failed,
        )
        for c in channels
    ]
