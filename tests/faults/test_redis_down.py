"""Redis (the broker) down: the API keeps taking orders, the available-to-sell changes they
cause wait in inventory's outbox table (written in the order's transaction), and once Redis is
back the drain that beat runs publishes every one of them through a worker."""

import pytest
import requests

from inventory.models import AvailabilityMark
from orders.models import Order
from tests.faults.conftest import (
    Gunicorn,
    order_body,
    send_task,
    service_env,
    start_worker,
    storefront,
    wait_for,
)

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def test_orders_taken_and_events_kept_while_redis_is_down(private_redis, procs):
    env = service_env(broker_url=private_redis.url, DB_CONN_MAX_AGE=0)
    server = Gunicorn(procs, env, workers=1, threads=2)
    secret = storefront()
    base = server.base
    session = requests.Session()
    session.headers["Authorization"] = f"Api-Key {secret}"
    server.wait_ready()
    AvailabilityMark.objects.all().delete()  # the stock receipt's; not this test's subject

    private_redis.kill()
    for n in range(5):
        # A publish to the dead broker gives up fast; a hung request would time out here.
        response = session.post(
            f"{base}/api/v1/orders/",
            json=order_body(0, n),
            headers={"Idempotency-Key": f"down-{n}"},
            timeout=15,
        )
        assert response.status_code == 201, response.text
    assert Order.objects.count() == 5
    pending = AvailabilityMark.objects.all()
    assert pending.count() > 0, "each order's availability change waits in the outbox"
    queued = set(pending.values_list("pk", flat=True))

    private_redis.start()  # back, empty: every kick sent while it was down is gone
    start_worker(procs, env, "redis-back")
    # What beat's outbox drain schedule sends; the worker publishes every waiting change.
    send_task(private_redis.url, "inventory.availability_outbox_drain")
    wait_for(
        lambda: not AvailabilityMark.objects.filter(pk__in=queued).exists(),
        timeout=60,
        what="the outbox to be drained",
    )
    # The server publishes again without a restart: a new order's kick reaches the broker
    # and the worker drains its change.
    response = session.post(
        f"{base}/api/v1/orders/",
        json=order_body(1, 0),
        headers={"Idempotency-Key": "back-0"},
        timeout=15,
    )
    assert response.status_code == 201, response.text
    wait_for(
        lambda: not AvailabilityMark.objects.exists(),
        timeout=60,
        what="the new order's change to be drained by its own kick",
    )
