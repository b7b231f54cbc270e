"""PostgreSQL restarted while storefront clients place orders through a gunicorn server.

The server (persistent connections, health checks on) runs against a private cluster holding
a copy of the test data; the cluster is restarted (`pg_ctl restart -m fast`, which cuts every
connection) in the middle of the run. Every answer is a success or a clean 503 JSON, never a
500 or a hung request; clients retry 503s with the same Idempotency-Key; afterwards each key
produced exactly one order and the stock reserved equals the quantities ordered. The server
recovers by itself: it is never restarted.
"""

import threading
import time

import psycopg2
import pytest
import requests

from tests.faults.conftest import (
    Gunicorn,
    order_body,
    service_env,
    storefront,
    test_database_url,
    wait_for,
)

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

CLIENTS = 6
ORDERS_PER_CLIENT = 8


class Client(threading.Thread):
    """Places its orders one after another; a 503 is retried with the same key and body."""

    def __init__(self, index: int, base: str, secret: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.index, self.base, self.stop = index, base, stop
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Api-Key {secret}"
        self.answers: list[int] = []
        self.unexpected: list[str] = []
        self.placed: dict[str, tuple[int, str]] = {}  # key -> (units, order number)

    def run(self):
        for n in range(ORDERS_PER_CLIENT):
            key, body = f"fault-{self.index}-{n}", order_body(self.index, n)
            while not self.stop.is_set():
                try:
                    response = self.session.post(
                        f"{self.base}/api/v1/orders/",
                        json=body,
                        headers={"Idempotency-Key": key},
                        timeout=30,
                    )
                except requests.Timeout:
                    self.unexpected.append(f"{key}: no answer within 30 s")
                    return
                except requests.ConnectionError as exc:
                    self.unexpected.append(f"{key}: connection error {exc.__class__.__name__}")
                    return
                self.answers.append(response.status_code)
                if response.status_code == 503:
                    data = response.json()
                    if data.get("code") != "service_unavailable":
                        self.unexpected.append(f"{key}: 503 {data}")
                    time.sleep(0.1)
                    continue
                if response.status_code not in (200, 201):
                    self.unexpected.append(f"{key}: {response.status_code} {response.text[:300]}")
                    return
                units = sum(line["quantity"] for line in body["lines"])
                self.placed[key] = (units, response.json()["number"])
                break


def test_postgres_restart_during_order_placement(private_postgres, private_redis, procs):
    secret = storefront()
    env = service_env(
        broker_url=private_redis.url,
        database_url=private_postgres.url,
        DB_CONN_MAX_AGE=60,  # persistent connections: the restart breaks them under the server
        DEBUG="true",
    )
    # The server boots while the cluster is loaded: it opens no connection before a request.
    server = Gunicorn(
        procs, env, workers=2, threads=4, extra=("--timeout", "60", "--graceful-timeout", "5")
    )
    private_postgres.load_from(test_database_url())
    server.wait_ready()
    base = server.base

    stop = threading.Event()
    clients = [Client(i, base, secret, stop) for i in range(CLIENTS)]
    for client in clients:
        client.start()
    placed = lambda: sum(len(c.placed) for c in clients)  # noqa: E731
    wait_for(lambda: placed() >= CLIENTS, timeout=60, what="the first orders", every=0.02)
    before_restart = placed()
    private_postgres.restart("fast")
    for client in clients:
        client.join(timeout=120)
    stop.set()
    assert not any(c.is_alive() for c in clients), "a client hung"
    assert server.alive(), "the server must survive the restart"

    unexpected = [problem for c in clients for problem in c.unexpected]
    assert unexpected == [], unexpected
    answers = [code for c in clients for code in c.answers]
    assert set(answers) <= {200, 201, 503}
    assert before_restart < CLIENTS * ORDERS_PER_CLIENT, "the restart came after the run"
    assert 503 in answers, "no request met the restart: the fault was not exercised"
    keys = {key: value for c in clients for key, value in c.placed.items()}
    assert len(keys) == CLIENTS * ORDERS_PER_CLIENT

    with psycopg2.connect(private_postgres.url) as db, db.cursor() as cursor:
        cursor.execute(
            "SELECT k.key, o.number, (SELECT SUM(l.quantity) FROM orders_orderline l "
            "WHERE l.order_id = o.id) FROM orders_idempotencykey k "
            "JOIN orders_order o ON o.id = k.order_id"
        )
        by_key = {key: (int(units), number) for key, number, units in cursor.fetchall()}
        cursor.execute("SELECT COUNT(*) FROM orders_order")
        (orders,) = cursor.fetchone()
        cursor.execute("SELECT COALESCE(SUM(quantity), 0) FROM inventory_reservation")
        (reserved_rows,) = cursor.fetchone()
        cursor.execute("SELECT SUM(reserved) FROM inventory_stock")
        (reserved,) = cursor.fetchone()
    db.close()
    assert by_key == keys  # one order per key, the one its client was answered with
    assert orders == len(keys)  # no order without a key: no duplicates
    units = sum(u for u, _ in keys.values())
    assert reserved == reserved_rows == units
