"""End to end through the real Redis broker and a real Celery worker process."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery.result import allow_join_result
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import Stock
from omni.celery import app as celery_app
from omni.sync.connectors.signing import sign
from omni.sync.models import EventStatus, InboundEvent, SyncRun
from omni.sync.tasks import feed_pull_task
from tests.catalog.factories import VariantFactory
from tests.omni.factories import ChannelFactory
from tests.sync.conftest import SECRET
from tests.sync.factories import ConnectorSettingsFactory, StockLocationFactory

ROOT = Path(__file__).resolve().parents[2]


def worker_database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.broker
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_feed_and_webhook_are_applied_by_a_real_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNI_TEST_SYNC_SECRET", SECRET)
    channel = ChannelFactory(code="market-e2e", kind="marketplace")
    ConnectorSettingsFactory(channel=channel, stock_location="wh-e2e")
    location = StockLocationFactory(code="wh-e2e")
    variant = VariantFactory(sku="E2E-1")
    as_of = timezone.now() - timedelta(minutes=2)
    feed = tmp_path / "stock.csv"
    feed.write_text(
        f"sku,quantity,as_of\nE2E-1,5,{as_of.isoformat()}\nNOPE,1,{as_of.isoformat()}\n"
    )

    celery_app.control.purge()  # nothing left over from earlier runs reaches this worker
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "OMNI_TEST_SYNC_SECRET": SECRET,
        "DB_CONN_MAX_AGE": "0",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "omni",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=sync-e2e-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        with allow_join_result():
            run_id = feed_pull_task.delay(channel.pk, ["stock"], str(feed)).get(timeout=90)
        run = SyncRun.objects.get(pk=run_id)
        assert (run.status, run.rows_applied, run.rows_rejected) == ("partial", 1, 1)
        assert Stock.objects.get(variant=variant, location=location).on_hand == 5

        body = json.dumps(
            {
                "id": "e2e-evt",
                "type": "stock.updated",
                "data": {
                    "as_of": (as_of + timedelta(minutes=1)).isoformat(),
                    "counts": [{"sku": "E2E-1", "quantity": 9}],
                },
            }
        ).encode()
        stamp = str(int(time.time()))
        response = APIClient().generic(
            "POST",
            "/api/v1/webhooks/market-e2e/",
            body,
            content_type="application/json",
            HTTP_X_OMNI_TIMESTAMP=stamp,
            HTTP_X_OMNI_SIGNATURE=sign(secret=SECRET, timestamp=stamp, body=body),
        )
        assert response.status_code == 202
        deadline = time.monotonic() + 90
        event = InboundEvent.objects.get(event_id="e2e-evt")
        while event.status == EventStatus.RECEIVED and time.monotonic() < deadline:
            time.sleep(0.3)
            event.refresh_from_db()
        assert event.status == EventStatus.APPLIED
        assert Stock.objects.get(variant=variant, location=location).on_hand == 9
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        connection.close()
