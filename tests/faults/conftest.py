"""Fault-test machinery: private Redis servers, Celery workers and WSGI servers run as
subprocesses in their own process groups (killed with SIGKILL on purpose, and always killed
at teardown), a private PostgreSQL cluster, and polling helpers.

Nothing here touches the shared PostgreSQL or Redis servers beyond the pytest-django test
database: every broker is a private `redis-server` on a free port, so a killed broker or a
purged queue never disturbs another test or another engineer.
"""

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from django.db import connection

from catalog.models import Category, Listing, Product, Variant
from inventory.models import ChannelLocation, StockLocation
from inventory.services import StockLine, stock_receive
from omni.models import Channel
from omni.services import api_key_create
from omni.sync.models import ConnectorSettings
from tests.orders.conftest import ADDRESS

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], object], *, timeout: float, what: str, every=0.1):
    """Poll `predicate` until it returns something truthy; fail the test after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)


def test_database_url() -> str:
    """The pytest-django test database, for subprocesses (they must see committed data)."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test


class Processes:
    """Subprocesses started by one test, each the leader of its own process group."""

    def __init__(self, logdir: Path):
        self.logdir = logdir
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, command: list[str], env: dict | None = None) -> subprocess.Popen:
        log = open(self.logdir / f"{name}-{len(self.running)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log_path = log.name
        log.close()
        self.running.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        """Signal the whole process group (a prefork worker's children, gunicorn's workers)."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)

    def cleanup(self) -> None:
        for proc in reversed(self.running):
            self.kill(proc)
        self.running.clear()

    @staticmethod
    def log(proc: subprocess.Popen, tail: int = 4000) -> str:
        try:
            return Path(proc.log_path).read_text(errors="replace")[-tail:]
        except OSError:
            return ""


@pytest.fixture
def procs(tmp_path):
    registry = Processes(tmp_path)
    yield registry
    registry.cleanup()
    connection.close()


class PrivateRedis:
    """A throw-away redis-server (no persistence): start, kill, start again on the same port."""

    def __init__(self, procs: Processes):
        self.procs = procs
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = self.procs.start(
            "redis",
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
        )
        wait_for(self.ping, timeout=15, what="the private redis-server")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        self.procs.kill(self.proc)
        self.proc = None


@pytest.fixture
def private_redis(procs):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(procs)
    server.start()
    return server


def service_env(*, broker_url: str, database_url: str | None = None, **extra) -> dict:
    """Environment of a worker or server subprocess: the test database, a private broker."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url or test_database_url(),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CACHE_URL", None)
    env.update({key: str(value) for key, value in extra.items()})
    return env


def start_worker(procs: Processes, env: dict, name: str = "worker") -> subprocess.Popen:
    return procs.start(
        name,
        [
            *(sys.executable, "-m", "celery", "-A", "omni", "worker", "--pool=solo"),
            *("--concurrency=1", "--loglevel=WARNING", "--without-gossip"),
            *("--without-mingle", "--without-heartbeat", f"--hostname={name}-{os.getpid()}@%h"),
        ],
        env=env,
    )


class Gunicorn:
    """The project served by gunicorn on a free loopback port. Started without waiting, so a
    test can set up its data while the server boots, then `wait_ready()` before using it."""

    def __init__(self, procs: Processes, env: dict, *, workers: int, threads: int, extra=()):
        self.procs = procs
        self.base = f"http://127.0.0.1:{free_port()}"
        self.proc = procs.start(
            "gunicorn",
            [
                *(sys.executable, "-m", "gunicorn", "omni.wsgi:application"),
                *("--bind", self.base.removeprefix("http://")),
                *("--workers", str(workers), "--threads", str(threads), *extra),
            ],
            env=env,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _healthy(self) -> bool:
        assert self.alive(), self.procs.log(self.proc)
        try:
            return requests.get(f"{self.base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    def wait_ready(self, timeout: float = 60) -> None:
        """Until /healthz answers 200: the server is up and reaches its database and broker."""
        wait_for(self._healthy, timeout=timeout, what="the gunicorn server", every=0.05)


def send_task(broker_url: str, name: str, args=(), kwargs=None) -> str:
    """Publish a task to a private broker (the test process's own app points elsewhere)."""
    from omni.celery import app

    with app.connection_for_write(broker_url) as conn:
        # Declared here too: on Redis a message routed to a queue nobody declared yet is lost.
        app.amqp.queues[app.conf.task_default_queue](conn.default_channel).declare()
        result = app.send_task(
            name, args=list(args), kwargs=kwargs or {}, connection=conn, ignore_result=True
        )
    return result.id


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class PrivatePostgres:
    """A throw-away PostgreSQL cluster (trust auth, unix socket in its own directory) that a
    test may restart; initdb refuses root, so as root it runs as the `postgres` OS user."""

    def __init__(self, procs: Processes):
        self.procs = procs
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="omni-faults-pg-", dir="/tmp"))
        self.data = self.dir / "data"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/omni"

    def _run(self, *command: str, timeout: float = 120) -> None:
        subprocess.run(
            [*self.as_user, *command],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def init(self) -> None:
        self._run(
            _pg_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "--no-sync", "-E", "UTF8",
        )  # fmt: skip
        self.start()

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            _pg_bin("pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60",
            "-l", str(self.dir / "server.log"), "-o", options, *extra,
        )  # fmt: skip

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self, mode: str = "fast") -> None:
        self._pg_ctl("restart", "-m", mode)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.SubprocessError):
                self._run(_pg_bin("pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    def load_from(self, source_url: str) -> None:
        """Create database `omni` holding a copy (schema and data) of `source_url`'s."""
        createdb = [_pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U"]
        subprocess.run(
            [*createdb, "postgres", "omni"],
            check=True,
            timeout=60,
        )
        dump = subprocess.run(
            [_pg_bin("pg_dump"), "--no-owner", "--no-privileges", source_url],
            check=True,
            capture_output=True,
            timeout=120,
        )
        subprocess.run(
            [_pg_bin("psql"), "-q", "-v", "ON_ERROR_STOP=1", self.url],
            input=dump.stdout,
            check=True,
            timeout=120,
            stdout=subprocess.DEVNULL,
        )


@pytest.fixture
def private_postgres(procs):
    if _pg_bin("initdb") is None or _pg_bin("pg_ctl") is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    cluster = PrivatePostgres(procs)
    try:
        cluster.init()
        yield cluster
    finally:
        cluster.stop()


def stocked_channel(
    code: str,
    *,
    kind: str,
    skus: int,
    quantity: Callable[[int], int],
    price: str = "10.00",
    connector: dict | None = None,
) -> tuple[Channel, list[Variant]]:
    """A USD channel (with `connector` settings when given) selling `skus` published variants
    `<CODE>-<nnnn>` from a shipping warehouse of its own, variant n stocked with `quantity(n)`
    units."""
    channel = Channel.objects.create(code=code, name=code, kind=kind, currency="USD")
    if connector is not None:
        ConnectorSettings.objects.create(channel=channel, **connector)
    location = StockLocation.objects.create(code=f"wh-{code}", name=code, kind="warehouse")
    ChannelLocation.objects.create(channel=channel, location=location, priority=1)
    category = Category.objects.create(name=code, slug=f"fault-{code}", path=f"fault-{code}/")
    product = Product.objects.create(name=code, slug=f"fault-{code}", category=category)
    prefix = code.upper()
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"{prefix}-{n:04d}", name=f"{prefix}-{n:04d}")
        for n in range(skus)
    )
    Listing.objects.bulk_create(
        Listing(variant=v, channel=channel, price=price, currency="USD", published=True)
        for v in variants
    )
    stock_receive(
        location_id=location.pk,
        lines=[StockLine(variant_id=v.pk, quantity=quantity(n)) for n, v in enumerate(variants)],
        reference=f"PO-{code}",
    )
    return channel, variants


# A storefront taking orders (the PostgreSQL-restart and Redis-down tests).
STORE_SKUS = 5


def storefront() -> str:
    """A web channel selling STORE_SKUS well-stocked variants (`PG-0000`...) from a shipping
    warehouse; returns an API key of the channel."""
    channel, _ = stocked_channel("pg", kind="web", skus=STORE_SKUS, quantity=lambda n: 10_000)
    _, secret = api_key_create(channel=channel, scopes=["catalog", "orders"])
    return secret


def order_body(client: int, n: int) -> dict:
    """Order n of client `client`: two lines of 1 and 2 units, paid, shipped."""
    lines = [
        {"sku": f"PG-{(client + n + i) % STORE_SKUS:04d}", "quantity": 1 + i} for i in range(2)
    ]
    amount = sum(Decimal("10.00") * line["quantity"] for line in lines)
    return {
        "customer": {"email": f"c{client}@example.com", "first_name": "Ada"},
        "lines": lines,
        "fulfilment": {"method": "ship", "address": ADDRESS},
        "payment": {
            "status": "authorized",
            "reference": f"psp-{client}-{n}",
            "amount": str(amount),
        },
    }
