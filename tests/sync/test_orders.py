"""Orders from channel feeds and webhooks, placed once per (channel, external id); order
status pushed back from the orders timeline."""

import json
import time
from decimal import Decimal

import pytest

# The orders app (issue 5) is built in parallel; until it is merged these tests skip.
pytest.importorskip("orders.services", reason="orders app (order_place) not merged yet")


from inventory.models import ChannelLocation
from inventory.services import StockLine, stock_receive
from omni.sync.connectors.signing import sign
from omni.sync.models import InboundEvent, OutboundMessage, SyncRejection
from omni.sync.services.feeds import feed_pull
from omni.sync.services.order_status import order_status_push_sweep
from orders.models import Order
from tests.catalog.factories import ListingFactory

pytestmark = pytest.mark.django_db

ADDRESS = {"name": "Ada", "line1": "1 Main St", "city": "NYC", "postcode": "10001", "country": "US"}


@pytest.fixture
def selling(market, connector, warehouse, skus):
    ChannelLocation.objects.create(channel=market, location=warehouse, priority=1)
    ListingFactory(variant=skus["A-1"], channel=market, price=Decimal("12.00"))
    stock_receive(
        location_id=warehouse.pk,
        lines=[StockLine(variant_id=skus["A-1"].pk, quantity=10)],
        reference="PO-1",
    )
    return market


def order_line(external_id, sku="A-1", quantity=2, **extra):
    return json.dumps(
        {
            "external_id": external_id,
            "lines": [{"sku": sku, "quantity": quantity}],
            "customer": {"email": f"{external_id.lower()}@example.com"},
            "shipping_address": ADDRESS,
            **extra,
        }
    )


def test_order_feed_places_good_orders_rejects_bad_ones_and_a_rerun_places_nothing(
    tmp_path, selling
):
    path = tmp_path / "orders.jsonl"
    path.write_text(
        "\n".join(
            [
                order_line("MKT-1"),
                order_line("MKT-2", sku="NOPE"),
                json.dumps({"external_id": "MKT-3", "lines": []}),
                order_line("MKT-4", quantity=50),
                order_line("MKT-5", quantity=1),
            ]
        )
        + "\n"
    )

    run = feed_pull(channel=selling, kinds=["orders"], source=str(path))
    again = feed_pull(channel=selling, kinds=["orders"], source=str(path))

    assert (run.rows_applied, run.rows_rejected) == (2, 3)
    codes = dict(SyncRejection.objects.filter(run=run).values_list("line", "code"))
    assert codes[3] == "required"
    assert codes[4] == "insufficient_stock"
    assert 2 in codes
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["MKT-1", "MKT-5"]
    assert (again.rows_applied, again.rows_unchanged) == (0, 2)
    assert Order.objects.count() == 2


def test_order_webhook_places_the_order_once(
    api_client, selling, secret, django_capture_on_commit_callbacks
):
    body = json.dumps(
        {"id": "evt-order-1", "type": "order.created", "data": json.loads(order_line("MKT-9"))}
    ).encode()

    for _ in range(2):
        stamp = str(int(time.time()))
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.generic(
                "POST",
                "/api/v1/webhooks/market/",
                body,
                content_type="application/json",
                HTTP_X_OMNI_TIMESTAMP=stamp,
                HTTP_X_OMNI_SIGNATURE=sign(secret=secret, timestamp=stamp, body=body),
            )
        assert response.status_code in (200, 202)

    assert Order.objects.filter(channel=selling, external_id="MKT-9").count() == 1
    assert InboundEvent.objects.get().status == "applied"


def test_order_status_is_pushed_once_per_timeline_event(tmp_path, selling):
    path = tmp_path / "orders.jsonl"
    path.write_text(order_line("MKT-7") + "\n")
    feed_pull(channel=selling, kinds=["orders"], source=str(path))

    queued = order_status_push_sweep()
    again = order_status_push_sweep()

    assert queued >= 1 and again == 0
    message = OutboundMessage.objects.filter(kind="order_status").first()
    assert message.payload["external_id"] == "MKT-7"
    assert message.payload["event"] == "placed"
    assert message.payload["status"] == Order.objects.get().status
