"""Snapshots of the promotions that may apply in a channel, cached per channel.

The pricing engine reads promotions as immutable `Rule` snapshots, never as model instances,
so a quote costs no promotion query while the cache is warm. The cache holds every enabled
promotion of the channel that had not ended (give or take `GRACE`) when the snapshot was built;
the window itself is checked at quote time, so a window opening or closing needs no
invalidation. Any change to promotions or vouchers calls `rules_changed()`, which moves the
version number the cache keys carry: old snapshots are never read again and expire by TTL.
"""

import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from omni.models import Channel
from promotions.models import Promotion, PromotionKind

VERSION_KEY = "promotions:rules:version"
CACHE_TTL = 15 * 60
# Snapshots keep promotions that ended up to this long ago, so quotes "as of" a recent past
# moment are still served from the cache; older moments load from the database.
GRACE = timedelta(days=1)


@dataclass(frozen=True)
class LineFacts:
    """What a rule needs to know about a basket line's product."""

    variant_id: int
    product_id: int
    category_path: str
    brand: str


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    kind: str
    discount_type: str
    value: Decimal
    trigger: str
    starts_at: datetime | None
    ends_at: datetime | None
    priority: int
    exclusive: bool
    min_spend: Decimal
    buy_quantity: int
    get_quantity: int
    bundle_quantity: int
    bundle_price: Decimal
    product_ids: frozenset[int]
    variant_ids: frozenset[int]
    category_paths: tuple[str, ...]
    brands: frozenset[str]
    tiers: frozenset[str]
    segments: frozenset[str]

    @property
    def is_catalogue(self) -> bool:
        return self.kind == PromotionKind.CATALOGUE

    @property
    def targets_everything(self) -> bool:
        return not (self.product_ids or self.variant_ids or self.category_paths or self.brands)

    def live_at(self, at: datetime) -> bool:
        """The window is half-open: [starts_at, ends_at)."""
        return (self.starts_at is None or self.starts_at <= at) and (
            self.ends_at is None or at < self.ends_at
        )

    def open_to(self, tier: str | None, segments: frozenset[str]) -> bool:
        if not self.tiers and not self.segments:
            return True
        return (tier is not None and tier in self.tiers) or bool(self.segments & segments)

    def matches(self, line: LineFacts) -> bool:
        if self.targets_everything:
            return True
        return (
            line.variant_id in self.variant_ids
            or line.product_id in self.product_ids
            or (line.brand != "" and line.brand in self.brands)
            or any(line.category_path.startswith(path) for path in self.category_paths)
        )


def rules_changed() -> None:
    """Invalidate every channel's snapshot. Called by each service that changes promotions or
    vouchers: now (so the changing request sees its own change) and again after commit (so a
    snapshot another request built from the pre-commit rows in between is not kept)."""
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # key missing (first use, or evicted): any fresh value will do
        cache.set(VERSION_KEY, time.time_ns(), None)


def _version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        # A value never used before, so snapshots keyed with an evicted version are not reused.
        cache.add(VERSION_KEY, time.time_ns(), None)
        version = cache.get(VERSION_KEY)
    return version


def channel_rules(*, channel: Channel, at: datetime) -> tuple[Rule, ...]:
    """Rules that may apply in `channel` at `at` (window not yet checked), highest priority
    first. Cached; 4 queries when the snapshot is built, none otherwise."""
    now = timezone.now()
    if at < now - GRACE:
        return load_rules(channel=channel, since=at)
    key = f"promotions:rules:{channel.pk}:{_version()}"
    rules = cache.get(key)
    if rules is None:
        rules = load_rules(channel=channel, since=now - GRACE)
        cache.set(key, rules, CACHE_TTL)
    return rules


def load_rules(*, channel: Channel, since: datetime) -> tuple[Rule, ...]:
    """Enabled promotions of `channel` (scoped to it or to every channel, in its currency or
    in none) that had not ended at `since`. Four queries whatever the number of promotions."""
    scoped = Promotion.channels.through.objects.values("promotion_id")
    promotions = list(
        Promotion.objects.live_or_upcoming(at=since)
        .filter(Q(currency="") | Q(currency=channel.currency))
        .filter(Q(channels=channel) | ~Q(pk__in=scoped))
        .distinct()
        .order_by("-priority", "pk")
    )
    ids = [p.pk for p in promotions]
    products: dict[int, set[int]] = defaultdict(set)
    variants: dict[int, set[int]] = defaultdict(set)
    categories: dict[int, list[str]] = defaultdict(list)
    if ids:
        for pid, product_id in Promotion.products.through.objects.filter(
            promotion_id__in=ids
        ).values_list("promotion_id", "product_id"):
            products[pid].add(product_id)
        for pid, variant_id in Promotion.variants.through.objects.filter(
            promotion_id__in=ids
        ).values_list("promotion_id", "variant_id"):
            variants[pid].add(variant_id)
        for pid, path in Promotion.categories.through.objects.filter(
            promotion_id__in=ids
        ).values_list("promotion_id", "category__path"):
            categories[pid].append(path)
    return tuple(
        Rule(
            id=p.pk,
            name=p.name,
            kind=p.kind,
            discount_type=p.discount_type,
            value=p.value,
            trigger=p.trigger,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            priority=p.priority,
            exclusive=p.exclusive,
            min_spend=p.min_spend,
            buy_quantity=p.buy_quantity,
            get_quantity=p.get_quantity,
            bundle_quantity=p.bundle_quantity,
            bundle_price=p.bundle_price,
            product_ids=frozenset(products[p.pk]),
            variant_ids=frozenset(variants[p.pk]),
            category_paths=tuple(sorted(categories[p.pk])),
            brands=frozenset(p.brands),
            tiers=frozenset(p.customer_tiers),
            segments=frozenset(p.customer_segments),
        )
        for p in promotions
    )
