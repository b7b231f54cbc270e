"""The analytics demo: a history of orders holding the orders invariants, built once."""

import io

import pytest
from django.core.management.base import BaseCommand

orders_models = pytest.importorskip("orders.models")
if not hasattr(orders_models, "Order"):
    pytest.skip("the orders models are not on this branch yet", allow_module_level=True)

from django.db.models import F, Sum  # noqa: E402

from analytics import demo  # noqa: E402
from analytics.models import ChannelDay, OrderFact, StockDay  # noqa: E402
from inventory.models import ChannelLocation, Stock  # noqa: E402
from orders.models import Allocation, Order, OrderLine  # noqa: E402
from tests.catalog.factories import ListingFactory  # noqa: E402


@pytest.fixture
def small_demo(world, monkeypatch):
    for name, value in {
        "TARGET_ORDERS": 400,
        "CUSTOMERS": 60,
        "DAYS": 60,
        "EVENT_DAYS": 10,
        "SNAPSHOT_DAYS": 5,
        "FORECAST_SERIES": 2,
    }.items():
        monkeypatch.setattr(demo, name, value)
    for channel in (world["web"], world["store"]):
        for variant in (world["v1"], world["v2"]):
            ListingFactory(variant=variant, channel=channel)
    ChannelLocation.objects.create(channel=world["store"], location=world["l2"])
    ChannelLocation.objects.create(channel=world["web"], location=world["l1"])
    world["l2"].pickup_enabled = True
    world["l2"].save(update_fields=["pickup_enabled"])
    Stock.objects.create(variant=world["v1"], location=world["l1"], on_hand=30)
    return world


def _load() -> str:
    command = BaseCommand(stdout=io.StringIO())
    demo.load(command)
    return command.stdout.getvalue()


def test_demo_history_is_consistent_and_built_once(small_demo):
    stock_before = list(Stock.objects.values_list("on_hand", "reserved"))
    _load()
    orders = Order.objects.filter(number__startswith=demo.PREFIX)
    assert orders.count() == 400
    # totals add up from the lines
    for order in orders.annotate(lines_total=Sum("lines__line_total"))[:50]:
        assert order.total == order.lines_total == order.subtotal - order.discount_total
    # every line is allocated in full, fulfilled or released
    assert not OrderLine.objects.exclude(
        quantity=F("quantity_fulfilled") + F("quantity_cancelled")
    ).exists()
    assert Allocation.objects.filter(line__order__in=orders).count() == (
        OrderLine.objects.filter(order__in=orders).count()
    )
    assert {o.status for o in orders} <= {
        "completed", "fulfilled", "cancelled", "returned", "partially_returned",
    }  # fmt: skip
    assert list(Stock.objects.values_list("on_hand", "reserved")) == stock_before
    assert OrderFact.objects.count() == Order.objects.count()
    assert ChannelDay.objects.exists() and StockDay.objects.exists()

    second = _load()
    assert "exist" in second
    assert orders.count() == 400
    assert OrderFact.objects.count() == Order.objects.count()
