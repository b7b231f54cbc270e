"""Incremental rollup refreshes give exactly the rows of the nightly full rebuild, after random
placements, cancellations, fulfilments, pickups and returns (orders written the way the orders
app stores them)."""

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import F

orders_models = pytest.importorskip("orders.models")
if not hasattr(orders_models, "Order"):
    pytest.skip("the orders models are not on this branch yet", allow_module_level=True)

from analytics.models import (  # noqa: E402
    ChannelDay,
    CustomerChannel,
    CustomerMonth,
    FulfilmentDay,
    OrderFact,
    OrderLineFact,
    VariantLocationDay,
)
from analytics.services import rollup_refresh_for_orders, rollups_rebuild  # noqa: E402
from customers.models import Customer  # noqa: E402
from orders.models import (  # noqa: E402
    Allocation,
    Fulfilment,
    Order,
    OrderLine,
    Return,
    ReturnLine,
)

ROLLUPS = [ChannelDay, VariantLocationDay, FulfilmentDay, CustomerChannel, CustomerMonth]
BASE = datetime(2026, 3, 1, 9, tzinfo=UTC)


def _snapshot() -> dict:
    out = {}
    for model in ROLLUPS:
        fields = [f.attname for f in model._meta.concrete_fields if f.attname != "id"]
        out[model.__name__] = sorted(
            tuple(str(v) for v in row) for row in model.objects.values_list(*fields)
        )
    return out


class Shop:
    """Writes orders like the orders app does, and refreshes rollups after each change."""

    def __init__(self, rng, world):
        self.rng = rng
        self.channels = [world["web"], world["store"]]
        self.variants = [world["v1"], world["v2"]]
        self.locations = [world["l1"], world["l2"]]
        self.customers = [Customer.objects.create(first_name=f"C{i}") for i in range(4)]
        self.count = 0

    def _stamp(self, model, pk, **fields):
        model.objects.filter(pk=pk).update(**fields)

    def place(self) -> Order:
        rng = self.rng
        self.count += 1
        placed = BASE + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 12))
        order = Order.objects.create(
            number=f"T-{self.count}",
            channel=rng.choice(self.channels),
            status="confirmed",
            customer=rng.choice([*self.customers, None]),
            fulfilment_method=rng.choice(["ship", "pickup"]),
            pickup_location=self.locations[1],
            currency="USD",
        )
        self._stamp(Order, order.pk, created_at=placed)
        subtotal = discount_total = Decimal(0)
        for variant in rng.sample(self.variants, rng.randint(1, 2)):
            quantity = rng.randint(1, 4)
            price = Decimal(rng.choice(["9.99", "25.00", "40.50"]))
            discount = Decimal(rng.choice(["0", "1.00", "2.50"]))
            line = OrderLine.objects.create(
                order=order,
                variant=variant,
                sku=variant.sku,
                quantity=quantity,
                unit_price=price,
                discount_total=discount,
                line_total=price * quantity - discount,
                fulfilment_method=order.fulfilment_method,
                pickup_location=self.locations[1],
            )
            split = rng.randint(0, quantity - 1)
            for location, q in ((self.locations[0], split), (self.locations[1], quantity - split)):
                if q:
                    Allocation.objects.create(line=line, location=location, quantity=q)
            subtotal += price * quantity
            discount_total += discount
        Order.objects.filter(pk=order.pk).update(
            subtotal=subtotal, discount_total=discount_total, total=subtotal - discount_total
        )
        return order

    def cancel(self, order: Order) -> None:
        for line in order.lines.all():
            OrderLine.objects.filter(pk=line.pk).update(quantity_cancelled=line.quantity)
            Allocation.objects.filter(line=line).update(quantity_released=F("quantity"))
        Order.objects.filter(pk=order.pk).update(status="cancelled")

    def fulfil(self, order: Order) -> None:
        order.refresh_from_db()
        for line in order.lines.all():
            OrderLine.objects.filter(pk=line.pk).update(quantity_fulfilled=line.quantity)
        left = order.created_at + timedelta(hours=self.rng.randint(1, 80))
        pickup = order.fulfilment_method == "pickup"
        Fulfilment.objects.create(
            order=order,
            location=self.locations[1] if pickup else self.locations[0],
            method=order.fulfilment_method,
            status="collected" if pickup else "shipped",
            shipped_at=None if pickup else left,
            ready_at=left if pickup else None,
            collected_at=left + timedelta(hours=3) if pickup else None,
        )
        Order.objects.filter(pk=order.pk).update(status="fulfilled")

    def give_back(self, order: Order) -> None:
        line = order.lines.first()
        record = Return.objects.create(
            order=order, location=self.rng.choice(self.locations), channel=order.channel
        )
        self._stamp(Return, record.pk, created_at=BASE + timedelta(days=self.rng.randint(21, 30)))
        quantity = self.rng.randint(1, line.quantity)
        ReturnLine.objects.create(
            return_record=record, line=line, quantity=quantity, refund_amount=Decimal("5.00")
        )
        OrderLine.objects.filter(pk=line.pk).update(quantity_returned=quantity)
        Order.objects.filter(pk=order.pk).update(status="partially_returned")


@pytest.mark.parametrize("whole_days", [7, 0], ids=["whole-days", "day-x-variant"])
def test_incremental_refreshes_equal_the_full_rebuild(world, whole_days, monkeypatch):
    from analytics import rollups

    monkeypatch.setattr(rollups, "WHOLE_DAYS", whole_days)
    rng = random.Random(7)
    shop = Shop(rng, world)
    open_orders, fulfilled = [], []
    for _ in range(60):
        action = rng.random()
        if action < 0.45 or not (open_orders or fulfilled):
            order = shop.place()
            open_orders.append(order)
        elif action < 0.6 and open_orders:
            order = open_orders.pop(rng.randrange(len(open_orders)))
            shop.cancel(order)
        elif action < 0.85 and open_orders:
            order = open_orders.pop(rng.randrange(len(open_orders)))
            shop.fulfil(order)
            fulfilled.append(order)
        elif fulfilled:
            order = fulfilled.pop(rng.randrange(len(fulfilled)))
            shop.give_back(order)
        else:
            continue
        rollup_refresh_for_orders(order_ids=[order.pk])

    incremental = _snapshot()
    assert incremental["ChannelDay"], "the scenario must produce rollup rows"
    assert OrderFact.objects.filter(cancelled=True).exists()
    rollups_rebuild()
    assert _snapshot() == incremental


def test_an_earlier_order_makes_the_later_one_returning(world):
    shop = Shop(random.Random(1), world)
    customer = shop.customers[0]
    later = shop.place()
    Order.objects.filter(pk=later.pk).update(customer=customer, created_at=BASE + timedelta(days=5))
    rollup_refresh_for_orders(order_ids=[later.pk])
    assert ChannelDay.objects.filter(new_customer_orders=1).count() == 1

    earlier = shop.place()
    Order.objects.filter(pk=earlier.pk).update(customer=customer, created_at=BASE)
    rollup_refresh_for_orders(order_ids=[earlier.pk])  # only the new order is named
    facts = dict(OrderFact.objects.values_list("order_id", "first_order"))
    assert facts == {earlier.pk: True, later.pk: False}
    day_of_later = ChannelDay.objects.get(day=(BASE + timedelta(days=5)).date(), orders__gt=0)
    assert (day_of_later.new_customer_orders, day_of_later.returning_customer_orders) == (0, 1)


def test_refresh_of_a_deleted_order_removes_its_facts(world):
    shop = Shop(random.Random(2), world)
    order = shop.place()
    rollup_refresh_for_orders(order_ids=[order.pk])
    assert ChannelDay.objects.filter(orders=1).exists()
    OrderLine.objects.filter(order=order).delete()
    Order.objects.filter(pk=order.pk).delete()
    rollup_refresh_for_orders(order_ids=[order.pk])
    assert not OrderFact.objects.exists()
    assert not ChannelDay.objects.filter(orders__gt=0).exists()


def test_refresh_task_is_idempotent(world):
    from analytics.tasks import rollup_refresh_for_orders_task

    shop = Shop(random.Random(3), world)
    order = shop.place()
    rollup_refresh_for_orders_task.delay([order.pk])
    first = _snapshot()
    rollup_refresh_for_orders_task.delay([order.pk])
    assert _snapshot() == first


def test_periodic_refresh_picks_up_orders_changed_since_the_last_pass(world):
    from django.utils import timezone

    from analytics.models import RollupWatermark
    from analytics.services import rollup_refresh_changed

    shop = Shop(random.Random(4), world)
    order = shop.place()
    assert rollup_refresh_changed() == 1
    assert OrderFact.objects.get(order_id=order.pk).cancelled is False
    mark = RollupWatermark.objects.get()
    shop.cancel(order)
    Order.objects.filter(pk=order.pk).update(updated_at=timezone.now())
    assert rollup_refresh_changed() >= 1
    assert OrderFact.objects.get(order_id=order.pk).cancelled is True
    assert ChannelDay.objects.get(cancelled_orders=1).orders == 0
    assert RollupWatermark.objects.get().value >= mark.value


@pytest.mark.postgres
def test_the_full_rebuild_leaves_statistics_for_the_refreshes_that_follow(world):
    """The rebuild rewrites whole tables in one transaction; without fresh statistics the next
    refreshes plan as if the fact tables were empty (sequential scans of millions of rows)."""
    from django.db import connection

    shop = Shop(random.Random(3), world)
    for _ in range(6):
        shop.place()
    rollups_rebuild()
    tables = [model._meta.db_table for model in (OrderFact, OrderLineFact, ChannelDay)]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tablename FROM pg_stats WHERE tablename = ANY(%s)", [tables]
        )
        analysed = {name for (name,) in cursor.fetchall()}
    assert analysed == set(tables)
