"""Staff API of channel sync: runs with their rejections, status and lag, connector settings
with credentials masked, dead letters and their replay."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from rest_framework.test import APIClient

from omni.sync.models import MessageStatus, OutboundMessage, RunStatus, SyncRejection, SyncRun
from tests.sync.conftest import SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(market):
    run = SyncRun.objects.create(
        channel=market,
        kind="stock",
        direction="pull",
        status=RunStatus.PARTIAL,
        rows_read=3,
        rows_applied=2,
        rows_rejected=1,
        finished_at=timezone.now() - timedelta(minutes=5),
    )
    SyncRejection.objects.create(run=run, line=3, raw="X,1", code="unknown_sku", reason="Unknown")
    return run


def test_staff_lists_runs_filtered_by_channel_and_reads_rejections(admin_client_api, run):
    listed = admin_client_api.get("/api/v1/sync/runs/", {"channel": "market", "status": "partial"})
    detail = admin_client_api.get(f"/api/v1/sync/runs/{run.pk}/")

    assert listed.status_code == 200
    assert [r["id"] for r in listed.json()["results"]] == [run.pk]
    assert detail.json()["rejections"] == [
        {"line": 3, "raw": "X,1", "code": "unknown_sku", "reason": "Unknown"}
    ]
    assert admin_client_api.get("/api/v1/sync/runs/", {"channel": "web"}).json()["results"] == []


def test_runs_need_staff_with_permission(api_client, staff_user, run, key_client, market):
    assert api_client.get("/api/v1/sync/runs/").status_code in (401, 403)
    assert key_client(market).get("/api/v1/sync/runs/").status_code == 403
    client = APIClient()
    client.force_authenticate(staff_user)
    assert client.get("/api/v1/sync/runs/").status_code == 403
    staff_user.user_permissions.add(Permission.objects.get(codename="view_syncrun"))
    staff_user = type(staff_user).objects.get(pk=staff_user.pk)
    client.force_authenticate(staff_user)
    assert client.get("/api/v1/sync/runs/").status_code == 200


def test_status_shows_last_success_and_lag_per_channel(admin_client_api, run, connector):
    body = admin_client_api.get("/api/v1/sync/status/").json()

    assert len(body) == 1
    assert body[0]["channel_code"] == "market"
    assert 290 <= body[0]["lag_seconds"] <= 400
    assert body[0]["last_success_at"] is not None


def test_connector_settings_never_show_credentials(admin_client_api, connector):
    response = admin_client_api.get("/api/v1/sync/connectors/")

    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["signing_secret_env"] == "OMNI_TEST_SYNC_SECRET"
    assert row["signing_secret_set"] is True
    assert SECRET not in response.content.decode()


def test_dead_letter_replayed_through_the_api(admin_client_api, market, connector):
    message = OutboundMessage.objects.create(
        channel=market,
        kind="availability",
        payload={"items": []},
        status=MessageStatus.DEAD,
        attempts=3,
        next_attempt_at=timezone.now(),
    )
    listed = admin_client_api.get("/api/v1/sync/messages/", {"status": "dead"})
    assert [m["id"] for m in listed.json()["results"]] == [message.pk]

    response = admin_client_api.post(f"/api/v1/sync/messages/{message.pk}/replay/")
    again = admin_client_api.post(f"/api/v1/sync/messages/{message.pk}/replay/")

    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.replayed_count, message.attempts) == (1, 0)
    assert message.status == MessageStatus.PENDING
    assert again.status_code == 409
    assert again.json()["code"] == "not_dead"
