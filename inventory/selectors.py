"""Read queries over stock: available-to-sell per channel, sourcing candidates, availability
for the storefront, low stock and ledger drift."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from catalog.models import Variant
from inventory.models import ChannelLocation, Reservation, Stock, StockLocation, StockMovement
from omni.models import Channel
from omni.sql import execute_prepared


@dataclass(frozen=True)
class LocationAvailability:
    location_id: int
    location_code: str
    priority: int
    available: int
    ships_enabled: bool
    pickup_enabled: bool
    latitude: Decimal | None
    longitude: Decimal | None


def apply_channel_rule(
    *, pool: int, safety_stock: int, availability_cap: int | None, availability_share: int
) -> int:
    """The channel's availability rule on a pooled quantity: its share of the pool (rounded
    down), less its safety buffer, at most its cap, never below 0."""
    shown = pool * availability_share // 100 - safety_stock
    if availability_cap is not None:
        shown = min(shown, availability_cap)
    return max(0, shown)


def channel_rule(channel: Channel, pool: int) -> int:
    return apply_channel_rule(
        pool=pool,
        safety_stock=channel.safety_stock,
        availability_cap=channel.availability_cap,
        availability_share=channel.availability_share,
    )


def _channel_location_ids(channel: Channel):
    return ChannelLocation.objects.filter(channel=channel).values("location_id")


def _channel_stocks(channel: Channel):
    """Stock rows at the channel's active locations (a lazy queryset)."""
    return Stock.objects.filter(
        location__active=True, location_id__in=_channel_location_ids(channel)
    )


def available_to_sell(*, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
    """Available-to-sell per variant in `channel`: the pooled `available` over its active
    locations after the channel's rule. Every requested id is present (0 when none). One query."""
    ids = list(set(variant_ids))
    pools = dict(
        _channel_stocks(channel)
        .filter(variant_id__in=ids)
        .values("variant_id")
        .annotate(pool=Sum(F("on_hand") - F("reserved")))
        .values_list("variant_id", "pool")
    )
    return {vid: channel_rule(channel, pools.get(vid, 0)) for vid in ids}


def in_stock_variants_q(*, channel: Channel) -> Q:
    """A Variant filter keeping variants whose available-to-sell in `channel` is > 0."""
    share = channel.availability_share
    if share == 0 or channel.availability_cap == 0:
        return Q(pk__in=[])
    # floor(pool * share / 100) - safety > 0  <=>  pool * share >= (safety + 1) * 100
    minimum_pool = -(-(channel.safety_stock + 1) * 100 // share)
    pooled = (
        _channel_stocks(channel)
        .values("variant_id")
        .annotate(pool=Sum(F("on_hand") - F("reserved")))
        .filter(pool__gte=minimum_pool)
        .values("variant_id")
    )
    return Q(pk__in=pooled)


def sourcing_candidates(
    *, channel: Channel, variant_ids: Iterable[int], pickup_location_id: int | None = None
) -> dict[int, list[LocationAvailability]]:
    """Per variant, the channel's active locations holding available stock (> 0), in the
    channel's priority order (then location code). With `pickup_location_id`, only that location
    (if it is one of the channel's active pickup locations). One query.

    Per-location figures are not shaped by the channel rule; `stock_reserve` enforces it."""
    ids = list(set(variant_ids))
    out: dict[int, list[LocationAvailability]] = {vid: [] for vid in ids}
    if not ids:
        return out
    # Plain SQL, prepared: this runs on every checkout, where compiling the ORM query and
    # planning it cost more than running it. (channel, location) is unique, so the join yields
    # one row per stock row.
    params: list = [channel.pk, True, *ids]
    pickup = ""
    if pickup_location_id is not None:
        pickup = "AND s.location_id = %s AND l.pickup_enabled = %s "
        params += [pickup_location_id, True]
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "SELECT s.variant_id, s.location_id, l.code, cl.priority, s.on_hand - s.reserved, "
            "l.ships_enabled, l.pickup_enabled, l.latitude, l.longitude "
            f"FROM {Stock._meta.db_table} s "
            f"JOIN {StockLocation._meta.db_table} l ON l.id = s.location_id "
            f"JOIN {ChannelLocation._meta.db_table} cl "
            "ON cl.location_id = s.location_id AND cl.channel_id = %s "
            f"WHERE l.active = %s AND s.variant_id IN ({', '.join(['%s'] * len(ids))}) "
            f"AND s.on_hand > s.reserved {pickup}"
            "ORDER BY s.variant_id, cl.priority, l.code",
            params,
        )
        rows = cursor.fetchall()
    for vid, lid, code, prio, available, ships, pickup_ok, lat, lon in rows:
        out[vid].append(
            LocationAvailability(
                lid,
                code,
                prio,
                available,
                bool(ships),
                bool(pickup_ok),
                _decimal(lat),
                _decimal(lon),
            )
        )
    return out


def _decimal(value) -> Decimal | None:
    """A coordinate as the model field gives it (SQLite returns plain numbers)."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class PickupAvailability:
    location_id: int
    location_code: str
    location_name: str
    available: int


@dataclass(frozen=True)
class SkuAvailability:
    sku: str
    variant_id: int
    available: int
    ship_available: int
    pickup: list[PickupAvailability]


def availability_for_skus(*, channel: Channel, skus: Iterable[str]) -> dict[str, SkuAvailability]:
    """Storefront availability per known SKU: the channel's available-to-sell, how much of it
    can ship (stock at ships-enabled locations), and per pickup location of the channel (its
    own available, at most the channel's available-to-sell; 0 where nothing is stocked).
    SKUs the channel does not sell (no published listing there of an active variant of an
    active product) are absent, as unknown ones are: a channel's key sees only its own
    catalog. Three queries."""
    variants = dict(
        Variant.objects.filter(
            sku__in=list(set(skus)),
            active=True,
            product__active=True,
            listings__channel=channel,
            listings__published=True,
        ).values_list("pk", "sku")
    )
    pickup_points = list(
        pickup_locations(channel=channel).order_by("code").values_list("pk", "code", "name")
    )
    rows = (
        _channel_stocks(channel)
        .filter(variant_id__in=list(variants))
        .values_list("variant_id", "location_id", "location__ships_enabled", "on_hand", "reserved")
    )
    pool: dict[int, int] = defaultdict(int)
    ship_pool: dict[int, int] = defaultdict(int)
    at: dict[tuple[int, int], int] = {}
    for vid, lid, ships, on_hand, reserved in rows:
        available = on_hand - reserved
        pool[vid] += available
        at[(vid, lid)] = available
        if ships:
            ship_pool[vid] += available
    out = {}
    for vid, sku in variants.items():
        ats = channel_rule(channel, pool[vid])
        out[sku] = SkuAvailability(
            sku=sku,
            variant_id=vid,
            available=ats,
            ship_available=min(ats, max(0, ship_pool[vid])),
            pickup=[
                PickupAvailability(lid, code, name, max(0, min(ats, at.get((vid, lid), 0))))
                for lid, code, name in pickup_points
            ],
        )
    return out


def pickup_locations(*, channel: Channel):
    return StockLocation.objects.filter(
        active=True, pickup_enabled=True, channel_locations__channel=channel
    )


def low_stock_rows():
    """Stock rows with a reorder point whose available plus incoming is at or below it."""
    return (
        Stock.objects.filter(reorder_point__gt=0)
        .annotate(projected=F("on_hand") - F("reserved") + F("incoming"))
        .filter(projected__lte=F("reorder_point"))
        .select_related("variant", "location")
        .order_by("location__code", "variant__sku")
    )


@dataclass(frozen=True)
class Drift:
    stock_id: int
    sku: str
    location_code: str
    on_hand: int
    ledger: int
    reserved: int
    reservations: int


def ledger_drift() -> list[Drift]:
    """Stock rows whose `on_hand` differs from their ledger sum, or whose `reserved` differs
    from the sum of their open reservations. One query."""
    ledger = (
        StockMovement.objects.filter(stock_id=OuterRef("pk"))
        .values("stock_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    held = (
        Reservation.objects.filter(stock_id=OuterRef("pk"))
        .values("stock_id")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    rows = (
        Stock.objects.annotate(
            ledger=Coalesce(Subquery(ledger, output_field=IntegerField()), Value(0)),
            held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)),
        )
        .filter(~Q(ledger=F("on_hand")) | ~Q(held=F("reserved")))
        .values_list(
            "pk", "variant__sku", "location__code", "on_hand", "ledger", "reserved", "held"
        )
        .order_by("pk")
    )
    return [Drift(*row) for row in rows]


def incoming_drift() -> list[tuple[int, str, str, int, int]]:
    """Stock rows whose `incoming` differs from what open transfers still have in transit to
    them: (stock_id, sku, location_code, incoming, in_transit). One query."""
    from inventory.models import TransferLine, TransferStatus

    in_transit = (
        TransferLine.objects.filter(
            transfer__status__in=[TransferStatus.IN_TRANSIT, TransferStatus.PARTIALLY_RECEIVED],
            transfer__destination_id=OuterRef("location_id"),
            variant_id=OuterRef("variant_id"),
        )
        .values("variant_id")
        .annotate(total=Sum(F("quantity") - F("quantity_received")))
        .values("total")
    )
    return list(
        Stock.objects.annotate(
            in_transit=Coalesce(Subquery(in_transit, output_field=IntegerField()), Value(0))
        )
        .filter(~Q(in_transit=F("incoming")))
        .values_list("pk", "variant__sku", "location__code", "incoming", "in_transit")
        .order_by("pk")
    )


def variant_ids_by_sku(skus: Iterable[str]) -> dict[str, int]:
    """Variant id per known SKU. One query."""
    return dict(Variant.objects.filter(sku__in=list(set(skus))).values_list("sku", "pk"))


def reservation_in_use(reservation: Reservation) -> bool:
    """Whether another app's row (an order's allocation) points at the reservation. Found
    through the model's reverse relations, so inventory need not know the apps that hold
    reservations."""
    for relation in Reservation._meta.get_fields(include_hidden=True):
        if relation.auto_created and not relation.concrete:
            manager = relation.related_model._base_manager
            if manager.filter(**{relation.field.name: reservation.pk}).exists():
                return True
    return False
