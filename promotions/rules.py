"""Snapshots of the promotions that may apply in a channel, cached per channel.

The pricing engine reads promotions as immutable `Rule` snapshots, never as model instances,
so a quote costs no promotion query while the cache is warm. The cache holds every enabled
promotion of the channel that had not ended (give or take `GRACE`) when the snapshot was built;
the window itself is checked at quote time, so a window opening or closing needs no
invalidation. Any change to promotions or vouchers calls `rules_changed()`, which moves the
version number the cache keys carry: old snapshots are never read again and expire by TTL.
Each process also keeps the snapshots it built, and re-reads the shared version at most every
`VERSION_RECHECK_SECONDS`, so a warm quote costs no cache round trip at all.
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


# How long a process trusts the version it last read before asking the shared cache again.
# A change made in this process is seen at once (the bump forgets the local copy); one made
# in another process within this delay, as if the quote had been made that much earlier.
VERSION_RECHECK_SECONDS = 1.0
_local = {"version": None, "read_at": 0.0}


def _bump() -> None:
    forget_local()
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # key missing (first use, or evicted): any fresh value will do
        cache.set(VERSION_KEY, time.time_ns(), None)


def forget_local() -> None:
    """Drop this process's copy of the version and its built snapshots (tests, bumps)."""
    _local["version"] = None
    _built.clear()


def _version() -> int:
    now = time.monotonic()
    if _local["version"] is not None and now - _local["read_at"] < VERSION_RECHECK_SECONDS:
        return _local["version"]
    version = cache.get(VERSION_KEY)
    if version is None:
        # A value never used before, so snapshots keyed with an evicted version are not reused.
        cache.add(VERSION_KEY, time.time_ns(), None)
        version = cache.get(VERSION_KEY)
    _local.update(version=version, read_at=now)
    return version


class Snapshot:
    """A channel's rules in the order quoting applies them (catalogue stage first, then
    basket; highest priority first; then oldest), indexed by what they target so a line
    finds its rules without testing every rule."""

    def __init__(self, rules: tuple[Rule, ...]):
        self.rules = tuple(sorted(rules, key=lambda r: (not r.is_catalogue, -r.priority, r.id)))
        self.position = {rule.id: n for n, rule in enumerate(self.rules)}
        self.everything: set[int] = set()
        self.by_variant: dict[int, set[int]] = defaultdict(set)
        self.by_product: dict[int, set[int]] = defaultdict(set)
        self.by_brand: dict[str, set[int]] = defaultdict(set)
        self.by_category: dict[str, set[int]] = defaultdict(set)
        for rule in self.rules:
            if rule.targets_everything:
                self.everything.add(rule.id)
            for variant_id in rule.variant_ids:
                self.by_variant[variant_id].add(rule.id)
            for product_id in rule.product_ids:
                self.by_product[product_id].add(rule.id)
            for brand in rule.brands:
                self.by_brand[brand].add(rule.id)
            for path in rule.category_paths:
                self.by_category[path].add(rule.id)

    def rule_ids_for(self, line: LineFacts) -> set[int]:
        """Ids of the rules whose targets cover `line` (same answer as `Rule.matches`)."""
        ids = set(self.everything)
        ids |= self.by_variant.get(line.variant_id, set())
        ids |= self.by_product.get(line.product_id, set())
        if line.brand:
            ids |= self.by_brand.get(line.brand, set())
        # Category paths are "a/b/c/": each ancestor prefix ends at a slash.
        end = line.category_path.find("/")
        while end != -1:
            ids |= self.by_category.get(line.category_path[: end + 1], set())
            end = line.category_path.find("/", end + 1)
        return ids


# Built snapshots per process, keyed by (channel, version): skips unpickling and re-indexing
# on every quote. Only the current version is looked up; stale entries go as versions move.
_built: dict[tuple[int, int], Snapshot] = {}


def channel_snapshot(*, channel: Channel, at: datetime) -> Snapshot:
    """The snapshot of `channel`'s rules (windows not yet checked). One cache read when this
    process has it, a shared-cache read or 4 queries otherwise."""
    now = timezone.now()
    if at < now - GRACE:
        return Snapshot(load_rules(channel=channel, since=at))
    version = _version()
    snapshot = _built.get((channel.pk, version))
    if snapshot is not None:
        return snapshot
    key = f"promotions:rules:{channel.pk}:{version}"
    rules = cache.get(key)
    if rules is None:
        rules = load_rules(channel=channel, since=now - GRACE)
        cache.set(key, rules, CACHE_TTL)
    snapshot = Snapshot(rules)
    # list() copies the keys in one step, safe while other threads add snapshots.
    for stale in [k for k in list(_built) if k[0] == channel.pk]:
        _built.pop(stale, None)
    _built[(channel.pk, version)] = snapshot
    return snapshot


def channel_rules(*, channel: Channel, at: datetime) -> tuple[Rule, ...]:
    """Rules that may apply in `channel` at `at` (window not yet checked), in quoting order."""
    return channel_snapshot(channel=channel, at=at).rules


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
