"""Shared helpers for bench scripts: Django set-up against DATABASE_URL, figure printing, and
the pieces the HTTP benches share (bench databases, a gunicorn server on a free loopback port,
the broker URL, the oversell and ledger checks)."""

import http.client
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent


def setup_django() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("bench scripts run against PostgreSQL: set DATABASE_URL")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    import django

    django.setup()


def vacuum_analyze(*tables: str) -> None:
    """VACUUM ANALYZE `tables` on Django's connection: what autovacuum does on a live server
    (fresh statistics, the visibility map index-only scans need, dead rows reclaimed); a bench
    server may run with it off."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(tables)}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def result(name: str, figure: float | str, target: str, met: bool) -> None:
    shown = f"{figure:.2f}" if isinstance(figure, float) else str(figure)
    print(f"RESULT {name} {shown} target {target} {'met' if met else 'missed'}", flush=True)


# --- databases --------------------------------------------------------------------------------


def database_url_named(url: str, name: str) -> str:
    """`url` with its database name replaced by `name` (same server and credentials)."""
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def _admin_connection(url: str):
    import psycopg2

    parts = urlparse(url)
    admin = psycopg2.connect(
        host=parts.hostname,
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname="postgres",
    )
    admin.autocommit = True
    return admin


def ensure_database(url: str) -> bool:
    """Create the database `url` names unless it exists; True when it was created."""
    name = urlparse(url).path.lstrip("/")
    admin = _admin_connection(url)
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone():
                return False
            cursor.execute(f'CREATE DATABASE "{name}"')
            return True
    finally:
        admin.close()


def recreate_database(url: str) -> None:
    """Drop (closing its sessions) and create the database `url` names: for benches whose data
    is their own and must match the current migrations."""
    name = urlparse(url).path.lstrip("/")
    admin = _admin_connection(url)
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    finally:
        admin.close()


# --- the broker and the HTTP server -----------------------------------------------------------


def broker_url() -> str:
    """The Redis broker the served app queues its after-commit work on (no worker consumes it
    during a bench; `drop_queued_tasks` empties it afterwards)."""
    return os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/6")


def drop_queued_tasks(url: str) -> None:
    if not url:
        return
    import redis

    redis.Redis.from_url(url).delete("celery")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    app: str,
    *,
    db_url: str,
    port: int,
    workers: int,
    threads: int = 1,
    broker: str = "",
    env: dict[str, str] | None = None,
    pythonpath: str = "",
) -> subprocess.Popen:
    """gunicorn serving `app` ("module:callable") on 127.0.0.1:`port` against `db_url`, as in
    production (DEBUG off, persistent connections, the given broker or eager tasks without one),
    with the API key throttle lifted so the bench measures the stack, not the rate limit.
    Returns once /healthz answers."""
    server_env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "127.0.0.1",
        "API_KEY_RATE": "100000000/min",
        "CELERY_BROKER_URL": broker,
        "CACHE_URL": os.environ.get("CACHE_URL", ""),
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "600",
        **(env or {}),
    }
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--pythonpath",
        pythonpath or str(ROOT),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--backlog",
        "512",
        "--log-level",
        "warning",
        app,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=server_env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status in (200, 503):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("gunicorn did not start")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- checks -----------------------------------------------------------------------------------


def oversell_problems(received: dict[str, int]) -> list[str]:
    """Nothing oversold: per SKU in `received` (units put into stock by the bench), the units
    on orders stay within it and equal the open reservations (no order is fulfilled or
    cancelled during a bench); no stock row has reserved > on_hand or on_hand < 0; the ledger
    reconciles. Returns the problems found (empty: all good)."""
    from django.db.models import Sum

    from inventory.models import Reservation, Stock
    from inventory.selectors import ledger_drift
    from orders.models import OrderLine

    ordered = dict(
        OrderLine.objects.filter(sku__in=received)
        .values_list("sku")
        .annotate(n=Sum("quantity"))
        .values_list("sku", "n")
    )
    held = dict(
        Reservation.objects.filter(stock__variant__sku__in=received)
        .values_list("stock__variant__sku")
        .annotate(n=Sum("quantity"))
        .values_list("stock__variant__sku", "n")
    )
    problems = []
    for sku, units in received.items():
        if ordered.get(sku, 0) > units:
            problems.append(f"{sku}: {ordered[sku]} ordered, only {units} in stock")
        if held.get(sku, 0) != ordered.get(sku, 0):
            problems.append(f"{sku}: {held.get(sku, 0)} reserved for {ordered.get(sku, 0)} ordered")
    for row in Stock.objects.all():
        if row.reserved > row.on_hand or row.on_hand < 0:
            problems.append(f"stock {row.pk}: reserved {row.reserved}, on hand {row.on_hand}")
    drift = ledger_drift()
    if drift:
        problems.append(f"ledger drift on {len(drift)} stock rows")
    return problems


def reconcile() -> tuple[bool, str]:
    """Run `manage.py inventory_reconcile`; (clean, its last line)."""
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    try:
        call_command("inventory_reconcile", stdout=out)
    except CommandError as exc:
        return False, str(exc)
    lines = out.getvalue().strip().splitlines()
    return True, lines[-1] if lines else ""
