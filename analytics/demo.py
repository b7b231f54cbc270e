"""Demo history for the dashboard: a year of orders across every demo channel, then the facts,
rollups, events, stock snapshots, recommendations, forecasts and suggestions built from it.

The orders are written as *historical facts* with bulk inserts: they are already finished
(completed, returned or cancelled), so they hold no reservations and their allocations are
fulfilled or released. They never touch current stock and have no ledger rows: the stock pool
and its ledger stay exactly as the inventory demo left them. Everything else holds the orders
invariants: numbered, lines with quoted prices and discounts, totals that add up, allocations
per line, a fulfilment per order, returns with refunds, a timeline per order.

Seeded, so every run generates the same history; idempotent: a second run finds the
`HIST-` orders and only builds what is missing.
"""

import math
import random
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from time import monotonic

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from analytics.bulk import model_rows_insert, next_id, rows_insert, sequences_reset
from analytics.models import (
    BehaviourEvent,
    DemandForecast,
    EventKind,
    OrderFact,
    ProductAffinity,
    StockDay,
)
from catalog.models import Listing
from customers.models import Customer
from inventory.models import ChannelLocation, Stock, StockLocation
from omni.models import Channel, ChannelKind

SEED = 20260901
PREFIX = "HIST-"
TARGET_ORDERS = 21_000
DAYS = 365
CUSTOMERS = 6_000
EVENT_DAYS = 90
SNAPSHOT_DAYS = 31
FORECAST_SERIES = 40
CENT = Decimal("0.01")

KIND_WEIGHT = {
    ChannelKind.STORE: 0.17,
    ChannelKind.WEB: 0.28,
    ChannelKind.APP: 0.14,
    ChannelKind.MARKETPLACE: 0.12,
    ChannelKind.SOCIAL: 0.06,
    ChannelKind.CALLCENTER: 0.06,
}
# Monday .. Sunday: shops fill up at weekends, the web on Sunday evenings and Mondays.
WEEKLY = {
    ChannelKind.STORE: [0.7, 0.75, 0.8, 0.9, 1.2, 1.7, 1.3],
    "online": [1.15, 1.0, 0.95, 0.95, 0.9, 0.9, 1.25],
}
# Conversion of product-view sessions, for channels with a storefront sending events.
CONVERSION = {ChannelKind.WEB: 0.05, ChannelKind.APP: 0.06, ChannelKind.SOCIAL: 0.03}
FIRST_NAMES = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hugo", "Ines", "Jon"]
LAST_NAMES = ["Ahn", "Berg", "Costa", "Diaz", "Evans", "Fox", "Gill", "Hart", "Ito", "Jain"]


def yearly(day_of_year: int) -> float:
    """Retail seasonality: a November/December peak, a January and summer lull."""
    peak = math.exp(-(((day_of_year - 340) / 22) ** 2)) * 1.1
    summer = -0.18 * math.exp(-(((day_of_year - 200) / 30) ** 2))
    january = -0.2 * math.exp(-(((day_of_year - 15) / 12) ** 2))
    return 1.0 + peak + summer + january


class World:
    """What the other demos built: channels, their locations, listed variants and prices."""

    def __init__(self, rng: random.Random):
        self.channels = [c for c in Channel.objects.filter(active=True) if c.kind in KIND_WEIGHT]
        self.locations = {loc.id: loc for loc in StockLocation.objects.filter(active=True)}
        by_channel: dict[int, list[int]] = defaultdict(list)
        for channel_id, location_id in ChannelLocation.objects.filter(
            location__active=True
        ).values_list("channel_id", "location_id"):
            by_channel[channel_id].append(location_id)
        self.channel_locations = {
            c.id: by_channel.get(c.id) or sorted(self.locations) for c in self.channels
        }
        self.pickup_locations = [
            loc.id for loc in self.locations.values() if loc.pickup_enabled
        ] or [loc.id for loc in self.locations.values() if loc.kind == "store"]
        self.prices: dict[int, dict[int, Decimal]] = defaultdict(dict)
        self.variant_product: dict[int, int] = {}
        self.sku: dict[int, tuple[str, str]] = {}
        for channel_id, variant_id, product_id, sku, name, price in Listing.objects.filter(
            published=True, variant__active=True, variant__product__active=True
        ).values_list(
            "channel_id", "variant_id", "variant__product_id", "variant__sku",
            "variant__product__name", "price",
        ):  # fmt: skip
            self.prices[channel_id][variant_id] = price
            self.variant_product[variant_id] = product_id
            self.sku[variant_id] = (sku, name)
        self.channels = [c for c in self.channels if self.prices.get(c.id)]
        weights = [KIND_WEIGHT[c.kind] for c in self.channels]
        total = sum(weights)
        self.channel_weights = [w / total for w in weights]
        # Popularity follows a long tail; companions make "bought together" real.
        products = sorted(set(self.variant_product.values()))
        rng.shuffle(products)
        self.product_weight = {p: 1 / (rank + 1) ** 0.9 for rank, p in enumerate(products)}
        self.variants_of: dict[int, list[int]] = defaultdict(list)
        for variant_id, product_id in sorted(self.variant_product.items()):
            self.variants_of[product_id].append(variant_id)
        self.companions = {p: rng.sample(products, k=min(3, len(products))) for p in products}
        self.listed: dict[int, tuple[list[int], list[float]]] = {}
        for c in self.channels:
            variant_ids = sorted(self.prices[c.id])
            cum, acc = [], 0.0
            for v in variant_ids:
                acc += self.product_weight[self.variant_product[v]] / len(
                    self.variants_of[self.variant_product[v]]
                )
                cum.append(acc)
            self.listed[c.id] = (variant_ids, cum)

    @property
    def usable(self) -> bool:
        return bool(self.channels and self.locations)


def load(command) -> None:
    out = command.stdout
    try:
        from orders.models import Order
    except ImportError:
        out.write("  analytics: the orders app has no models yet; no demo history built.")
        return
    rng = random.Random(SEED)
    if Order.objects.filter(number__startswith=PREFIX).exists():
        out.write("  analytics: historical orders exist; building only what is missing")
    else:
        world = World(rng)
        if not world.usable:
            out.write("  analytics: no channels with listings or no locations; run their demos.")
            return
        started = monotonic()
        count = history_generate(world, rng, out)
        seconds = monotonic() - started
        out.write(
            command.style.SUCCESS(
                f"  analytics: {count:,} historical orders written ({seconds:.1f} s)"
            )
        )
    analytics_build(out, rng)


# --- orders -----------------------------------------------------------------------------------


def _order_plan(world: World, rng: random.Random) -> list[tuple[int, int | None, int]]:
    """(day index, customer index or None, channel id) for every order, oldest first."""
    kinds = {c.id: c.kind for c in world.channels}
    channel_ids = [c.id for c in world.channels]
    start = timezone.localdate() - timedelta(days=DAYS)
    day_weights = {}
    for key in ("store", "online"):
        weekly = WEEKLY[ChannelKind.STORE] if key == "store" else WEEKLY["online"]
        weights = []
        for d in range(DAYS):
            day = start + timedelta(days=d)
            weights.append(yearly(day.timetuple().tm_yday) * weekly[day.weekday()])
        day_weights[key] = weights

    def pick_day(channel_id: int) -> int:
        key = "store" if kinds[channel_id] == ChannelKind.STORE else "online"
        return rng.choices(range(DAYS), weights=day_weights[key])[0]

    plan: list[tuple[int, int | None, int]] = []
    for customer in range(CUSTOMERS):
        home = rng.choices(channel_ids, weights=world.channel_weights)[0]
        day = pick_day(home)
        orders = 1
        while rng.random() < 0.55 and orders < 15:
            orders += 1
        for n in range(orders):
            if n:
                day += max(1, int(rng.expovariate(1 / 45)))
                if day >= DAYS:
                    break
            channel = home if n == 0 or rng.random() < 0.65 else rng.choice(channel_ids)
            plan.append((day, customer, channel))
    while len(plan) < TARGET_ORDERS:
        channel = rng.choices(channel_ids, weights=world.channel_weights)[0]
        plan.append((pick_day(channel), None, channel))
    plan.sort(key=lambda p: p[0])
    return plan


def _customer_pool(rng: random.Random) -> list[int]:
    """The customers the history belongs to: the customers demo's profiles, topped up to
    CUSTOMERS with profiles of our own (tagged `demo-history`)."""
    pool = list(
        Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)
        .order_by("id")
        .values_list("id", flat=True)[:CUSTOMERS]
    )
    missing = CUSTOMERS - len(pool)
    if missing > 0:
        first = next_id(Customer)
        now = timezone.now()
        model_rows_insert(
            Customer,
            (
                {
                    "id": first + i,
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": rng.choice(LAST_NAMES),
                    "tags": ["demo-history"],
                    "created_at": now,
                }
                for i in range(missing)
            ),
        )
        sequences_reset(Customer)
        pool.extend(range(first, first + missing))
    rng.shuffle(pool)
    return pool


class Ids:
    """Explicit primary keys, handed out in order, for rows inserted without the ORM."""

    def __init__(self, model):
        self.model = model
        self.next = next_id(model)

    def take(self) -> int:
        value = self.next
        self.next += 1
        return value


@transaction.atomic
def history_generate(world: World, rng: random.Random, out) -> int:
    """Write the year of historical orders (see the module docstring); returns the count."""
    from orders.models import (
        Allocation,
        Fulfilment,
        FulfilmentLine,
        Order,
        OrderLine,
        Refund,
        Return,
        ReturnLine,
        TimelineEvent,
    )

    plan = _order_plan(world, rng)
    pool = _customer_pool(rng)
    kinds = {c.id: c.kind for c in world.channels}
    codes = {c.id: c.code for c in world.channels}
    now = timezone.now()
    start = timezone.localdate() - timedelta(days=DAYS)
    ids = {
        model: Ids(model)
        for model in (Order, OrderLine, Allocation, Fulfilment, FulfilmentLine, Return,
                      ReturnLine, Refund, TimelineEvent)
    }  # fmt: skip
    rows: dict = defaultdict(list)
    actor = "system:history-import"

    def timeline(order_id, kind, message, at, data=None):
        rows[TimelineEvent].append(
            {"id": ids[TimelineEvent].take(), "order_id": order_id, "kind": kind,
             "message": message, "data": data or {}, "actor": actor, "created_at": at}
        )  # fmt: skip

    for index, (day, customer, channel_id) in enumerate(tqdm(plan, desc="orders", leave=False)):
        kind = kinds[channel_id]
        hour = rng.randint(9, 20) if kind == ChannelKind.STORE else rng.choice(range(24))
        placed = datetime.combine(start + timedelta(days=day), time(hour, rng.randint(0, 59)), UTC)
        if kind == ChannelKind.STORE:
            method = "in_store"
        elif kind in (ChannelKind.WEB, ChannelKind.APP) and rng.random() < 0.2:
            method = "pickup"
        else:
            method = "ship"
        channel_locs = world.channel_locations[channel_id]
        if method == "in_store":
            location = channel_locs[0]
        elif method == "pickup":
            location = rng.choice(world.pickup_locations)
        else:
            location = channel_locs[0] if rng.random() < 0.85 else rng.choice(channel_locs)
        variant_ids, cum = world.listed[channel_id]
        prices = world.prices[channel_id]
        n_lines = rng.choices([1, 2, 3, 4], weights=[55, 25, 12, 8])[0]
        chosen = [rng.choices(variant_ids, cum_weights=cum)[0]]
        for _ in range(n_lines - 1):
            if rng.random() < 0.6:
                companion = rng.choice(world.companions[world.variant_product[chosen[0]]])
                candidates = [v for v in world.variants_of[companion] if v in prices]
                pick = rng.choice(candidates) if candidates else None
            else:
                pick = rng.choices(variant_ids, cum_weights=cum)[0]
            if pick is not None and pick not in chosen:
                chosen.append(pick)
        promo = rng.random() < (0.3 if kind in (ChannelKind.WEB, ChannelKind.APP) else 0.15)
        rate = Decimal(rng.choice(["0.10", "0.15", "0.20"])) if promo else Decimal(0)
        lines = []
        for variant_id in chosen:
            quantity = rng.choices([1, 2, 3], weights=[80, 15, 5])[0]
            unit_price = prices[variant_id]
            discount = (unit_price * quantity * rate).quantize(CENT)
            lines.append([variant_id, quantity, unit_price, discount, 0])

        # What happened next: cancelled, never collected, or fulfilled (then maybe returned).
        status, cancelled_at, fulfil = "completed", None, None
        roll = rng.random()
        if method != "in_store" and roll < 0.03:
            status, cancelled_at = "cancelled", placed + timedelta(hours=rng.randint(1, 10))
        elif method == "pickup" and roll < 0.09:
            ready = placed + timedelta(hours=rng.randint(1, 24))
            status, cancelled_at = "cancelled", ready + timedelta(days=7)
            fulfil = ("cancelled", ready, None)
        elif method == "in_store":
            fulfil = ("collected", placed, placed)
        elif method == "pickup":
            ready = placed + timedelta(hours=rng.randint(1, 24))
            fulfil = ("collected", ready, ready + timedelta(hours=rng.randint(1, 72)))
        else:
            hours = int(rng.lognormvariate(3.0, 0.6))
            fulfil = ("shipped", placed + timedelta(hours=hours), None)
        if cancelled_at and cancelled_at > now:
            cancelled_at = now - timedelta(minutes=1)
        done_at = None
        if fulfil and fulfil[0] != "cancelled":
            done_at = fulfil[2] or fulfil[1]
            if done_at > now:
                shift = done_at - now + timedelta(minutes=5)
                fulfil = (fulfil[0], fulfil[1] - shift, fulfil[2] - shift if fulfil[2] else None)
                done_at -= shift
        returned = None
        return_rate = 0.1 if kind in (ChannelKind.WEB, ChannelKind.APP) else 0.05
        if done_at and rng.random() < return_rate:
            at = done_at + timedelta(days=rng.randint(2, 25), hours=rng.randint(0, 8))
            if at < now:
                line_index = rng.randrange(len(lines))
                qty = rng.randint(1, lines[line_index][1])
                where = (
                    rng.choice(world.pickup_locations)
                    if kind != ChannelKind.STORE and rng.random() < 0.5
                    else location
                )
                returned = (at, line_index, qty, where)
        completed_at = None
        if status != "cancelled":
            if returned:
                all_back = len(lines) == 1 and returned[2] == lines[0][1]
                status = "returned" if all_back else "partially_returned"
            elif (now - done_at).days < 14:
                status = "fulfilled"
            else:
                completed_at = done_at + timedelta(days=14)

        order_id = ids[Order].take()
        subtotal = sum((u * q for _, q, u, _, _ in lines), Decimal(0))
        discount_total = sum((line[3] for line in lines), Decimal(0))
        total = subtotal - discount_total
        refunded = Decimal(0)
        cancelled = status == "cancelled"
        line_ids, alloc_ids = [], []
        for line in lines:
            variant_id, quantity, unit_price, discount, _ = line
            line_id, alloc_id = ids[OrderLine].take(), ids[Allocation].take()
            line_ids.append(line_id)
            alloc_ids.append(alloc_id)
            sku, name = world.sku[variant_id]
            rows[OrderLine].append(
                {
                    "id": line_id, "order_id": order_id, "variant_id": variant_id, "sku": sku,
                    "name": name, "quantity": quantity,
                    "quantity_fulfilled": 0 if cancelled else quantity,
                    "quantity_cancelled": quantity if cancelled else 0,
                    "unit_price": unit_price,
                    "discounts": [{"source": "promotion", "name": "Seasonal offer",
                                   "amount": str(discount)}] if discount else [],
                    "discount_total": discount,
                    "line_total": unit_price * quantity - discount,
                    "fulfilment_method": method,
                    "pickup_location_id": location if method == "pickup" else None,
                }
            )  # fmt: skip
            rows[Allocation].append(
                {
                    "id": alloc_id, "line_id": line_id, "location_id": location,
                    "quantity": quantity,
                    "quantity_fulfilled": 0 if cancelled else quantity,
                    "quantity_released": quantity if cancelled else 0,
                    "strategy": "history", "reason": "historical order", "created_at": placed,
                }
            )  # fmt: skip
        if fulfil is not None:
            state, first_at, second_at = fulfil
            fulfilment_id = ids[Fulfilment].take()
            rows[Fulfilment].append(
                {
                    "id": fulfilment_id, "order_id": order_id, "location_id": location,
                    "method": method, "status": state, "created_at": placed,
                    "packed_at": first_at if method == "ship" else None,
                    "shipped_at": first_at if method == "ship" else None,
                    "ready_at": first_at if method == "pickup" else None,
                    "collected_at": second_at if method != "ship" else None,
                    "cancelled_at": cancelled_at if state == "cancelled" else None,
                }
            )  # fmt: skip
            if state != "cancelled":
                for line, line_id, alloc_id in zip(lines, line_ids, alloc_ids, strict=True):
                    rows[FulfilmentLine].append(
                        {"id": ids[FulfilmentLine].take(), "fulfilment_id": fulfilment_id,
                         "line_id": line_id, "allocation_id": alloc_id, "quantity": line[1]}
                    )  # fmt: skip
        if returned is not None:
            at, line_index, qty, where = returned
            line = lines[line_index]
            line_total = line[2] * line[1] - line[3]
            refunded = (line_total * qty / line[1]).quantize(CENT)
            return_id = ids[Return].take()
            rows[Return].append(
                {"id": return_id, "order_id": order_id, "location_id": where,
                 "channel_id": channel_id, "reason": "Changed mind",
                 "external_id": f"hist-return-{order_id}", "created_at": at}
            )  # fmt: skip
            rows[ReturnLine].append(
                {"id": ids[ReturnLine].take(), "return_record_id": return_id,
                 "line_id": line_ids[line_index], "quantity": qty, "restock": True,
                 "refund_amount": refunded}
            )  # fmt: skip
            if refunded > 0:
                rows[Refund].append(
                    {"id": ids[Refund].take(), "order_id": order_id, "return_record_id": return_id,
                     "amount": refunded, "method": "original_payment", "reason": "Return",
                     "created_at": at}
                )  # fmt: skip
            rows[OrderLine][-len(lines) + line_index]["quantity_returned"] = qty
        customer_id = pool[customer % len(pool)] if customer is not None and pool else None
        if refunded == 0:
            payment_status = "paid"
        else:
            payment_status = "refunded" if refunded == total else "partially_refunded"
        rows[Order].append(
            {
                "id": order_id, "number": f"{PREFIX}{index + 1:06d}", "channel_id": channel_id,
                "external_id": f"hist-{index + 1:06d}", "status": status,
                "customer_id": customer_id, "customer_name": "" if customer_id else "Guest",
                "fulfilment_method": method,
                "pickup_location_id": location if method == "pickup" else None,
                "currency": "USD", "subtotal": subtotal, "discount_total": discount_total,
                "total": total, "refunded_total": refunded, "payment_status": payment_status,
                "payment_amount": total, "quote": {"historical": True},
                "sourcing_strategy": "history",
                "note": f"Historical order imported for analytics ({codes[channel_id]}).",
                "created_at": placed,
                "updated_at": cancelled_at or (returned[0] if returned else done_at) or placed,
                "completed_at": completed_at, "cancelled_at": cancelled_at,
            }
        )  # fmt: skip
        timeline(order_id, "placed", "Order placed", placed)
        steps = [("pending", "confirmed", placed)]
        if cancelled_at:
            steps.append(("confirmed", "cancelled", cancelled_at))
        elif done_at:
            steps.append(("confirmed", "fulfilled", done_at))
            if returned:
                steps.append(("fulfilled", status, returned[0]))
            elif completed_at:
                steps.append(("fulfilled", "completed", completed_at))
        for before, after, at in steps:
            timeline(order_id, "status_changed", f"{before} -> {after}", at,
                     {"from": before, "to": after})  # fmt: skip

    for model in ids:
        model_rows_insert(model, rows[model])
    sequences_reset(*ids)
    return len(rows[Order])


# --- analytics tables -------------------------------------------------------------------------


def analytics_build(out, rng: random.Random) -> None:
    """Facts and rollups, events, snapshots, recommendations, forecasts and suggestions; each
    only when missing, so a second run is quick."""
    from analytics.forecast import forecasts_rebuild
    from analytics.recommendations import recommendations_rebuild
    from analytics.replenishment import suggestions_rebuild
    from analytics.services import event_days_rebuild, rollups_rebuild
    from orders.models import Order

    clock = monotonic()

    def done(message: str) -> None:
        nonlocal clock
        out.write(f"  analytics: {message} ({monotonic() - clock:.1f} s)")
        clock = monotonic()

    if OrderFact.objects.count() != Order.objects.count():
        rollups_rebuild()
        done(f"rollups built from {OrderFact.objects.count():,} orders")
    if not BehaviourEvent.objects.exists():
        written = events_generate(rng)
        event_days_rebuild(channel_id=None, days=None)
        done(f"{written:,} storefront events for the funnel")
    if not StockDay.objects.exists():
        done(f"{snapshots_reconstruct():,} stock snapshots (reconstructed)")
    if not ProductAffinity.objects.exists():
        pairs, customers = recommendations_rebuild()
        done(f"{pairs:,} bought-together pairs, {customers:,} customers with suggestions")
    if not DemandForecast.objects.exists():
        series = forecasts_rebuild(max_series=FORECAST_SERIES)
        done(f"{series} demand forecasts (the {FORECAST_SERIES} best sellers and each channel)")
        done(f"{suggestions_rebuild()} replenishment suggestions")


@transaction.atomic
def events_generate(rng: random.Random) -> int:
    """Storefront sessions for the last EVENT_DAYS days, sized so each channel converts at its
    CONVERSION rate: every session views a product, some add to cart, fewer start checkout."""
    import uuid

    from analytics.models import ChannelDay

    today = timezone.localdate()
    received = timezone.now()
    since = today - timedelta(days=EVENT_DAYS)
    channels = {c.id: c for c in Channel.objects.filter(kind__in=list(CONVERSION))}
    variants = list(Stock.objects.values_list("variant_id", "variant__product_id").distinct()[:500])
    if not variants:
        from analytics.models import VariantLocationDay

        variants = list(
            VariantLocationDay.objects.values_list("variant_id", "product_id").distinct()[:500]
        )
    if not variants:
        return 0
    rows = []
    for channel_id, day, orders in ChannelDay.objects.filter(
        channel_id__in=channels, day__gte=since, day__lt=today
    ).values_list("channel_id", "day", "orders"):
        sessions = max(orders, round(orders / CONVERSION[channels[channel_id].kind]))
        for s in range(sessions):
            session = f"{channel_id}-{day:%Y%m%d}-{s}"
            variant_id, product_id = rng.choice(variants)
            moment = datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)), UTC)
            steps = [EventKind.PRODUCT_VIEW]
            roll = rng.random()
            if s < orders or roll < 0.25:
                steps.append(EventKind.ADD_TO_CART)
            if s < orders or roll < 0.06:
                steps.append(EventKind.CHECKOUT_START)
            for step_index, kind in enumerate(steps):
                with_product = kind != EventKind.CHECKOUT_START
                rows.append(
                    (
                        uuid.UUID(int=rng.getrandbits(128)), channel_id, kind, session,
                        variant_id if with_product else None,
                        product_id if with_product else None,
                        moment + timedelta(minutes=2 * step_index), day, received,
                    )
                )  # fmt: skip
    rows_insert(
        BehaviourEvent,
        ["event_id", "channel_id", "kind", "session_id", "variant_id", "product_id",
         "occurred_at", "day", "received_at"],
        rows,
    )  # fmt: skip
    return len(rows)


@transaction.atomic
def snapshots_reconstruct() -> int:
    """End-of-day stock for the last SNAPSHOT_DAYS days, walked back from today's stock by
    adding back the units sold (and removing the units returned) since each day. Historical
    receipts are unknown, so this is the lower bound of what stood on the shelves."""
    from analytics.models import VariantLocationDay

    today = timezone.localdate()
    since = today - timedelta(days=SNAPSHOT_DAYS)
    stock = {
        (v, loc): (on_hand, reserved, incoming)
        for v, loc, on_hand, reserved, incoming in Stock.objects.values_list(
            "variant_id", "location_id", "on_hand", "reserved", "incoming"
        )
    }
    moves: dict[tuple[int, int], dict] = defaultdict(dict)
    for v, loc, day, units, returned in VariantLocationDay.objects.filter(
        day__gte=since, location__isnull=False
    ).values_list("variant_id", "location_id", "day", "units", "returned_units"):
        moves[(v, loc)][day] = units - returned
    rows = []
    for key, (on_hand, reserved, incoming) in stock.items():
        level = on_hand
        daily = moves.get(key, {})
        for back in range(SNAPSHOT_DAYS + 1):
            day = today - timedelta(days=back)
            rows.append(
                (
                    key[0], key[1], day, max(0, level),
                    max(0, level - (reserved if back == 0 else 0)),
                    incoming if back == 0 else 0,
                )
            )  # fmt: skip
            level += daily.get(day, 0)
    rows_insert(
        StockDay, ["variant_id", "location_id", "day", "on_hand", "available", "incoming"], rows
    )
    return len(rows)
