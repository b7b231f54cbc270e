"""KPI selectors: every figure the dashboard and the staff API show, read from the rollups.

Every KPI is computed for a period and for the previous period of the same length, so the
change is always at hand. Money comes back as Decimal rounded to cents, rates as Decimal
fractions (0.1250 = 12.5 %), a KPI whose denominator is zero as None.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Min, Q, Sum

from analytics.models import (
    ChannelDay,
    CustomerChannel,
    CustomerMonth,
    EventDay,
    EventKind,
    FulfilmentDay,
    OrderFact,
    ReplenishmentSuggestion,
    StockDay,
    SuggestionStatus,
    VariantLocationDay,
)
from inventory.models import Stock
from omni.models import Channel

CENT = Decimal("0.01")
RATE = Decimal("0.0001")
ZERO = Decimal("0")
# A churn below 5 % per period would promise customers who stay for ever: cap the lifetime.
MAX_LIFETIME_PERIODS = 20


@dataclass(frozen=True)
class Period:
    """An inclusive range of days."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days}


def _money(value) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator or 0) / Decimal(denominator)).quantize(RATE)


def _money_ratio(numerator, denominator) -> Decimal | None:
    if not denominator:
        return None
    return (Decimal(numerator or 0) / Decimal(denominator)).quantize(CENT)


def _change(value, previous) -> Decimal | None:
    if value is None or previous is None or not previous:
        return None
    return ((Decimal(value) - Decimal(previous)) / abs(Decimal(previous))).quantize(RATE)


def _compare(current: dict, previous: dict) -> dict:
    return {
        name: {
            "value": value,
            "previous": previous.get(name),
            "change": _change(value, previous.get(name)),
        }
        for name, value in current.items()
    }


def _channel_q(channel_ids: Sequence[int] | None, field: str = "channel_id") -> Q:
    return Q(**{f"{field}__in": list(channel_ids)}) if channel_ids else Q()


# --- sales ------------------------------------------------------------------------------------

SALES_SUMS = [
    "orders",
    "cancelled_orders",
    "units",
    "gross_sales",
    "discounts",
    "net_sales",
    "returned_units",
    "returns_amount",
    "new_customer_orders",
    "returning_customer_orders",
    "guest_orders",
    "pickup_orders",
    "pickups_collected",
    "fulfilled_orders",
]


def _sales_figures(row: dict, sessions: int | None, tracked_orders: int | None = None) -> dict:
    orders = row.get("orders") or 0
    units = row.get("units") or 0
    gross = row.get("gross_sales") or ZERO
    pickups = row.get("pickup_orders") or 0
    collected = row.get("pickups_collected") or 0
    return {
        "net_sales": _money(row.get("net_sales")),
        "gross_sales": _money(gross),
        "discounts": _money(row.get("discounts")),
        "orders": orders,
        "cancelled_orders": row.get("cancelled_orders") or 0,
        "units": units,
        "average_order_value": _money_ratio(row.get("net_sales"), orders),
        "units_per_order": _ratio(units, orders),
        "discount_rate": _ratio(row.get("discounts"), gross),
        "returned_units": row.get("returned_units") or 0,
        "returns_amount": _money(row.get("returns_amount")),
        "return_rate": _ratio(row.get("returned_units"), units),
        "new_customer_orders": row.get("new_customer_orders") or 0,
        "returning_customer_orders": row.get("returning_customer_orders") or 0,
        "guest_orders": row.get("guest_orders") or 0,
        "sessions": sessions,
        "conversion_rate": (
            _ratio(orders if tracked_orders is None else tracked_orders, sessions)
            if sessions
            else None
        ),
        "pickup_orders": pickups,
        "pickups_collected": collected,
        "pickups_not_collected": pickups - collected,
        "pickup_collection_rate": _ratio(collected, pickups),
    }


def _sessions(period: Period, channel_ids) -> tuple[int, int]:
    """Product-view sessions and the orders of the channels that send events: channels
    without a storefront (stores, marketplaces) must not inflate the conversion rate."""
    per_channel = dict(
        EventDay.objects.filter(
            _channel_q(channel_ids),
            day__range=(period.start, period.end),
            kind=EventKind.PRODUCT_VIEW,
        )
        .values("channel_id")
        .annotate(s=Sum("sessions"))
        .values_list("channel_id", "s")
    )
    tracked = [cid for cid, sessions in per_channel.items() if sessions]
    if not tracked:
        return 0, 0
    orders = ChannelDay.objects.filter(
        channel_id__in=tracked, day__range=(period.start, period.end)
    ).aggregate(n=Sum("orders"))["n"]
    return sum(per_channel[cid] for cid in tracked), orders or 0


def _fulfilment_percentiles(period: Period, channel_ids) -> dict:
    histogram = (
        FulfilmentDay.objects.filter(_channel_q(channel_ids), day__range=(period.start, period.end))
        .values("hours")
        .annotate(n=Sum("orders"))
        .order_by("hours")
    )
    return fulfilment_percentiles_from_histogram([(row["hours"], row["n"]) for row in histogram])


def fulfilment_percentiles_from_histogram(histogram: Sequence[tuple[int, int]]) -> dict:
    """Median and p90 of whole hours from (hours, orders) pairs sorted by hours (nearest-rank)."""
    total = sum(n for _, n in histogram)
    out: dict = {"fulfilment_hours_median": None, "fulfilment_hours_p90": None}
    if not total:
        return out
    targets = {"fulfilment_hours_median": 0.5, "fulfilment_hours_p90": 0.9}
    for name, share in targets.items():
        rank = max(1, -(-int(share * total * 1000) // 1000))  # ceil without float drift
        seen = 0
        for hours, n in histogram:
            seen += n
            if seen >= rank:
                out[name] = hours
                break
    return out


def sales_kpis(*, period: Period, channel_ids: Sequence[int] | None = None) -> dict:
    """Sales, conversion, returns, pickups and fulfilment time of one period (4 queries)."""
    row = ChannelDay.objects.filter(
        _channel_q(channel_ids), day__range=(period.start, period.end)
    ).aggregate(**{name: Sum(name) for name in SALES_SUMS})
    figures = _sales_figures(row, *_sessions(period, channel_ids))
    figures.update(_fulfilment_percentiles(period, channel_ids))
    return figures


def kpi_summary(*, period: Period, channel_ids: Sequence[int] | None = None) -> dict:
    """Sales KPIs for the period with the previous period and the relative change."""
    current = sales_kpis(period=period, channel_ids=channel_ids)
    previous = sales_kpis(period=period.previous(), channel_ids=channel_ids)
    return {
        "period": period.as_dict(),
        "previous_period": period.previous().as_dict(),
        "channels": list(channel_ids) if channel_ids else None,
        "kpis": _compare(current, previous),
    }


def kpi_by_channel(*, period: Period) -> list[dict]:
    """Sales KPIs per channel (every channel with activity in either period), 4 queries."""
    previous = period.previous()

    def grouped(p: Period) -> tuple[dict, dict]:
        rows = (
            ChannelDay.objects.filter(day__range=(p.start, p.end))
            .values("channel_id")
            .annotate(**{name: Sum(name) for name in SALES_SUMS})
        )
        sessions = (
            EventDay.objects.filter(day__range=(p.start, p.end), kind=EventKind.PRODUCT_VIEW)
            .values("channel_id")
            .annotate(s=Sum("sessions"))
        )
        return {r["channel_id"]: r for r in rows}, {r["channel_id"]: r["s"] for r in sessions}

    cur_rows, cur_sessions = grouped(period)
    prev_rows, prev_sessions = grouped(previous)
    ids = set(cur_rows) | set(prev_rows) | set(cur_sessions)
    channels = {c.id: c for c in Channel.objects.filter(id__in=ids)}
    total_net = sum((r["net_sales"] or ZERO for r in cur_rows.values()), ZERO)
    out = []
    for channel_id in sorted(ids, key=lambda i: channels[i].code if i in channels else ""):
        channel = channels.get(channel_id)
        current = _sales_figures(cur_rows.get(channel_id, {}), cur_sessions.get(channel_id))
        current["share_of_net_sales"] = _ratio(current["net_sales"], total_net)
        prev = _sales_figures(prev_rows.get(channel_id, {}), prev_sessions.get(channel_id))
        out.append(
            {
                "channel_id": channel_id,
                "channel": channel.code if channel else None,
                "name": channel.name if channel else None,
                "kpis": _compare(current, prev),
            }
        )
    return out


def sales_series(*, period: Period, channel_ids: Sequence[int] | None = None) -> list[dict]:
    """Net sales and orders per channel and day (chart data), one query."""
    rows = (
        ChannelDay.objects.filter(_channel_q(channel_ids), day__range=(period.start, period.end))
        .values("day", "channel__code")
        .annotate(net_sales=Sum("net_sales"), orders=Sum("orders"), units=Sum("units"))
        .order_by("day", "channel__code")
    )
    return [
        {
            "day": r["day"],
            "channel": r["channel__code"],
            "net_sales": _money(r["net_sales"]),
            "orders": r["orders"],
            "units": r["units"],
        }
        for r in rows
    ]


def funnel(*, period: Period, channel_ids: Sequence[int] | None = None) -> list[dict]:
    """Sessions reaching each step (view, cart, checkout) and orders, per channel."""
    events = (
        EventDay.objects.filter(_channel_q(channel_ids), day__range=(period.start, period.end))
        .values("channel_id", "channel__code", "kind")
        .annotate(sessions=Sum("sessions"), events=Sum("events"))
    )
    orders = dict(
        ChannelDay.objects.filter(_channel_q(channel_ids), day__range=(period.start, period.end))
        .values("channel_id")
        .annotate(n=Sum("orders"))
        .values_list("channel_id", "n")
    )
    per_channel: dict[int, dict] = {}
    for row in events:
        entry = per_channel.setdefault(
            row["channel_id"],
            {"channel": row["channel__code"], **{k.value: 0 for k in EventKind}},
        )
        entry[row["kind"]] = row["sessions"]
    out = []
    for channel_id, entry in sorted(per_channel.items(), key=lambda kv: kv[1]["channel"]):
        entry["orders"] = orders.get(channel_id, 0)
        views = entry[EventKind.PRODUCT_VIEW.value]
        entry["cart_rate"] = _ratio(entry[EventKind.ADD_TO_CART.value], views)
        entry["checkout_rate"] = _ratio(entry[EventKind.CHECKOUT_START.value], views)
        entry["conversion_rate"] = _ratio(entry["orders"], views)
        out.append(entry)
    return out


# --- customers --------------------------------------------------------------------------------


def _customer_period(period: Period, channel_ids) -> dict:
    active = (
        OrderFact.objects.filter(
            _channel_q(channel_ids),
            day__range=(period.start, period.end),
            cancelled=False,
            customer_id__isnull=False,
        )
        .values("customer_id")
        .annotate(n=Count("id"), channels=Count("channel_id", distinct=True), net=Sum("net"))
    )
    customers = repeat = multi = 0
    spend = ZERO
    ids = set()
    for row in active:
        customers += 1
        repeat += row["n"] >= 2
        multi += row["channels"] >= 2
        spend += row["net"] or ZERO
        ids.add(row["customer_id"])
    return {"customers": customers, "repeat": repeat, "multi": multi, "spend": spend, "ids": ids}


def customer_kpis(*, period: Period, channel_ids: Sequence[int] | None = None) -> dict:
    """Repeat purchase rate, cross-channel share and lifetime value, with previous period.

    - repeat purchase rate: customers with two or more orders in the period / active customers;
    - cross-channel share: active customers who bought in more than one channel in the period;
    - historical CLV: lifetime net sales up to the period end / customers who bought by then;
    - predictive CLV: net sales per active customer in the period x expected lifetime in
      periods, 1 / (1 - retention), retention being the share of the previous period's active
      customers active again (lifetime capped at 20 periods).
    """
    previous = period.previous()
    before_previous = previous.previous()
    cur = _customer_period(period, channel_ids)
    prev = _customer_period(previous, channel_ids)
    prev_prev_ids = _customer_period(before_previous, channel_ids)["ids"]

    def figures(p: Period, data: dict, earlier_ids: set) -> dict:
        lifetime = OrderFact.objects.filter(
            _channel_q(channel_ids), day__lte=p.end, cancelled=False, customer_id__isnull=False
        ).aggregate(net=Sum("net"), customers=Count("customer_id", distinct=True))
        retention = (
            _ratio(len(data["ids"] & earlier_ids), len(earlier_ids)) if earlier_ids else None
        )
        spend_per_customer = data["spend"] / data["customers"] if data["customers"] else None
        predictive = None
        if spend_per_customer is not None and retention is not None:
            lifetime_periods = (
                Decimal(MAX_LIFETIME_PERIODS)
                if retention >= 1
                else min(Decimal(MAX_LIFETIME_PERIODS), 1 / (1 - retention))
            )
            predictive = _money(spend_per_customer * lifetime_periods)
        return {
            "active_customers": data["customers"],
            "repeat_customers": data["repeat"],
            "repeat_purchase_rate": _ratio(data["repeat"], data["customers"]),
            "cross_channel_customers": data["multi"],
            "cross_channel_share": _ratio(data["multi"], data["customers"]),
            "retention_rate": retention,
            "clv_historical": _money_ratio(lifetime["net"], lifetime["customers"]),
            "clv_predictive": predictive,
        }

    return {
        "period": period.as_dict(),
        "previous_period": previous.as_dict(),
        "kpis": _compare(figures(period, cur, prev["ids"]), figures(previous, prev, prev_prev_ids)),
    }


def channel_flow(*, period: Period) -> dict:
    """For customers acquired in the period: first channel -> channels they bought in later.

    `flows` counts customers per (first channel, later channel); a customer who only came back
    to the first channel counts as (A, A); `single_order` counts those who never came back.
    """
    rows = list(
        CustomerChannel.objects.values(
            "customer_id", "channel__code", "first_placed_at", "first_day", "orders"
        ).filter(
            customer_id__in=CustomerChannel.objects.values("customer_id")
            .annotate(first=Min("first_day"))
            .filter(first__range=(period.start, period.end))
            .values("customer_id")
        )
    )
    by_customer: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_customer[row["customer_id"]].append(row)
    flows: dict[tuple[str, str], int] = defaultdict(int)
    single = 0
    for entries in by_customer.values():
        entries.sort(key=lambda r: (r["first_placed_at"], r["channel__code"]))
        first = entries[0]
        later = [e["channel__code"] for e in entries[1:]]
        if first["orders"] > 1:
            later.insert(0, first["channel__code"])
        if not later:
            single += 1
        for code in later:
            flows[(first["channel__code"], code)] += 1
    acquired = len(by_customer)
    return {
        "period": period.as_dict(),
        "acquired_customers": acquired,
        "single_order": single,
        "flows": [
            {"from": a, "to": b, "customers": n, "share": _ratio(n, acquired)}
            for (a, b), n in sorted(flows.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }


def _month_index(month: date) -> int:
    return month.year * 12 + month.month - 1


def cohorts(*, start_month: date, end_month: date) -> list[dict]:
    """Monthly acquisition cohorts (month of the first order in any channel) with the share of
    the cohort buying again in each following month (month 0 is 1.0 by definition)."""
    start_month = start_month.replace(day=1)
    end_month = end_month.replace(day=1)
    first_days = (
        CustomerChannel.objects.values("customer_id")
        .annotate(first=Min("first_day"))
        .filter(first__gte=start_month)
    )
    cohort_of: dict[int, int] = {}
    for row in first_days:
        idx = _month_index(row["first"])
        if idx <= _month_index(end_month):
            cohort_of[row["customer_id"]] = idx
    sizes: dict[int, int] = defaultdict(int)
    for idx in cohort_of.values():
        sizes[idx] += 1
    active: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for customer_id, month in CustomerMonth.objects.filter(month__gte=start_month).values_list(
        "customer_id", "month"
    ):
        cohort = cohort_of.get(customer_id)
        if cohort is not None:
            active[cohort][_month_index(month) - cohort] += 1
    last = _month_index(end_month)
    out = []
    for idx in range(_month_index(start_month), last + 1):
        size = sizes.get(idx, 0)
        span = last - idx
        out.append(
            {
                "cohort": date(idx // 12, idx % 12 + 1, 1).isoformat(),
                "customers": size,
                "retention": [_ratio(active[idx].get(k, 0), size) for k in range(span + 1)],
            }
        )
    return out


# --- products and stock -----------------------------------------------------------------------


def top_products(
    *, period: Period, limit: int = 10, location_ids: Sequence[int] | None = None
) -> list[dict]:
    """Best sellers by net sales in the period (all channels), one query."""
    rows = (
        VariantLocationDay.objects.filter(
            _channel_q(location_ids, "location_id"), day__range=(period.start, period.end)
        )
        .values("product_id", "product__name")
        .annotate(
            net_sales=Sum("net_sales"),
            units=Sum("units"),
            returned_units=Sum("returned_units"),
        )
        .order_by("-net_sales", "product_id")[:limit]
    )
    return [
        {
            "product_id": r["product_id"],
            "name": r["product__name"],
            "net_sales": _money(r["net_sales"]),
            "units": r["units"],
            "returned_units": r["returned_units"],
            "return_rate": _ratio(r["returned_units"], r["units"]),
        }
        for r in rows
    ]


def _inventory_figures(period: Period, location_ids) -> dict:
    loc_q = _channel_q(location_ids, "location_id")
    sold = (
        VariantLocationDay.objects.filter(loc_q, day__range=(period.start, period.end)).aggregate(
            u=Sum("units")
        )["u"]
        or 0
    )
    snaps = StockDay.objects.filter(loc_q, day__range=(period.start, period.end))
    agg = snaps.aggregate(
        rows=Count("id"),
        out=Count("id", filter=Q(available__lte=0)),
        on_hand=Sum("on_hand"),
        days=Count("day", distinct=True),
        last=Max("day"),
    )
    ending = (
        snaps.filter(day=agg["last"]).aggregate(s=Sum("on_hand"))["s"] or 0 if agg["last"] else None
    )
    average_on_hand = Decimal(agg["on_hand"]) / agg["days"] if agg["days"] else None
    daily_sales = Decimal(sold) / period.days
    return {
        "units_sold": sold,
        "stockout_rate": _ratio(agg["out"], agg["rows"]),
        "ending_on_hand": ending,
        "sell_through": _ratio(sold, sold + ending) if ending is not None else None,
        "inventory_turnover": _ratio(sold, average_on_hand) if average_on_hand else None,
        "days_of_cover": (
            (Decimal(ending) / daily_sales).quantize(Decimal("0.1"))
            if ending is not None and daily_sales
            else None
        ),
    }


def inventory_kpis(*, period: Period, location_ids: Sequence[int] | None = None) -> dict:
    """Stock KPIs from daily snapshots and sales, per location set (all when None):

    - stockout rate: share of variant x location x day snapshots with nothing available;
    - sell-through: units sold / (units sold + on hand at the period's last snapshot);
    - inventory turnover: units sold / average daily on-hand units over the period;
    - days of cover: on hand at the period's end / average units sold per day.
    """
    return {
        "period": period.as_dict(),
        "previous_period": period.previous().as_dict(),
        "kpis": _compare(
            _inventory_figures(period, location_ids),
            _inventory_figures(period.previous(), location_ids),
        ),
    }


def low_stock(*, limit: int = 50) -> list[dict]:
    """Stock rows at or below their reorder point (available), most urgent first."""
    rows = (
        Stock.objects.filter(variant__active=True, location__active=True)
        .annotate(avail=F("on_hand") - F("reserved"))
        .filter(Q(avail__lte=F("reorder_point")) | Q(avail__lte=0))
        .select_related("variant", "location")
        .order_by("avail", "id")[:limit]
    )
    return [
        {
            "sku": s.variant.sku,
            "variant_id": s.variant_id,
            "location": s.location.code,
            "location_id": s.location_id,
            "on_hand": s.on_hand,
            "available": s.avail,
            "incoming": s.incoming,
            "reorder_point": s.reorder_point,
        }
        for s in rows
    ]


def open_suggestions(*, limit: int | None = None):
    """Open replenishment suggestions with their variant and locations, biggest first."""
    qs = ReplenishmentSuggestion.objects.filter(status=SuggestionStatus.OPEN).select_related(
        "variant", "location", "source_location"
    )
    return qs[:limit] if limit else qs
