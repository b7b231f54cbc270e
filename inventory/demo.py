"""Demo stock: two stores and two warehouses, every demo channel's locations in priority order,
opening stock with reorder points for every variant (one RECEIPT per row so the ledger
reconciles), and a transfer in transit. Idempotent: rows that exist are left alone."""

import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from tqdm import tqdm

from catalog.models import Variant
from inventory.models import (
    ChannelLocation,
    LocationKind,
    MovementReason,
    StaffLocation,
    Stock,
    StockLocation,
    StockMovement,
    Transfer,
)
from inventory.services import (
    StockLine,
    low_stock_scan,
    record_availability_changes,
    transfer_create,
    transfer_ship,
)
from omni.demo import STORE_STAFF_LOCATION, STORE_STAFF_USERNAME
from omni.models import Channel

LOCATIONS = [
    # code, name, kind, address, city, postcode, lat, lon, pickup, ships
    ("store-downtown", "Downtown Store", LocationKind.STORE, "120 N State St", "Chicago",
     "60602", "41.883700", "-87.627800", True, True),
    ("store-riverside", "Riverside Store", LocationKind.STORE, "2 Riverside Plaza", "Chicago",
     "60606", "41.882500", "-87.638900", True, True),
    ("wh-central", "Central Warehouse", LocationKind.WAREHOUSE, "4800 S Central Ave",
     "Chicago", "60638", "41.803900", "-87.762200", False, True),
    ("wh-east", "East Coast Warehouse", LocationKind.WAREHOUSE, "1 Port St", "Newark",
     "07114", "40.692200", "-74.152000", False, True),
]  # fmt: skip

# Channel -> its locations, first sourced first. Stores sell from their own shelf first.
ASSIGNMENTS = {
    "store-downtown": ["store-downtown", "wh-central", "wh-east"],
    "store-riverside": ["store-riverside", "wh-central", "wh-east"],
    "web": ["wh-central", "wh-east", "store-downtown", "store-riverside"],
    "app": ["wh-central", "wh-east", "store-downtown", "store-riverside"],
    "phone": ["wh-central", "wh-east", "store-downtown", "store-riverside"],
    "marketplace": ["wh-central", "wh-east"],
    "social": ["wh-central"],
}

# Opening stock per location kind: (max units, chance of none, reorder point).
OPENING = {
    "store-downtown": (12, 0.15, 2),
    "store-riverside": (12, 0.2, 2),
    "wh-central": (80, 0.05, 8),
    "wh-east": (50, 0.1, 5),
}
REFERENCE = "DEMO-OPENING"


def _locations(out) -> dict[str, StockLocation]:
    found = {}
    for code, name, kind, address, city, postcode, lat, lon, pickup, ships in LOCATIONS:
        location, created = StockLocation.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "address_line": address,
                "city": city,
                "postcode": postcode,
                "country": "US",
                "latitude": Decimal(lat),
                "longitude": Decimal(lon),
                "pickup_enabled": pickup,
                "ships_enabled": ships,
            },
        )
        found[code] = location
        out.write(f"  location {code:<16} {'created' if created else 'exists'}")
    return found


def _assign(out, locations: dict[str, StockLocation]) -> None:
    channels = {c.code: c for c in Channel.objects.filter(code__in=ASSIGNMENTS)}
    for code, location_codes in ASSIGNMENTS.items():
        channel = channels.get(code)
        if channel is None:
            out.write(f"  channel {code} missing; not assigned")
            continue
        for priority, location_code in enumerate(location_codes, start=1):
            ChannelLocation.objects.get_or_create(
                channel=channel,
                location=locations[location_code],
                defaults={"priority": priority * 10},
            )
    for code in sorted(set(Channel.objects.values_list("code", flat=True)) - set(ASSIGNMENTS)):
        out.write(f"  channel {code} has no demo locations; assign them in the admin")


def _opening_stock(command, locations: dict[str, StockLocation]) -> int:
    existing = set(Stock.objects.values_list("variant_id", "location_id"))
    variant_ids = list(
        Variant.objects.filter(active=True).order_by("pk").values_list("pk", flat=True)
    )
    created_rows = 0
    batch = 500
    for start in tqdm(range(0, len(variant_ids), batch), desc="stock", disable=None,
                      file=command.stdout):  # fmt: skip
        chunk = variant_ids[start : start + batch]
        rows = []
        for variant_id in chunk:
            rng = random.Random(variant_id * 7919)
            for code, (most, none_chance, reorder) in OPENING.items():
                location = locations[code]
                if (variant_id, location.pk) in existing:
                    continue
                on_hand = 0 if rng.random() < none_chance else rng.randint(1, most)
                rows.append(
                    Stock(
                        variant_id=variant_id,
                        location=location,
                        on_hand=on_hand,
                        reorder_point=reorder,
                    )
                )
        if not rows:
            continue
        with transaction.atomic():
            created = Stock.objects.bulk_create(rows)
            if any(stock.pk is None for stock in created):
                # Backends that cannot return ids: read them back by their unique key.
                ids = {
                    (v, loc): pk
                    for pk, v, loc in Stock.objects.filter(variant_id__in=chunk).values_list(
                        "pk", "variant_id", "location_id"
                    )
                }
                for stock in created:
                    stock.pk = ids[(stock.variant_id, stock.location_id)]
            StockMovement.objects.bulk_create(
                [
                    StockMovement(
                        stock_id=stock.pk,
                        reason=MovementReason.RECEIPT,
                        quantity=stock.on_hand,
                        reference=REFERENCE,
                        note="opening balance",
                    )
                    for stock in created
                    if stock.on_hand
                ]
            )
            record_availability_changes(
                {(s.variant_id, s.location_id): s.on_hand for s in created if s.on_hand}
            )
        created_rows += len(created)
    return created_rows


def _transfer_in_transit(out, locations: dict[str, StockLocation]) -> None:
    if Transfer.objects.filter(reference="DEMO-TR-1").exists():
        return
    source, destination = locations["wh-central"], locations["store-downtown"]
    stocked = list(
        Stock.objects.filter(location=source, on_hand__gte=10)
        .order_by("variant__sku")
        .values_list("variant_id", flat=True)[:3]
    )
    if not stocked:
        return
    transfer = transfer_create(
        source_id=source.pk,
        destination_id=destination.pk,
        lines=[StockLine(variant_id, 4) for variant_id in stocked],
        reference="DEMO-TR-1",
        note="Weekly store replenishment",
    )
    transfer_ship(transfer=transfer)
    out.write(f"  transfer #{transfer.pk} wh-central -> store-downtown in transit")


def _assign_store_staff(out, locations: dict[str, StockLocation]) -> None:
    """The omni demo's store staff login works at the Downtown store."""
    user = get_user_model().objects.filter(username=STORE_STAFF_USERNAME).first()
    if user is None:
        return
    _, created = StaffLocation.objects.get_or_create(
        user=user, location=locations[STORE_STAFF_LOCATION]
    )
    if created:
        out.write(f"  {STORE_STAFF_USERNAME} works at {STORE_STAFF_LOCATION}")


def load(command) -> None:
    out = command.stdout
    with transaction.atomic():
        locations = _locations(out)
        _assign(out, locations)
        _assign_store_staff(out, locations)
    if not Variant.objects.exists():
        out.write("  no variants yet: load the catalog demo first; no stock created")
        return
    created = _opening_stock(command, locations)
    out.write(f"  stock rows created: {created} (each with its opening RECEIPT)")
    _transfer_in_transit(out, locations)
    result = low_stock_scan()
    out.write(f"  low stock: {result['open']} rows at or below their reorder point")
