"""Admin pages (credentials masked, runs with rejections, dead-letter replay) and the
management commands."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from inventory.models import Stock
from omni.sync.models import MessageStatus, OutboundMessage, SyncRejection, SyncRun
from tests.sync.conftest import SECRET

pytestmark = pytest.mark.django_db


def test_connector_admin_masks_the_secret(admin_client, connector):
    url = reverse("admin:sync_connectorsettings_change", args=[connector.pk])

    page = admin_client.get(url).content.decode()

    assert "OMNI_TEST_SYNC_SECRET" in page
    assert "set (••••••)" in page
    assert SECRET not in page


def test_connector_changelist_shows_last_successful_sync_and_lag(admin_client, connector):
    from datetime import timedelta as td

    SyncRun.objects.create(
        channel=connector.channel,
        kind="stock",
        direction="pull",
        status="succeeded",
        finished_at=timezone.now() - td(hours=2),
    )

    page = admin_client.get(reverse("admin:sync_connectorsettings_changelist")).content.decode()

    assert "2\xa0hours" in page or "2 hours" in page


def test_connector_admin_refuses_kinds_the_connector_cannot_do(admin_client, market, secret):
    url = reverse("admin:sync_connectorsettings_add")

    response = admin_client.post(
        url,
        {
            "channel": market.pk,
            "kind": "file_feed",
            "active": "on",
            "push_kinds": ["availability"],
            "coalesce_seconds": 30,
            "max_attempts": 5,
            "backoff_seconds": 30,
            "timeout_seconds": 10,
        },
    )

    assert response.status_code == 200
    assert "cannot do: availability" in response.content.decode()


def test_run_admin_shows_rejections_inline(admin_client, market):
    run = SyncRun.objects.create(channel=market, kind="stock", direction="pull")
    SyncRejection.objects.create(run=run, line=7, raw="bad", code="malformed_row", reason="oops")

    page = admin_client.get(reverse("admin:sync_syncrun_change", args=[run.pk])).content.decode()

    assert "malformed_row" in page and "oops" in page


def test_admin_replay_action_requeues_only_dead_letters(admin_client, market, connector):
    now = timezone.now()
    dead = OutboundMessage.objects.create(
        channel=market, kind="availability", payload={}, status="dead", next_attempt_at=now
    )
    sent = OutboundMessage.objects.create(
        channel=market, kind="availability", payload={}, status="sent", next_attempt_at=now
    )

    url = reverse("admin:sync_outboundmessage_changelist")
    payload = {"action": "replay_dead_letters", "_selected_action": [dead.pk, sent.pk]}
    confirm = admin_client.post(url, payload)  # a confirmation page first; nothing moves
    assert "Replay these dead letters" in confirm.content.decode()
    dead.refresh_from_db()
    assert dead.status == MessageStatus.DEAD
    admin_client.post(url, {**payload, "confirm_action": "yes"})

    dead.refresh_from_db()
    sent.refresh_from_db()
    assert dead.status != MessageStatus.DEAD and dead.replayed_count == 1
    assert sent.status == MessageStatus.SENT and sent.replayed_count == 0


def test_sync_channel_command_pulls_a_file_and_reports(
    tmp_path, market, connector, warehouse, skus
):
    as_of = (timezone.now() - timedelta(minutes=1)).isoformat()
    path = tmp_path / "stock.csv"
    path.write_text("sku,quantity\nA-1,4\nNOPE,1\n")
    out = StringIO()

    call_command(
        "sync_channel",
        "market",
        "--pull",
        "stock",
        "--file",
        str(path),
        "--as-of",
        as_of,
        "--no-progress",
        stdout=out,
    )

    text = out.getvalue()
    assert "applied 1" in text and "rejected 1" in text
    assert "line 3: unknown_sku" in text
    assert Stock.objects.get(variant=skus["A-1"]).on_hand == 4


def test_sync_channel_command_names_bad_arguments(market, connector):
    with pytest.raises(CommandError, match="Unknown channel"):
        call_command("sync_channel", "nope", "--pull", "stock")
    with pytest.raises(CommandError, match="UTC offset"):
        call_command("sync_channel", "market", "--pull", "stock", "--as-of", "2024-01-01T00:00")


def test_setup_sync_schedules_command_runs_twice(db):
    first, second = StringIO(), StringIO()
    call_command("setup_sync_schedules", stdout=first)
    call_command("setup_sync_schedules", stdout=second)
    assert "created: sync: pull orders" in first.getvalue()
    assert "created" not in second.getvalue()
