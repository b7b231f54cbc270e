"""Demo customers: a few thousand profiles with emails and phones, identities from several
channels, addresses, consents, purchases with their loyalty points, a few duplicates to merge and
service cases. Idempotent: deterministic data, rows keyed by their natural keys."""

import random
from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from customers.models import (
    Address,
    CaseEvent,
    CaseEventKind,
    CaseKind,
    CaseStatus,
    ConsentPurpose,
    ConsentRecord,
    Customer,
    Identity,
    IdentityKind,
    LoyaltyChannelRate,
    LoyaltyEntry,
    LoyaltyEntryKind,
    LoyaltySettings,
    LoyaltyTier,
    ServiceCase,
    SpendRecord,
)
from customers.normalize import email_match_key, phone_match_key
from customers.services import loyalty_expire, segments_recompute, tiers_refresh
from omni.models import Channel

CUSTOMERS = 3000
DUPLICATES = 25  # extra profiles that are variants of existing ones (for the merge demo)
SEED = 20261123

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Dennis",
    "Barbara",
    "Ken",
    "Frances",
    "Edsger",
    "Radia",
    "Donald",
    "Hedy",
    "Tim",
    "Anita",
    "John",
    "Katherine",
    "Guido",
    "Sophie",
    "Niklaus",
    "Carol",
    "Bjarne",
    "Shafi",
    "Yukihiro",
    "Annie",
    "Rasmus",
    "Joan",
    "Leslie",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Ritchie",
    "Liskov",
    "Thompson",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Knuth",
    "Lamarr",
    "Berners-Lee",
    "Borg",
    "McCarthy",
    "Johnson",
    "Rossum",
    "Wilson",
    "Wirth",
    "Shaw",
    "Stroustrup",
    "Goldwasser",
    "Matsumoto",
    "Easley",
    "Lerdorf",
    "Clarke",
    "Lamport",
]
CITIES = ["Springfield", "Riverside", "Fairview", "Greenville", "Madison"]
AREA_CODES = ["212", "312", "415", "503", "617", "702", "808", "917"]
TIERS = [
    ("silver", "Silver", Decimal("500"), Decimal("1.25"), {"discount_percent": 2}),
    ("gold", "Gold", Decimal("1500"), Decimal("1.5"), {"discount_percent": 5}),
    ("platinum", "Platinum", Decimal("4000"), Decimal("2"), {"free_shipping": True}),
]
RATES = {"app": Decimal("1.5"), "marketplace": Decimal("0.5")}


def _email(n: int, first: str, last: str) -> str:
    return f"{first}.{last}{n}@example.com".lower().replace("-", "")


def _phone(rng: random.Random) -> str:
    return f"+1{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{rng.randint(1000, 9999)}"


def _programme(out) -> None:
    LoyaltySettings.objects.get_or_create(pk=1)
    for code, name, minimum, multiplier, benefits in TIERS:
        LoyaltyTier.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "min_spend": minimum,
                "earn_multiplier": multiplier,
                "benefits": benefits,
            },
        )
    for channel in Channel.objects.filter(code__in=RATES):
        LoyaltyChannelRate.objects.get_or_create(
            channel=channel, defaults={"earn_rate": RATES[channel.code]}
        )
    out.write("  loyalty programme: settings, 3 tiers, channel earn rates")


def load(command) -> None:
    out = command.stdout
    channels = list(Channel.objects.order_by("code"))
    if not channels:
        out.write("  no channels: load the omni demo first")
        return
    _programme(out)
    rng = random.Random(SEED)
    now = timezone.now().replace(microsecond=0)
    stores = [c for c in channels if c.kind == "store"] or channels
    specs = []
    for n in range(CUSTOMERS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        specs.append(
            {
                "n": n,
                "first": first,
                "last": last,
                "email": _email(n, first, last),
                "phone": _phone(rng) if rng.random() < 0.7 else "",
                "channel": rng.choice(channels),
                "accounts": rng.sample(channels, k=rng.choice([0, 0, 1, 2, 3])),
                "card": f"OMNI{n:08d}" if rng.random() < 0.25 else "",
                "store": rng.choice(stores) if rng.random() < 0.4 else None,
                "city": rng.choice(CITIES),
                "postcode": f"{rng.randint(10000, 99999)}",
                "purchases": [
                    (
                        rng.choice(channels),
                        Decimal(rng.randint(1000, 40000)) / 100,
                        now - timedelta(days=rng.randint(0, 720), minutes=rng.randint(0, 1440)),
                    )
                    for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8, 13]))
                ],
                "redeem": rng.random() < 0.3,
                "consents": {p: rng.random() < 0.6 for p in ConsentPurpose.values},
            }
        )
    for d in range(DUPLICATES):
        base = specs[d * 7]
        specs.append(
            {
                **base,
                "n": CUSTOMERS + d,
                # the same mailbox written another way, and no phone: a merge candidate
                "email": base["email"].replace("@example.com", f"+shop{d}@example.com"),
                "phone": "",
                "accounts": [],
                "card": "",
                "purchases": base["purchases"][:1],
                "redeem": False,
            }
        )

    existing = set(
        Identity.objects.filter(
            kind=IdentityKind.EMAIL, value__in=[s["email"] for s in specs]
        ).values_list("value", flat=True)
    )
    new_specs = [s for s in specs if s["email"] not in existing]
    if not new_specs:
        out.write(f"  customers: {len(specs)} demo profiles exist; nothing to add")
        return
    batch = 500
    created = 0
    for start in tqdm(range(0, len(new_specs), batch), desc="customers", unit="batch"):
        chunk = new_specs[start : start + batch]
        with transaction.atomic():
            _create_chunk(chunk, now)
        created += len(chunk)
    tiers_refresh()
    sizes = segments_recompute()
    expired = loyalty_expire()
    out.write(
        f"  customers: {created} profiles created (with identities, addresses, consents, "
        f"purchases and points); {expired} old points expired; segments: "
        + ", ".join(f"{k} {v}" for k, v in sizes.items() if v)
    )


def _create_chunk(chunk: list[dict], now) -> None:
    customers = Customer.objects.bulk_create(
        [
            Customer(
                first_name=s["first"],
                last_name=s["last"],
                preferred_store=s["store"],
                last_seen_at=max((p[2] for p in s["purchases"]), default=None),
                tags=["demo"],
            )
            for s in chunk
        ]
    )
    identities, addresses, consents, spend, entries, cases = [], [], [], [], [], []
    for spec, customer in zip(chunk, customers, strict=True):
        n = spec["n"]
        rng = random.Random(SEED + n)
        identities.append(
            Identity(
                customer=customer,
                kind=IdentityKind.EMAIL,
                value=spec["email"],
                raw_value=spec["email"],
                match_key=email_match_key(spec["email"]),
                channel=spec["channel"],
            )
        )
        if spec["phone"]:
            identities.append(
                Identity(
                    customer=customer,
                    kind=IdentityKind.PHONE,
                    value=spec["phone"],
                    raw_value=spec["phone"],
                    match_key=phone_match_key(spec["phone"]),
                    channel=spec["channel"],
                )
            )
        identities.extend(
            Identity(
                customer=customer,
                kind=IdentityKind.ACCOUNT,
                value=f"{channel.code}-user-{n}",
                raw_value=f"{channel.code}-user-{n}",
                match_key=f"{channel.code}-user-{n}",
                channel=channel,
            )
            for channel in spec["accounts"]
        )
        if spec["card"]:
            identities.append(
                Identity(
                    customer=customer,
                    kind=IdentityKind.LOYALTY_CARD,
                    value=spec["card"],
                    raw_value=spec["card"],
                    match_key=spec["card"],
                    channel=spec["store"],
                )
            )
        if rng.random() < 0.6 or n >= CUSTOMERS:
            addresses.append(
                Address(
                    customer=customer,
                    label="home",
                    name=f"{spec['first']} {spec['last']}",
                    line1=f"{rng.randint(1, 999)} Main St",
                    city=spec["city"],
                    postcode=spec["postcode"],
                    country="US",
                    phone=spec["phone"],
                    is_default=True,
                )
            )
        consents.extend(
            ConsentRecord(
                customer=customer,
                purpose=purpose,
                granted=granted,
                channel=spec["channel"],
                source="demo sign-up form",
                recorded_at=now - timedelta(days=rng.randint(1, 700)),
            )
            for purpose, granted in spec["consents"].items()
        )
        earned = 0
        for k, (channel, amount, at) in enumerate(spec["purchases"]):
            reference = f"DEMO-{n}-{k}"
            spend.append(
                SpendRecord(
                    customer=customer,
                    channel=channel,
                    amount=amount,
                    occurred_at=at,
                    reference=reference,
                )
            )
            points = int(
                (amount * RATES.get(channel.code, Decimal("1"))).to_integral_value(ROUND_FLOOR)
            )
            earned += points
            entries.append(
                LoyaltyEntry(
                    customer=customer,
                    kind=LoyaltyEntryKind.EARN,
                    points=points,
                    idempotency_key=f"demo:earn:{reference}",
                    reference=reference,
                    channel=channel,
                    amount=amount,
                    expires_at=at + timedelta(days=365),
                )
            )
        if spec["redeem"] and earned > 100:
            entries.append(
                LoyaltyEntry(
                    customer=customer,
                    kind=LoyaltyEntryKind.REDEEM,
                    points=-(earned // 3),
                    idempotency_key=f"demo:redeem:{n}",
                    reference=f"DEMO-{n}-redeem",
                    channel=spec["channel"],
                )
            )
        if n % 40 == 0 and n < CUSTOMERS:
            cases.append(
                (
                    ServiceCase(
                        customer=customer,
                        kind=rng.choice(CaseKind.values),
                        channel=spec["channel"],
                        subject=rng.choice(
                            ["Where is my parcel?", "Item arrived damaged", "Wrong size", "Refund"]
                        ),
                        order_reference=f"DEMO-{n}-0" if spec["purchases"] else "",
                        status=rng.choice(CaseStatus.values),
                    ),
                    "Raised by the customer.",
                )
            )
    Identity.objects.bulk_create(identities, ignore_conflicts=True)
    Address.objects.bulk_create(addresses)
    ConsentRecord.objects.bulk_create(consents)
    SpendRecord.objects.bulk_create(spend, ignore_conflicts=True)
    LoyaltyEntry.objects.bulk_create(entries, ignore_conflicts=True)
    saved_cases = ServiceCase.objects.bulk_create([case for case, _ in cases])
    CaseEvent.objects.bulk_create(
        CaseEvent(case=case, kind=CaseEventKind.OPENED, body=body, to_status=CaseStatus.OPEN)
        for case, (_, body) in zip(saved_cases, cases, strict=True)
    )
