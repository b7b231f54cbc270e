"""Fixtures of the channel sync tests: a channel with a webhook connector and a secret, a
warehouse, SKUs, a local HTTP server, and a controllable availability provider."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from catalog import availability as availability_port
from tests.catalog.factories import VariantFactory
from tests.omni.factories import ChannelFactory
from tests.sync.factories import ConnectorSettingsFactory, StockLocationFactory

SECRET = "test-signing-secret-0123456789"


@pytest.fixture
def secret(monkeypatch) -> str:
    monkeypatch.setenv("OMNI_TEST_SYNC_SECRET", SECRET)
    return SECRET


@pytest.fixture
def market(db):
    return ChannelFactory(code="market", kind="marketplace", currency="USD")


@pytest.fixture
def connector(market, secret):
    return ConnectorSettingsFactory(channel=market, stock_location="wh")


@pytest.fixture
def warehouse(db):
    return StockLocationFactory(code="wh", name="Warehouse")


@pytest.fixture
def skus(db) -> dict[str, object]:
    return {sku: VariantFactory(sku=sku) for sku in ("A-1", "B-2", "C-3")}


class FakeAvailability:
    """Available-to-sell the test sets by hand, per (channel id, variant id)."""

    def __init__(self):
        self.values: dict[tuple[int, int], int] = {}

    def available_to_sell(self, *, channel, variant_ids):
        return {v: self.values.get((channel.pk, v), 0) for v in variant_ids}

    def in_stock_variants_q(self, *, channel):
        from django.db.models import Q

        return Q(pk__in=[v for (c, v), n in self.values.items() if c == channel.pk and n > 0])


@pytest.fixture
def fake_availability() -> Iterator[FakeAvailability]:
    previous = availability_port.availability_provider()
    fake = FakeAvailability()
    availability_port.register_availability_provider(fake)
    yield fake
    availability_port.register_availability_provider(previous)


class Receiver:
    """A local HTTP endpoint: answers the queued status codes in turn (then 200), records
    every request it gets."""

    def __init__(self):
        self.statuses: list[int] = []
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.body_to_serve = b""

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.end_headers()
            self.wfile.write(state.body_to_serve)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(
                    {"headers": dict(self.headers.items()), "body": body, "path": self.path}
                )
                code = state.statuses.pop(0) if state.statuses else 200
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"ok": code < 300}).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
