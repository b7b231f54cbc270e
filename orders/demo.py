"""Demo orders across every channel, placed and moved through their lifecycle with the real
services: shipped and picked-up orders, POS sales replayed from the tills, cancellations,
returns at other stores, exchanges and completed orders earning points. Idempotent: demo
orders carry external ids `demo-<n>`; once they exist a second run places nothing."""

import random
from contextlib import contextmanager
from datetime import timedelta

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone
from tqdm import tqdm

from catalog.models import Listing
from customers.models import Customer
from inventory.models import ChannelLocation, LocationKind, Stock, StockLocation
from omni.errors import DomainError
from omni.models import Channel, ChannelKind
from orders.models import (
    Allocation,
    ChannelOrderSettings,
    FulfilmentMethod,
    Order,
    PostcodeArea,
    SourcingStrategyName,
)
from orders.services import (
    CustomerInput,
    LineInput,
    PaymentInput,
    RecordedSale,
    ReturnLineInput,
    exchange_create,
    fulfilment_collect,
    fulfilment_create,
    fulfilment_mark_ready,
    fulfilment_ship,
    order_cancel,
    order_complete,
    order_lines_cancel,
    order_place,
    return_create,
)

ORDERS = 250
SEED = 5
CITIES = [
    # city, postcode, lat, lon
    ("New York", "10001", "40.7506", "-73.9972"),
    ("Brooklyn", "11201", "40.6940", "-73.9903"),
    ("Boston", "02108", "42.3576", "-71.0637"),
    ("Philadelphia", "19103", "39.9522", "-75.1741"),
    ("Chicago", "60601", "41.8858", "-87.6181"),
    ("Los Angeles", "90012", "34.0614", "-118.2385"),
]
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken", "Linus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton", "Thompson"]


def _sellable(channel: Channel) -> list[str]:
    """SKUs listed in the channel with stock at one of its locations."""
    in_stock = Stock.objects.filter(
        variant_id=OuterRef("variant_id"),
        location__channel_locations__channel=channel,
        on_hand__gt=0,
    )
    return list(
        Listing.objects.filter(channel=channel, published=True, variant__active=True)
        .filter(Exists(in_stock))
        .order_by("variant__sku")
        .values_list("variant__sku", flat=True)[:200]
    )


def _customer(rng: random.Random, existing: list[str]) -> CustomerInput:
    if existing and rng.random() < 0.7:
        email = rng.choice(existing)
        return CustomerInput(email=email)
    n = rng.randrange(60)
    first, last = FIRST[n % len(FIRST)], LAST[n % len(LAST)]
    return CustomerInput(
        email=f"{first.lower()}.{last.lower()}{n}@example.com", first_name=first, last_name=last
    )


def _address(rng: random.Random, name: str) -> dict:
    city, postcode, _, _ = rng.choice(CITIES)
    return {
        "name": name or "Demo Shopper",
        "line1": f"{rng.randrange(1, 400)} Demo Street",
        "city": city,
        "postcode": postcode,
        "country": "US",
    }


def load(command) -> None:
    out = command.stdout
    if Order.objects.filter(external_id__startswith="demo-").exists():
        out.write("  demo orders exist; nothing placed")
        return
    with _fast_commits():
        _load(out)


@contextmanager
def _fast_commits():
    """Every demo order commits several times; on SQLite an fsync per commit would dominate the
    load, and a demo database can be rebuilt, so sync lazily while loading it."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        # Inside a transaction (tests) SQLite refuses the change and nothing commits anyway.
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        previous = cursor.fetchone()[0]
        cursor.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA synchronous={int(previous)}")


def _load(out) -> None:
    rng = random.Random(SEED)
    for _, postcode, lat, lon in CITIES:
        PostcodeArea.objects.get_or_create(
            country="US", prefix=postcode[:3], defaults={"latitude": lat, "longitude": lon}
        )
    app = Channel.objects.filter(code="app").first()
    if app is not None:
        # The app ships from the nearest location; the others use channel priority.
        ChannelOrderSettings.objects.get_or_create(
            channel=app, defaults={"sourcing_strategy": SourcingStrategyName.NEAREST}
        )

    channels = [
        c
        for c in Channel.objects.filter(active=True).order_by("code")
        if ChannelLocation.objects.filter(channel=c).exists()
    ]
    if not channels:
        out.write("  no channel sells from a stock location yet (load inventory demo first)")
        return
    sellable = {c.pk: _sellable(c) for c in channels}
    channels = [c for c in channels if sellable[c.pk]]
    if not channels:
        out.write("  no channel has stocked listings; no demo orders")
        return
    emails = list(
        Customer.objects.filter(identities__kind="email")
        .order_by("pk")
        .values_list("identities__value", flat=True)[:200]
    )
    pickup_stores = {
        c.pk: list(
            StockLocation.objects.filter(
                channel_locations__channel=c, pickup_enabled=True, active=True
            ).values_list("code", flat=True)
        )
        for c in channels
    }
    till_store = {
        c.pk: StockLocation.objects.filter(
            channel_locations__channel=c, kind=LocationKind.STORE, active=True
        )
        .order_by("channel_locations__priority")
        .values_list("code", flat=True)
        .first()
        for c in channels
        if c.kind == ChannelKind.STORE
    }
    all_locations = list(StockLocation.objects.filter(active=True).values_list("code", flat=True))
    now = timezone.now()
    created = refused = 0
    for n in tqdm(range(ORDERS), desc="demo orders", file=out, mininterval=1):
        channel = channels[n % len(channels)]
        skus = rng.sample(sellable[channel.pk], k=min(len(sellable[channel.pk]), rng.randint(1, 3)))
        lines = [LineInput(sku, rng.choice([1, 1, 1, 2])) for sku in skus]
        who = _customer(rng, emails)
        placed_at = now - timedelta(days=rng.uniform(0, 60))
        try:
            if channel.kind == ChannelKind.STORE and till_store.get(channel.pk) and n % 3 == 0:
                placement = order_place(
                    channel=channel,
                    lines=lines,
                    customer=who if rng.random() < 0.5 else None,
                    payment=PaymentInput(status="paid", reference=f"till-{n}"),
                    external_id=f"demo-{n}",
                    recorded_sale=RecordedSale(till_store[channel.pk], placed_at),
                    actor="demo",
                )
            else:
                pickup = pickup_stores[channel.pk] and rng.random() < 0.3
                placement = order_place(
                    channel=channel,
                    lines=lines,
                    customer=who,
                    fulfilment_method=FulfilmentMethod.PICKUP if pickup else FulfilmentMethod.SHIP,
                    pickup_location_code=rng.choice(pickup_stores[channel.pk]) if pickup else "",
                    shipping_address={} if pickup else _address(rng, who.first_name),
                    payment=PaymentInput(
                        status="pending" if rng.random() < 0.05 else "paid",
                        reference=f"psp-demo-{n}",
                    ),
                    external_id=f"demo-{n}",
                    actor="demo",
                )
        except DomainError:
            refused += 1
            continue
        if not placement.created:
            continue
        created += 1
        order = placement.order
        Order.objects.filter(pk=order.pk).update(created_at=placed_at)
        try:
            _advance(order, rng, all_locations)
        except DomainError as exc:
            out.write(f"  {order.number}: stopped at {exc.code}")
    out.write(f"  {created} demo orders placed ({refused} refused for stock)")


def _advance(order: Order, rng: random.Random, locations: list[str]) -> None:
    """Move a fresh demo order along a plausible path."""
    if order.status not in ("confirmed",):
        return
    roll = rng.random()
    if roll < 0.12:
        order_cancel(order=order, reason="customer changed their mind", actor="demo")
        return
    if roll < 0.17 and order.lines.count() > 1:
        order_lines_cancel(order=order, line_ids=[order.lines.first().pk], actor="demo")
    if roll < 0.30:
        return  # still waiting to be picked
    for code in _allocated_locations(order):
        fulfilment = fulfilment_create(order=order, location_code=code)
        if fulfilment.method == FulfilmentMethod.PICKUP:
            fulfilment_mark_ready(order=order, fulfilment_id=fulfilment.pk)
            if rng.random() < 0.3:
                return  # waiting at the counter
            fulfilment_collect(order=order, fulfilment_id=fulfilment.pk)
        else:
            fulfilment_ship(
                order=order,
                fulfilment_id=fulfilment.pk,
                carrier=rng.choice(["UPS", "FedEx", "USPS"]),
                tracking_number=f"1Z{rng.randrange(10**9):09d}",
            )
    order.refresh_from_db()
    if order.status != "fulfilled":
        return
    if roll < 0.45:
        line = order.lines.filter(quantity_fulfilled__gt=0).first()
        return_create(
            order=order,
            location_code=rng.choice(locations),
            lines=[ReturnLineInput(line.pk, 1, restock=rng.random() < 0.85, reason="too small")],
            refund_reference=f"refund-{order.number}",
        )
        return
    if roll < 0.50 and order.pickup_location_id:
        line = order.lines.filter(quantity_fulfilled__gt=0).first()
        exchange_create(
            order=order,
            location_code=order.pickup_location.code,
            lines=[ReturnLineInput(line.pk, 1)],
            new_lines=[LineInput(line.sku, 1)],
            reason="size exchange",
        )
        return
    if roll < 0.85:
        order_complete(order=order, actor="demo")


def _allocated_locations(order: Order) -> list[str]:
    held = Allocation.objects.filter(line__order=order, reservation__isnull=False)
    return sorted(
        set(
            StockLocation.objects.filter(pk__in=held.values("location_id")).values_list(
                "code", flat=True
            )
        )
    )
