"""A Celery worker killed with SIGKILL in the middle of an outbound stock push (webhook
connector pushing available-to-sell to a local HTTP receiver), then restarted: every message
is delivered (at least once, each carrying its id in `X-Omni-Message-Id` so the receiver can
drop repeats), the receiver ends with Omni's available-to-sell for every SKU, and nothing is
left pending, leased or dead."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog.availability import availability_provider
from omni.sync.connectors.signing import MESSAGE_ID_HEADER, sign
from omni.sync.models import MessageStatus, OutboundMessage, SyncRun
from omni.sync.services.availability import ITEMS_PER_MESSAGE
from tests.faults.conftest import (
    Processes,
    send_task,
    service_env,
    start_worker,
    stocked_channel,
    wait_for,
)

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SECRET = "fault-push-secret-0123456789"
SKUS = 3 * ITEMS_PER_MESSAGE  # three messages: one killed in flight, two after it
LEASE_SECONDS = 2  # over a send's time (the receiver's pause), so a live send is never taken


class Receiver:
    """The channel's end: records every delivery, answers 200 after a pause (so a push is in
    flight long enough to kill the worker during it), keeps per SKU the value of the newest
    `as_of`, and applies a message id once."""

    def __init__(self, delay: float):
        self.delay = delay
        self.lock = threading.Lock()
        self.deliveries: list[str] = []
        self.applied: set[str] = set()
        self.values: dict[str, tuple[str, int]] = {}
        self.bad_signatures = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.receive(self.headers, body)
                time.sleep(receiver.delay)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # the sender died while waiting

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/push"

    def receive(self, headers, body: bytes) -> None:
        expected = sign(secret=SECRET, timestamp=headers["X-Omni-Timestamp"], body=body)
        message = json.loads(body)
        with self.lock:
            if headers["X-Omni-Signature"] != expected:
                self.bad_signatures += 1
                return
            message_id = headers[MESSAGE_ID_HEADER]
            assert message_id == str(message["id"])
            self.deliveries.append(message_id)
            if message_id in self.applied:
                return
            self.applied.add(message_id)
            as_of = message["data"]["as_of"]
            for item in message["data"]["items"]:
                current = self.values.get(item["sku"])
                if current is None or current[0] <= as_of:
                    self.values[item["sku"]] = (as_of, item["available"])


@pytest.fixture
def receiver():
    server = Receiver(delay=0.4)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_worker_killed_mid_push_delivers_every_latest_value(
    procs, private_redis, receiver, monkeypatch
):
    monkeypatch.setenv("OMNI_FAULT_PUSH_SECRET", SECRET)
    env = service_env(
        broker_url=private_redis.url,
        CELERY_VISIBILITY_TIMEOUT=3,
        SYNC_SEND_LEASE_SECONDS=LEASE_SECONDS,
        DB_CONN_MAX_AGE=0,
        OMNI_FAULT_PUSH_SECRET=SECRET,
    )
    worker = start_worker(procs, env, "push-a")  # boots while the data is written
    channel, variants = stocked_channel(
        "push-k",
        kind="marketplace",
        skus=SKUS,
        quantity=lambda n: 1 + n % 17,
        price="9.00",
        connector={
            "kind": "webhook",
            "push_url": receiver.url,
            "signing_secret_env": "OMNI_FAULT_PUSH_SECRET",
            "pull_kinds": [],
            "push_kinds": ["availability"],
            "max_attempts": 8,
            "backoff_seconds": 1,
            "timeout_seconds": 5,
        },
    )
    omni_values = availability_provider().available_to_sell(
        channel=channel, variant_ids=[v.pk for v in variants]
    )
    expected = {v.sku: omni_values[v.pk] for v in variants}
    assert len(set(expected.values())) > 1

    send_task(private_redis.url, "sync.availability_push_full", args=[channel.pk])

    # Killed while a push is on the wire (the receiver has it, the worker awaits the answer).
    wait_for(lambda: receiver.deliveries, timeout=90, what="the first push", every=0.02)
    Processes.kill(worker)
    assert OutboundMessage.objects.filter(channel=channel, status=MessageStatus.SENDING).exists()
    assert len(set(receiver.deliveries)) < SKUS // ITEMS_PER_MESSAGE

    start_worker(procs, env, "push-b")

    def all_sent() -> bool:
        messages = OutboundMessage.objects.filter(channel=channel)
        if messages.count() == SKUS // ITEMS_PER_MESSAGE and not messages.exclude(
            status=MessageStatus.SENT
        ):
            return True
        # What beat's "outbound retry sweep" does every minute: re-kick due messages, among
        # them the one whose sender died once its lease ran out.
        send_task(private_redis.url, "sync.outbound_dispatch_due")
        return False

    wait_for(all_sent, timeout=90, what="every message to be sent", every=0.4)
    run = SyncRun.objects.get(channel=channel, kind="availability")
    assert (run.status, run.rows_applied, run.finished_at is not None) == (
        "succeeded",
        SKUS,
        True,
    )
    assert receiver.bad_signatures == 0
    sent = OutboundMessage.objects.filter(channel=channel).values_list("pk", flat=True)
    assert receiver.applied == {str(pk) for pk in sent}
    assert {sku: value for sku, (_, value) in receiver.values.items()} == expected
    # At least once: the message in flight at the kill came again, under the same id.
    assert len(receiver.deliveries) > len(receiver.applied)
