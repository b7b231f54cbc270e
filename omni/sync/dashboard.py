"""Channel sync's panels on the staff dashboard: failed runs of the last day and the dead
letters waiting for a replay, each with links into the admin."""

from datetime import timedelta

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from omni.dashboard import Panel, PanelRow, register_panel
from omni.sync.models import MessageStatus, OutboundMessage, RunStatus, SyncRun

FAILED_ROWS = 6


def failed_syncs_panel(request) -> Panel | None:
    if not request.user.has_perm("sync.view_syncrun"):
        return None
    since = timezone.now() - timedelta(days=1)
    failed = SyncRun.objects.filter(status=RunStatus.FAILED, started_at__gte=since)
    runs = list(failed.select_related("channel").order_by("-started_at", "-id")[:FAILED_ROWS])
    total = failed.count() if len(runs) == FAILED_ROWS else len(runs)
    return Panel(
        key="failed_syncs",
        title="Failed syncs (24 h)",
        url=reverse("admin:sync_syncrun_changelist") + f"?status__exact={RunStatus.FAILED}",
        empty="No failed sync in the last day.",
        total=total,
        alert=bool(total),
        rows=[
            PanelRow(
                label=f"{run.channel.code} {run.direction} {run.kind}",
                value=timezone.localtime(run.started_at).strftime("%H:%M"),
                note=(run.error or "")[:80],
                url=reverse("admin:sync_syncrun_change", args=[run.pk]),
            )
            for run in runs
        ],
    )


def dead_letters_panel(request) -> Panel | None:
    if not request.user.has_perm("sync.view_outboundmessage"):
        return None
    per_channel = list(
        OutboundMessage.objects.filter(status=MessageStatus.DEAD)
        .values("channel_id", "channel__code")
        .annotate(n=Count("pk"))
        .order_by("channel__code")
    )
    changelist = reverse("admin:sync_outboundmessage_changelist")
    total = sum(row["n"] for row in per_channel)
    return Panel(
        key="dead_letters",
        title="Dead letters",
        url=f"{changelist}?status__exact={MessageStatus.DEAD}",
        link_text="Review and replay",
        empty="No dead letter.",
        total=total,
        alert=bool(total),
        rows=[
            PanelRow(
                label=row["channel__code"],
                value=row["n"],
                url=f"{changelist}?status__exact={MessageStatus.DEAD}"
                f"&channel__id__exact={row['channel_id']}",
            )
            for row in per_channel
        ],
    )


def register() -> None:
    register_panel("failed_syncs", failed_syncs_panel, order=50)
    register_panel("dead_letters", dead_letters_panel, order=55)
