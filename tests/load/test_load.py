"""The load test's short form: bench/load.py's driver against the test database for 15 s.

gunicorn serves the project on a free loopback port and locust runs the storefront mix
(browse, availability, quote, place order, read order) across three channels and a hot SKU.
Afterwards no request may have failed (no 5xx, no unexpected 4xx), nothing may be oversold and
the ledger must reconcile. The 2-minute run with figures is `make load`.
"""

import importlib.util
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BENCH_LOAD = Path(__file__).resolve().parents[2] / "bench" / "load.py"
SECONDS = 15
HOT_STOCK = 6


def _driver():
    spec = importlib.util.spec_from_file_location("bench_load", BENCH_LOAD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s["PASSWORD"]:
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def test_storefront_mix_under_load_fails_nothing_and_oversells_nothing(tmp_path):
    load = _driver()
    dataset = load.seed_dataset(hot_stock=HOT_STOCK)
    connection.close()  # the server's workers and the checks use their own connections

    run = load.run_load(
        db_url=_database_url(),
        dataset=dataset,
        seconds=SECONDS,
        users=10,
        workers=2,
        broker="",  # tasks run in the server process: nothing is left queued in a broker
        workdir=tmp_path,
    )
    checks = load.store_checks(dataset, run["outcomes"])

    total, by_name, outcomes = run["total"], run["by_name"], run["outcomes"]
    assert total["requests"] > 0
    assert run["failures"] == [], run["failures"]
    assert total["failures"] == 0
    # Every part of the mix ran.
    for name in (
        "GET /products/",
        "GET /products/{id}/",
        "GET /availability/",
        "POST /quotes/",
        "POST /orders/",
        "GET /orders/{number}/",
    ):
        assert by_name.get(name, {}).get("requests", 0) > 0, name
    assert outcomes.get("placed", 0) > 0
    # Nothing oversold, reservations match the orders, the ledger reconciles, and each 201
    # answer stored exactly one order (replayed Idempotency-Keys created none).
    assert checks["problems"] == []
    assert checks["reconciled"], checks["reconcile"]
    assert checks["orders_stored"] == outcomes["placed"]
    assert checks["hot_sold"] <= HOT_STOCK
