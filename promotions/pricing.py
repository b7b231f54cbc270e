"""The one pricing function: `quote()` prices a basket for a channel and a customer.

How a quote is built
1. Each line starts at its channel listing price (`unit_price`).
2. Catalogue stage: catalogue rules, highest priority first, take a percentage or an amount off
   each unit, or set a fixed unit price, on the lines they target. Each rule works on the unit
   price left by the rules before it.
   Then the customer's loyalty tier benefit (customers' `LoyaltyTier.benefits`:
   `discount_percent` off each unit, `free_shipping`), on lines no exclusive rule holds.
3. Basket stage: spend threshold, buy X get Y, bundle price and free shipping rules, highest
   priority first, on the targeted lines' amounts left by everything before them.
   The promotion unlocked by `voucher_code` runs in the stage of its kind, in priority order,
   like any other; its discounts carry source "voucher" and the code.
   Stacking: a stackable rule applies on top of earlier ones. An exclusive rule is skipped on a
   line an earlier rule already discounted, and a line it discounts gets nothing further from
   any promotion (loyalty points still pay for it).
4. Loyalty points pay last, at `point_value` each, capped by the balance and by
   `max_basket_share` of what is left to pay. Fewer points than asked may be used;
   `Quote.loyalty_points` says how many.

Rounding (in the channel's currency, ROUND_HALF_UP to its minor unit):
- per-unit discounts (catalogue rules, buy X get Y units) are rounded per unit, so every unit
  of a line costs the same and a line's discount is that unit discount times the quantity;
- basket-level amounts (spend threshold, bundle, loyalty) are rounded once for the basket
  and then allocated to the lines in proportion to their amounts by the largest-remainder
  method in minor units (ties to the earlier line), so the line discounts add up exactly to
  the basket discount;
- a line's discounts never exceed what is left of it, so no line total is negative.
Hence `subtotal - discount_total - loyalty_discount == total == sum(line_total)` exactly.
"""

import functools
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.utils import timezone

from catalog.models import Listing, Variant
from omni.errors import InvalidInput
from omni.models import Channel
from omni.sql import execute_prepared
from promotions import customer_terms
from promotions.errors import (
    VariantNotListed,
    VoucherExhausted,
    VoucherExpired,
    VoucherMinSpend,
    VoucherNotStarted,
    VoucherOutOfScope,
    VoucherUnknown,
)
from promotions.models import DiscountType, PromotionKind, Trigger, Voucher
from promotions.money import minor_unit, minor_units, quantize
from promotions.rules import LineFacts, Rule, channel_snapshot
from promotions.selectors import voucher_customer_uses

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class QuoteLineInput:
    variant_id: int
    quantity: int


@dataclass(frozen=True)
class Discount:
    source: str  # "promotion" | "voucher" | "loyalty"
    promotion_id: int | None
    voucher_code: str
    name: str
    amount: Decimal


@dataclass(frozen=True)
class QuoteLine:
    variant_id: int
    sku: str
    quantity: int
    unit_price: Decimal
    discounts: tuple[Discount, ...]
    line_discount: Decimal
    line_total: Decimal
    # line_total / quantity rounded: exact when only per-unit discounts applied.
    final_unit_price: Decimal


@dataclass(frozen=True)
class AppliedPromotion:
    promotion_id: int | None  # None: the customer's tier benefit
    name: str
    source: str
    voucher_code: str
    amount: Decimal
    free_shipping: bool


@dataclass(frozen=True)
class Quote:
    channel_id: int
    currency: str
    customer_id: int | None
    lines: tuple[QuoteLine, ...]
    subtotal: Decimal
    discount_total: Decimal
    loyalty_points: int
    loyalty_discount: Decimal
    total: Decimal
    free_shipping: bool
    voucher_code: str | None
    promotions: tuple[AppliedPromotion, ...]
    quoted_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe: Decimals as strings in the currency's precision, times in ISO 8601."""
        return _jsonable(self)


@functools.cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _jsonable(value):
    # Walks the dataclasses itself: `asdict` deep-copies every leaf first, and every checkout
    # stores its quote.
    if is_dataclass(value):
        return {name: _jsonable(getattr(value, name)) for name in _field_names(type(value))}
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass
class _Line:
    index: int
    facts: LineFacts
    sku: str
    quantity: int
    unit_price: Decimal
    unit_net: Decimal  # after catalogue rules
    # (source, promotion id) -> [code, name, amount]; turned into Discounts at the end.
    discounts: dict[tuple[str, int | None], list] = field(default_factory=dict)
    discounted: Decimal = Decimal(0)
    gross: Decimal = Decimal(0)
    touched: bool = False
    locked: bool = False

    def __post_init__(self) -> None:
        self.gross = self.unit_price * self.quantity

    @property
    def net(self) -> Decimal:
        return self.gross - self.discounted

    def add(self, rule: Rule | None, source: str, code: str, name: str, amount: Decimal) -> None:
        if amount <= 0:
            return
        key = (source, rule.id if rule else None)
        entry = self.discounts.get(key)
        if entry is None:
            self.discounts[key] = [code, name, amount]
        else:
            entry[2] += amount
        self.discounted += amount

    def discount_list(self) -> tuple[Discount, ...]:
        return tuple(
            Discount(source, pid, code, name, amount)
            for (source, pid), (code, name, amount) in self.discounts.items()
        )


def listing_prices(*, channel: Channel, variant_ids: Sequence[int]) -> dict[int, Listing]:
    """Published listings of active variants of active products in `channel`, by variant id,
    with variant, product and category loaded. One query."""
    return {
        listing.variant_id: listing
        for listing in Listing.objects.filter(
            channel=channel,
            variant_id__in=set(variant_ids),
            published=True,
            variant__active=True,
            variant__product__active=True,
        ).select_related("variant__product__category")
    }


ListingFacts = tuple[LineFacts, str, Decimal]  # (facts, sku, listed price)


def _listing_tables() -> tuple[str, str, str, str]:
    variant = Variant._meta
    product = variant.get_field("product").related_model._meta
    category = product.get_field("category").related_model._meta
    return Listing._meta.db_table, variant.db_table, product.db_table, category.db_table


def _price(value) -> Decimal:
    # SQLite hands decimals back as numbers: normalise them to the field's precision.
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class SkuListing:
    """A sku as a checkout reads it: its variant, the name an order line shows (the variant's,
    else its product's) and what `quote` needs of its listing in the channel (None when it is
    not sold there: no published listing, or an inactive variant or product)."""

    variant_id: int
    sku: str
    line_name: str
    listing: ListingFacts | None


def _sku_listings(*, channel: Channel, column: str, keys: Sequence) -> list[SkuListing]:
    """The variants whose `column` (id or sku) is in `keys`, with their listings in `channel`.
    One plain statement, prepared: every checkout quotes, and compiling the ORM's four-table
    query, then planning it, cost more than running it."""
    wanted = sorted(set(keys))
    listing, variant, product, category = _listing_tables()
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "SELECT v.id, v.sku, v.name, p.name, v.product_id, c.path, p.brand, l.id, l.price "
            f"FROM {variant} v JOIN {product} p ON p.id = v.product_id "
            f"LEFT JOIN {category} c ON c.id = p.category_id "
            f"LEFT JOIN {listing} l ON l.variant_id = v.id AND l.channel_id = %s "
            "AND l.published = %s AND v.active = %s AND p.active = %s "
            f"WHERE v.{column} IN ({', '.join(['%s'] * len(wanted))})",
            [channel.pk, True, True, True, *wanted],
        )
        rows = cursor.fetchall()
    return [
        SkuListing(
            vid,
            sku,
            name or product_name,
            None
            if listing_id is None
            else (LineFacts(vid, product_id, path or "", brand), sku, _price(price)),
        )
        for vid, sku, name, product_name, product_id, path, brand, listing_id, price in rows
    ]


def _listing_facts(*, channel: Channel, variant_ids: Sequence[int]) -> dict[int, ListingFacts]:
    """What quoting needs of each line's listing (the published listings `listing_prices`
    returns), as plain values: (facts, sku, price) by variant id. One query."""
    return {
        item.variant_id: item.listing
        for item in _sku_listings(channel=channel, column="id", keys=variant_ids)
        if item.listing is not None
    }


def listings_for_skus(*, channel: Channel, skus: Sequence[str]) -> dict[str, SkuListing]:
    """The variants of `skus` (unknown ones absent) with their listings in `channel`, for a
    caller that resolves skus and then quotes them (order placement): pass
    `{v.variant_id: v.listing ...}` to `quote(listings=...)`. One query."""
    return {item.sku: item for item in _sku_listings(channel=channel, column="sku", keys=skus)}


def variant_ids_for_skus(*, skus: Sequence[str]) -> dict[str, int]:
    """Variant id per known sku. One query."""
    return dict(Variant.objects.filter(sku__in=set(skus)).values_list("sku", "pk"))


def quote(
    *,
    channel: Channel,
    customer=None,
    lines: Sequence[QuoteLineInput],
    voucher_code: str | None = None,
    loyalty_points: int = 0,
    at: datetime | None = None,
    customer_current: bool = False,
    listings: Mapping[int, ListingFacts] | None = None,
) -> Quote:
    """Price `lines` in `channel` for `customer` (None: a guest). Reads only; takes no locks.
    `customer_current`: the caller read or wrote `customer` in its current transaction (order
    placement resolving its shopper), so its tier and segment are taken as loaded.
    `listings`: the lines' listing facts by variant id when the caller has just read them
    (`listings_for_skus`); a variant missing there is not listed in the channel.

    A fixed number of queries whatever the number of lines or promotions: listings (1), the
    voucher and the customer's uses of it (0-2), the customer's pricing profile and loyalty
    balance (customers' selectors), the promotion snapshot (0 when cached, 4 otherwise).
    Raises `VariantNotListed` (naming the sku or variant id), the voucher errors of
    `promotions.errors`, or `InvalidInput` for malformed input; never a partial quote.
    """
    at = at or timezone.now()
    if timezone.is_naive(at):
        raise InvalidInput("`at` must be timezone-aware.", code="naive_datetime", field="at")
    if not lines:
        raise InvalidInput("A quote needs at least one line.", code="empty_basket", field="lines")
    for index, item in enumerate(lines):
        if not isinstance(item.quantity, int) or item.quantity < 1:
            raise InvalidInput(
                "Quantities are whole numbers of at least 1.",
                code="invalid_quantity",
                field=f"lines.{index}.quantity",
            )
    if not isinstance(loyalty_points, int) or loyalty_points < 0:
        raise InvalidInput(
            "Loyalty points are a whole number, 0 or more.",
            code="invalid_points",
            field="loyalty_points",
        )
    currency = channel.currency
    if listings is None:
        listings = _listing_facts(channel=channel, variant_ids=[i.variant_id for i in lines])
    work: list[_Line] = []
    for index, item in enumerate(lines):
        listing = listings.get(item.variant_id)
        if listing is None:
            sku = Variant.objects.filter(pk=item.variant_id).values_list("sku", flat=True).first()
            raise VariantNotListed(
                f"{sku or f'Variant {item.variant_id}'} is not sold in channel {channel.code}.",
                field=f"lines.{index}",
                sku=sku,
                variant_id=item.variant_id,
            )
        facts, sku, listed_price = listing
        price = quantize(listed_price, currency)
        work.append(
            _Line(
                index=index,
                facts=facts,
                sku=sku,
                quantity=item.quantity,
                unit_price=price,
                unit_net=price,
            )
        )

    profile = (
        customer_terms.pricing_profile_of(customer)
        if customer_current and customer is not None
        else customer_terms.pricing_profile(customer)
    )
    tier, segments = profile.tier, frozenset(profile.segments)
    snapshot = channel_snapshot(channel=channel, at=at)
    rules = [r for r in snapshot.rules if r.live_at(at)]
    code = (voucher_code or "").strip().upper() or None
    voucher_rule = (
        _voucher_rule(
            code=code,
            channel=channel,
            customer=customer,
            rules=rules,
            at=at,
            tier=tier,
            segments=segments,
        )
        if code
        else None
    )
    # Which rules cover which lines, from the snapshot's index (not every rule x every line).
    covering: dict[int, list[_Line]] = defaultdict(list)
    for ln in work:
        for rule_id in snapshot.rule_ids_for(ln.facts):
            covering[rule_id].append(ln)
    # Catalogue stage before basket stage; within each, highest priority first (snapshot order).
    applicable = [
        r
        for r in rules
        if r.id in covering
        and ((r.trigger == Trigger.AUTOMATIC and r.open_to(tier, segments)) or r is voucher_rule)
    ]
    if voucher_rule is not None and voucher_rule.id not in covering:
        raise VoucherOutOfScope(
            "No line of this basket is covered by this voucher.", voucher_code=code
        )
    # promotion id (None: the tier benefit) -> [id, name, amount, free_shipping, source, code]
    applied: dict[int | None, list] = {}
    benefits = getattr(profile, "tier_benefits", None) or {}
    tier_pending = bool(tier and benefits)

    for rule in applicable:
        if tier_pending and not rule.is_catalogue:
            _tier_benefit(tier=tier, benefits=benefits, lines=work, currency=currency, into=applied)
            tier_pending = False
        source = "voucher" if rule is voucher_rule else "promotion"
        vcode = code if rule is voucher_rule else ""
        eligible = [
            ln for ln in covering[rule.id] if not ln.locked and not (rule.exclusive and ln.touched)
        ]
        if rule is voucher_rule and not eligible:
            raise VoucherOutOfScope(
                "No line of this basket is covered by this voucher.", voucher_code=code
            )
        base = sum((ln.net for ln in eligible), Decimal(0))
        if not eligible or base < rule.min_spend:
            if rule is voucher_rule:
                raise VoucherMinSpend(
                    f"This voucher needs a spend of {quantize(rule.min_spend, currency)} "
                    f"{currency} on the products it covers.",
                    voucher_code=code,
                    min_spend=f"{quantize(rule.min_spend, currency):f}",
                )
            continue
        if rule.kind == PromotionKind.FREE_SHIPPING:
            applied[rule.id] = [rule.id, rule.name, Decimal(0), True, source, vcode]
            continue
        given = _apply(rule, eligible, currency, source, vcode)
        if given > 0:
            entry = applied.setdefault(
                rule.id, [rule.id, rule.name, Decimal(0), False, source, vcode]
            )
            entry[2] += given
    if tier_pending:
        _tier_benefit(tier=tier, benefits=benefits, lines=work, currency=currency, into=applied)

    loyalty_used, loyalty_discount = _loyalty(
        customer=customer, requested=loyalty_points, lines=work, currency=currency
    )

    out_lines = []
    for ln in work:
        gross = ln.unit_price * ln.quantity
        line_discount = ln.discounted
        total = gross - line_discount
        out_lines.append(
            QuoteLine(
                variant_id=ln.facts.variant_id,
                sku=ln.sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                discounts=ln.discount_list(),
                line_discount=line_discount,
                line_total=total,
                final_unit_price=quantize(total / ln.quantity, currency),
            )
        )
    subtotal = sum((ln.unit_price * ln.quantity for ln in work), Decimal(0))
    all_discounts = sum((ln.line_discount for ln in out_lines), Decimal(0))
    return Quote(
        channel_id=channel.pk,
        currency=currency,
        customer_id=getattr(customer, "pk", None),
        lines=tuple(out_lines),
        subtotal=subtotal,
        discount_total=all_discounts - loyalty_discount,
        loyalty_points=loyalty_used,
        loyalty_discount=loyalty_discount,
        total=subtotal - all_discounts,
        free_shipping=any(entry[3] for entry in applied.values()),
        voucher_code=code if voucher_rule else None,
        promotions=tuple(
            AppliedPromotion(
                promotion_id=pid,
                name=name,
                source=source,
                voucher_code=vcode,
                amount=amount,
                free_shipping=free,
            )
            for pid, name, amount, free, source, vcode in applied.values()
        ),
        quoted_at=at,
    )


def _voucher_rule(*, code, channel, customer, rules, at, tier, segments) -> Rule:
    """The rule `code` unlocks in this channel for this customer, or the voucher error."""
    voucher = Voucher.objects.select_related("promotion").filter(code=code).first()
    if voucher is None:
        raise VoucherUnknown(f"No voucher {code!r}.", voucher_code=code)
    promotion = voucher.promotion
    if not voucher.active or not promotion.active or promotion.trigger != Trigger.VOUCHER:
        raise VoucherExpired(f"Voucher {code} is no longer valid.", voucher_code=code)
    starts = [d for d in (voucher.valid_from, promotion.starts_at) if d is not None]
    ends = [d for d in (voucher.valid_until, promotion.ends_at) if d is not None]
    if any(at < d for d in starts):
        raise VoucherNotStarted(f"Voucher {code} is not valid yet.", voucher_code=code)
    if any(at >= d for d in ends):
        raise VoucherExpired(f"Voucher {code} has expired.", voucher_code=code)
    rule = next((r for r in rules if r.id == promotion.pk), None)
    if rule is None:
        raise VoucherOutOfScope(
            f"Voucher {code} is not valid in {channel.name}.", voucher_code=code
        )
    if not rule.open_to(tier, segments):
        raise VoucherOutOfScope(f"Voucher {code} is not offered to you.", voucher_code=code)
    if voucher.usage_limit is not None and voucher.times_used >= voucher.usage_limit:
        raise VoucherExhausted(voucher_code=code, limit="per_code")
    if customer is not None and voucher.per_customer_limit is not None:
        used = voucher_customer_uses(voucher=voucher, customer=customer)
        if used >= voucher.per_customer_limit:
            raise VoucherExhausted(
                f"You have already used voucher {code} {used} time(s).",
                voucher_code=code,
                limit="per_customer",
            )
    return rule


def _apply(rule: Rule, lines: list[_Line], currency: str, source: str, code: str) -> Decimal:
    """Apply one rule to its eligible lines; return the discount it gave."""
    given = Decimal(0)
    if rule.kind == PromotionKind.CATALOGUE:
        for ln in lines:
            off = min(ln.unit_net, _unit_discount(rule, ln.unit_net, currency))
            # A later basket rule may have left less than units x unit_net on the line.
            amount = min(off * ln.quantity, ln.net)
            if amount <= 0:
                continue
            ln.unit_net -= off
            ln.add(rule, source, code, rule.name, amount)
            _touch(rule, ln)
            given += amount
        return given
    if rule.kind == PromotionKind.SPEND_THRESHOLD:
        base = sum((ln.net for ln in lines), Decimal(0))
        if rule.discount_type == DiscountType.PERCENT:
            total = quantize(base * rule.value / HUNDRED, currency)
        else:
            total = min(quantize(rule.value, currency), base)
        shares = allocate(total, [ln.net for ln in lines], currency)
        for ln, share in zip(lines, shares, strict=True):
            ln.add(rule, source, code, rule.name, share)
            if share > 0:
                _touch(rule, ln)
        return total
    if rule.kind == PromotionKind.BUY_X_GET_Y:
        group = rule.buy_quantity + rule.get_quantity
        free = (sum(ln.quantity for ln in lines) // group) * rule.get_quantity
        # The cheapest units are the ones given away (ties: later lines first). A line's units
        # all cost the same, so lines are taken whole or in part, never unit by unit.
        for unit_value, ln in sorted(_unit_values(lines), key=lambda u: (u[0], -u[1].index)):
            if free <= 0:
                break
            take = min(free, ln.quantity)
            free -= take
            if rule.discount_type == DiscountType.PERCENT:
                off = quantize(unit_value * rule.value / HUNDRED, currency)
            else:
                # An amount off one unit never eats into the line's other units.
                off = min(quantize(rule.value, currency), quantize(unit_value, currency))
            amount = min(off * take, ln.net)
            if amount <= 0:
                continue
            ln.add(rule, source, code, rule.name, amount)
            _touch(rule, ln)
            given += amount
        return given
    if rule.kind == PromotionKind.BUNDLE:
        return _bundle(rule, lines, currency, source, code)
    raise ValueError(f"unknown promotion kind {rule.kind!r}")


def _tier_benefit(*, tier: str, benefits, lines: list[_Line], currency: str, into: dict) -> None:
    """The customer's loyalty tier benefits (customers' `LoyaltyTier.benefits`) that pricing
    understands: `discount_percent` off every unit, after the catalogue rules and on the lines
    no exclusive promotion holds, and `free_shipping`. Other keys are not pricing's."""
    name = f"{tier.replace('_', ' ').title()} tier benefit"
    percent = benefits.get("discount_percent")
    try:
        percent = None if isinstance(percent, bool) else Decimal(str(percent))
    except (InvalidOperation, ValueError):
        percent = None
    if percent is not None and percent.is_finite() and 0 < percent <= HUNDRED:
        given = Decimal(0)
        for ln in lines:
            if ln.locked:
                continue
            off = quantize(ln.unit_net * percent / HUNDRED, currency)
            amount = min(off * ln.quantity, ln.net)
            if amount <= 0:
                continue
            ln.unit_net -= off
            ln.add(None, "promotion", "", name, amount)
            ln.touched = True
            given += amount
        if given > 0:
            into[None] = [None, name, given, False, "promotion", ""]
    if benefits.get("free_shipping") is True:
        into.setdefault(None, [None, name, Decimal(0), False, "promotion", ""])[3] = True


def _unit_discount(rule: Rule, unit: Decimal, currency: str) -> Decimal:
    if rule.discount_type == DiscountType.PERCENT:
        return quantize(unit * rule.value / HUNDRED, currency)
    if rule.discount_type == DiscountType.AMOUNT:
        return quantize(rule.value, currency)
    return max(Decimal(0), unit - quantize(rule.value, currency))


def _unit_values(lines: list[_Line]) -> list[tuple[Decimal, _Line]]:
    """What one unit of each line still costs (its net over its units)."""
    return [(ln.net / ln.quantity, ln) for ln in lines]


def _bundle(rule: Rule, lines: list[_Line], currency: str, source: str, code: str) -> Decimal:
    """Bundles of `bundle_quantity` units at `bundle_price`, formed from the dearest units down
    (the shopper gets the most from the price); leftover units pay full price. A bundle's
    discount is spread over its units by largest remainder. Bundles made of one line's units
    are all alike and are counted in one step, so huge quantities cost no more to price."""
    size = rule.bundle_quantity
    given = Decimal(0)
    pieces: list[tuple[Decimal, _Line, int]] = []  # the bundle being filled: (value, line, n)
    filled = 0

    def close(members: list[tuple[Decimal, _Line, int]]) -> Decimal:
        weights = [value * n for value, _, n in members]
        total = max(Decimal(0), quantize(sum(weights, Decimal(0)) - rule.bundle_price, currency))
        for (_, ln, _), share in zip(members, allocate(total, weights, currency), strict=True):
            ln.add(rule, source, code, rule.name, share)
            if share > 0:
                _touch(rule, ln)
        return total

    for value, ln in sorted(_unit_values(lines), key=lambda u: (-u[0], u[1].index)):
        left = ln.quantity
        if pieces:
            take = min(left, size - filled)
            pieces.append((value, ln, take))
            filled += take
            left -= take
            if filled == size:
                given += close(pieces)
                pieces, filled = [], 0
        if left >= size:
            bundles = left // size
            each = max(Decimal(0), quantize(value * size - rule.bundle_price, currency))
            amount = min(each * bundles, ln.net)
            if amount > 0:
                ln.add(rule, source, code, rule.name, amount)
                _touch(rule, ln)
                given += amount
            left -= bundles * size
        if left:
            pieces.append((value, ln, left))
            filled += left
    return given


def _touch(rule: Rule, line: _Line) -> None:
    line.touched = True
    if rule.exclusive:
        line.locked = True


def allocate(total: Decimal, weights: Sequence[Decimal], currency: str) -> list[Decimal]:
    """Split `total` (in `currency` precision) over `weights` in proportion, by the largest
    remainder method in minor units: the parts add up exactly to `total`; ties go to the
    earlier weight. A part never exceeds its weight when `total` does not exceed their sum."""
    unit = minor_unit(currency)
    units = int(total / unit)
    scaled = [int((w / unit).to_integral_value()) for w in weights]
    whole = sum(scaled)
    if units <= 0 or whole <= 0:
        return [Decimal(0) for _ in weights]
    floors = [units * w // whole for w in scaled]
    remainders = [units * w % whole for w in scaled]
    left = units - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [Decimal(f) * unit for f in floors]


def _loyalty(*, customer, requested: int, lines: list[_Line], currency: str):
    """Points used and the discount they give, allocated to the lines (source "loyalty")."""
    if requested <= 0:
        return 0, Decimal(0)
    if customer is None:
        raise InvalidInput(
            "Loyalty points need a customer.", code="customer_required", field="loyalty_points"
        )
    terms = customer_terms.loyalty_terms()
    if terms.point_value <= 0 or terms.max_basket_share <= 0:
        return 0, Decimal(0)
    payable = sum((ln.net for ln in lines), Decimal(0))
    # Largest number of points whose value stays within the allowed share of the basket.
    share_cap = math.floor(payable * terms.max_basket_share / terms.point_value)
    used = min(requested, customer_terms.loyalty_balance(customer), share_cap)
    if used <= 0:
        return 0, Decimal(0)
    discount = min(quantize(used * terms.point_value, currency), payable)
    shares = allocate(discount, [ln.net for ln in lines], currency)
    for ln, share in zip(lines, shares, strict=True):
        ln.add(None, "loyalty", "", "Loyalty points", share)
    return used, discount


__all__ = [
    "AppliedPromotion",
    "Discount",
    "Quote",
    "QuoteLine",
    "QuoteLineInput",
    "SkuListing",
    "allocate",
    "listing_prices",
    "listings_for_skus",
    "minor_units",
    "quote",
]
