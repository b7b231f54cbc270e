"""Order placement: the one entry point for the storefront API, POS, staff and channel feeds."""

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction

from catalog.money import quantize
from customers.services import customer_resolve, loyalty_earn, loyalty_redeem
from inventory.models import LocationKind, StockLocation
from inventory.selectors import sourcing_candidates
from inventory.services import StockRequest, stock_record_sale, stock_reserve
from omni.errors import DomainError, InvalidInput
from omni.models import Channel
from omni.sql import execute_prepared, insert_models_together
from orders import sourcing
from orders.changes import orders_changed
from orders.errors import IdempotencyKeyReused, InsufficientStock
from orders.models import (
    Allocation,
    ChannelOrderSettings,
    Fulfilment,
    FulfilmentLine,
    FulfilmentMethod,
    FulfilmentStatus,
    IdempotencyKey,
    Order,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    Return,
    TimelineEvent,
)
from orders.state import actor_label, staff_user
from promotions.pricing import QuoteLineInput, listings_for_skus, quote
from promotions.services import voucher_redeem

MAX_LINES = 200
MAX_QUANTITY = 10_000
# Sourcing reads availability without locks; a concurrent order may take the units it chose
# before stock_reserve locks them. Re-planning once against fresh numbers absorbs that race.
# The re-plan runs in a new transaction: the refused attempt still holds the row locks it
# took, and locking the new plan's rows on top of them would break the pk lock order (two
# orders each holding a row the other's new plan needs deadlock).
RESERVE_ATTEMPTS = 2


class _StalePlan(Exception):
    """The sourcing plan met a concurrent order's reservation: place again from scratch."""


@dataclass(frozen=True)
class LineInput:
    sku: str
    quantity: int
    fulfilment_method: str | None = None  # default: the order's method
    pickup_location_code: str = ""


@dataclass(frozen=True)
class CustomerInput:
    email: str = ""
    phone: str = ""
    account_id: str = ""
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class PaymentInput:
    status: str = PaymentStatus.PENDING
    reference: str = ""
    amount: Decimal | None = None


@dataclass(frozen=True)
class RecordedSale:
    """A till sale replayed after the fact: the goods left `location_code` at `sold_at`."""

    location_code: str
    sold_at: datetime


@dataclass
class Placement:
    order: Order
    created: bool
    # The response first given for this Idempotency-Key, returned verbatim on a replay.
    response_status: int | None = None
    response_body: dict | None = None
    # What a fresh placement wrote, so the caller can answer without reading it back.
    lines: list[OrderLine] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)


def request_fingerprint(payload: Any) -> str:
    """A stable digest of a request: same content (whatever the key order) gives the same one."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def order_place(
    *,
    channel: Channel,
    lines: Sequence[LineInput],
    customer: CustomerInput | None = None,
    fulfilment_method: str = FulfilmentMethod.SHIP,
    pickup_location_code: str = "",
    shipping_address: dict | None = None,
    billing_address: dict | None = None,
    voucher_code: str | None = None,
    loyalty_points: int = 0,
    payment: PaymentInput | None = None,
    external_id: str | None = None,
    idempotency_key: str | None = None,
    recorded_sale: RecordedSale | None = None,
    exchange_for: Return | None = None,
    note: str = "",
    user=None,
    actor: str = "",
    respond: Callable[[Placement], dict] | None = None,
) -> Placement:
    """Place an order in `channel`, or return the one already placed for the same
    `(channel, external_id)` or `Idempotency-Key`.

    `respond` renders the answer to a fresh placement (status 201): it becomes the placement's
    `response_body` and, with an Idempotency-Key, is stored with the key in the same
    transaction, so a replay returns it without a write of its own after the commit.

    Invariants: all or nothing in one transaction (customer, quote, order, lines, stock
    reservations, voucher and loyalty redemption); every line is reserved at locations chosen
    by the channel's sourcing strategy (pickup lines at the pickup store only) or, when a line
    is short, `insufficient_stock` (409) lists each short SKU and nothing is reserved. A fixed
    number of SQL queries whatever the number of lines. The same Idempotency-Key with another
    request is refused (422 `idempotency_key_reused`).

    Concurrency: the order row (unique per channel and external id) and the idempotency record
    (unique per channel and key) are inserted before any stock is touched; a concurrent
    duplicate blocks on those unique indexes, fails once the first commits, and is answered
    with the first order. Stock rows are locked by inventory in primary-key order. The sourcing
    plan is read (unlocked) before those inserts, so a short order is refused having written
    nothing; a duplicate refused that way after the first committed answers with the first.

    A `recorded_sale` (POS sale replayed after the fact) is never refused for stock: the goods
    already left, so the sale is booked through `stock_record_sale` and the order is completed.
    """
    args = {
        # The fields of these flat dataclasses, as asdict() gives them (without its deep copy).
        "lines": [dict(vars(line)) for line in lines],
        "customer": dict(vars(customer)) if customer else None,
        "fulfilment_method": fulfilment_method,
        "pickup_location_code": pickup_location_code,
        "shipping_address": shipping_address or {},
        "billing_address": billing_address or {},
        "voucher_code": voucher_code or "",
        "loyalty_points": loyalty_points,
        "payment": dict(vars(payment)) if payment else None,
        "external_id": external_id or "",
        "recorded_sale": asdict(recorded_sale) if recorded_sale else None,
        "exchange_for": exchange_for.pk if exchange_for else None,
        "note": note,
    }
    fingerprint = request_fingerprint(args)
    existing = _existing(channel, external_id, idempotency_key, fingerprint)
    if existing is not None:
        return existing
    place_args = {
        "channel": channel,
        "lines": lines,
        "customer_input": customer,
        "fulfilment_method": fulfilment_method,
        "pickup_location_code": pickup_location_code,
        "shipping_address": shipping_address or {},
        "billing_address": billing_address or {},
        "voucher_code": voucher_code or None,
        "loyalty_points": loyalty_points,
        "payment": payment or PaymentInput(),
        "external_id": external_id or None,
        "idempotency_key": idempotency_key or None,
        "fingerprint": fingerprint,
        "recorded_sale": recorded_sale,
        "exchange_for": exchange_for,
        "note": note,
        "user": user,
        "actor": actor,
    }
    attempts_left = RESERVE_ATTEMPTS
    while True:
        attempts_left -= 1
        try:
            return _place_once(respond=respond, replan=attempts_left > 0, **place_args)
        except _StalePlan:
            continue  # the refused attempt rolled back, releasing its row locks
        except InsufficientStock:
            # Stock is planned before the order row and key are inserted, so a duplicate of a
            # placement that committed (taking the last units) after our first look lands here
            # rather than on their unique indexes: it gets the first answer, not a 409.
            existing = _existing(channel, external_id, idempotency_key, fingerprint)
            if existing is None:
                raise
            return existing
        except IntegrityError:
            # A concurrent placement with the same external id or key committed first.
            existing = _existing(channel, external_id, idempotency_key, fingerprint)
            if existing is None:
                raise
            return existing


def _place_once(*, respond, replan: bool, **place_args) -> Placement:
    """One placement transaction (`_place`), with the rendered answer stored under the key."""
    with transaction.atomic(durable=place_args["exchange_for"] is None):
        return _place(respond=respond, replan=replan, **place_args)


def _existing(
    channel: Channel, external_id: str | None, key: str | None, fingerprint: str
) -> Placement | None:
    if key:
        # The common case is a new key: one plain query (no ORM compilation) says so.
        if not _rows(
            f"SELECT 1 FROM {IdempotencyKey._meta.db_table} WHERE channel_id = %s AND key = %s",
            [channel.pk, key],
        ):
            record = None
        else:
            record = (
                IdempotencyKey.objects.filter(channel=channel, key=key)
                .select_related("order")
                .first()
            )
        if record is not None:
            if record.fingerprint != fingerprint:
                raise IdempotencyKeyReused(field="Idempotency-Key")
            return Placement(
                record.order,
                created=False,
                response_status=record.response_status,
                response_body=record.response_body,
            )
    if external_id:
        order = Order.objects.filter(channel=channel, external_id=external_id).first()
        if order is not None:
            return Placement(order, created=False)
    return None


def _rows(sql: str, params: Sequence, *, fetch: bool = True) -> list[tuple]:
    """A fixed, portable statement run without the ORM (the hot path of placement pays for SQL
    compilation on every query otherwise), prepared on PostgreSQL (and for its planning)."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        return cursor.fetchall() if fetch else []


def _order_settings(channel: Channel) -> tuple[ChannelOrderSettings | None, int | None]:
    """The channel's order settings (None when it has none) and, on PostgreSQL, the id the new
    order will take (drawn from its sequence, so its number goes into the INSERT instead of a
    second UPDATE of the row; None elsewhere). One query."""
    table = ChannelOrderSettings._meta.db_table
    columns = "s.id, s.sourcing_strategy, s.tax_rate, s.prices_include_tax, s.shipping_fee"
    if connection.vendor == "postgresql":
        rows = _rows(
            f"SELECT nextval(pg_get_serial_sequence(%s, 'id')), {columns} "
            f"FROM (SELECT 1) AS one LEFT JOIN {table} s ON s.channel_id = %s",
            [Order._meta.db_table, channel.pk],
        )
        order_id, *values = rows[0]
    else:
        rows = _rows(f"SELECT {columns} FROM {table} s WHERE s.channel_id = %s", [channel.pk])
        order_id, values = None, (list(rows[0]) if rows else [None] * 5)
    pk, strategy, tax_rate, included, fee = values
    if pk is None:
        return None, order_id
    # SQLite hands decimals back as numbers: normalise them to the fields' precision.
    settings = ChannelOrderSettings(
        pk=pk,
        channel=channel,
        sourcing_strategy=strategy,
        tax_rate=Decimal(str(tax_rate)).quantize(Decimal("0.0001")),
        prices_include_tax=bool(included),
        shipping_fee=Decimal(str(fee)).quantize(Decimal("0.001")),
    )
    return settings, order_id


def _order_number(channel: Channel, order_id: int) -> str:
    return f"{channel.code[:16].upper()}-{order_id:06d}"


def _validate_lines(lines: Sequence[LineInput], order_method: str) -> None:
    if not lines:
        raise InvalidInput("An order needs at least one line.", code="required", field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(
            f"At most {MAX_LINES} lines per order.", code="too_many_lines", field="lines"
        )
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int):
            raise InvalidInput(
                "Quantity must be an integer.", code="invalid", field=f"lines.{index}.quantity"
            )
        if not 0 < line.quantity <= MAX_QUANTITY:
            raise InvalidInput(
                f"Quantity must be between 1 and {MAX_QUANTITY}.",
                code="invalid_quantity",
                field=f"lines.{index}.quantity",
            )
        if line.sku in seen:
            raise InvalidInput(
                f"SKU {line.sku} appears twice; send one line with the total quantity.",
                code="duplicate_sku",
                field=f"lines.{index}.sku",
            )
        seen.add(line.sku)
        method = line.fulfilment_method or order_method
        if method not in FulfilmentMethod.values or method == FulfilmentMethod.IN_STORE:
            raise InvalidInput(
                f"Unknown fulfilment method {method!r}.",
                code="invalid_choice",
                field=f"lines.{index}.fulfilment_method",
            )


def _pickup_codes(
    lines: Sequence[LineInput], order_method: str, order_pickup_code: str
) -> dict[int, str]:
    """Pickup store code per line index (pickup lines only)."""
    codes = {}
    for index, line in enumerate(lines):
        method = line.fulfilment_method or order_method
        if method != FulfilmentMethod.PICKUP:
            continue
        code = line.pickup_location_code or order_pickup_code
        if not code:
            raise InvalidInput(
                "Pickup needs the code of the store to pick up at.",
                code="pickup_location_required",
                field=f"lines.{index}.pickup_location_code"
                if line.fulfilment_method
                else "pickup_location",
            )
        codes[index] = code
    if len(set(codes.values())) > 1:
        raise InvalidInput(
            "All pickup lines of an order are collected at one store.",
            code="several_pickup_locations",
            field="pickup_location",
        )
    return codes


def _place(
    *,
    channel: Channel,
    lines: Sequence[LineInput],
    customer_input: CustomerInput | None,
    fulfilment_method: str,
    pickup_location_code: str,
    shipping_address: dict,
    billing_address: dict,
    voucher_code: str | None,
    loyalty_points: int,
    payment: PaymentInput,
    external_id: str | None,
    idempotency_key: str | None,
    fingerprint: str,
    recorded_sale: RecordedSale | None,
    exchange_for: Return | None,
    note: str,
    user,
    actor: str,
    respond: Callable[[Placement], dict] | None = None,
    replan: bool = False,
) -> Placement:
    if recorded_sale is not None:
        fulfilment_method = FulfilmentMethod.IN_STORE
        lines = [LineInput(line.sku, line.quantity, FulfilmentMethod.IN_STORE) for line in lines]
        voucher_code, loyalty_points = None, 0
        _validate_sale_lines(lines)
    else:
        _validate_lines(lines, fulfilment_method)
    if payment.status not in PaymentStatus.values:
        raise InvalidInput("Unknown payment status.", code="invalid_choice", field="payment.status")
    if (
        isinstance(loyalty_points, bool)
        or not isinstance(loyalty_points, int)
        or loyalty_points < 0
    ):
        raise InvalidInput(
            "Loyalty points must be a non-negative integer.",
            code="invalid_points",
            field="loyalty_points",
        )
    ships = any(
        (line.fulfilment_method or fulfilment_method)
        in (FulfilmentMethod.SHIP, FulfilmentMethod.SHIP_FROM_STORE)
        for line in lines
    )
    if ships and not shipping_address:
        raise InvalidInput(
            "Shipped orders need a shipping address.", code="required", field="shipping_address"
        )

    # 1 query: the variants by SKU with their listings in the channel (quoted below).
    skus = [line.sku for line in lines]
    variants = listings_for_skus(channel=channel, skus=skus)
    for index, line in enumerate(lines):
        if line.sku not in variants:
            raise InvalidInput(
                f"Unknown SKU {line.sku}.", code="unknown_sku", field=f"lines.{index}.sku"
            )

    # 1 query when a store is named: the pickup store or the till's store.
    pickup_codes = (
        {} if recorded_sale else _pickup_codes(lines, fulfilment_method, pickup_location_code)
    )
    wanted_codes = set(pickup_codes.values())
    if recorded_sale:
        wanted_codes.add(recorded_sale.location_code)
    locations: dict[str, StockLocation] = {}
    if wanted_codes:
        locations = {
            loc.code: loc
            for loc in StockLocation.objects.filter(code__in=wanted_codes, active=True)
        }
    for code in pickup_codes.values():
        location = locations.get(code)
        if location is None or not location.pickup_enabled:
            raise InvalidInput(
                f"{code} is not a store that offers pickup.",
                code="invalid_pickup_location",
                field="pickup_location",
            )
    sale_location = locations.get(recorded_sale.location_code) if recorded_sale else None
    if recorded_sale and sale_location is None:
        raise InvalidInput(
            f"Unknown location {recorded_sale.location_code}.",
            code="unknown_location",
            field="location",
        )

    settings, order_id = _order_settings(channel)  # 1 query
    profile = None
    if customer_input is not None:
        try:
            profile = customer_resolve(channel=channel, **vars(customer_input))
        except InvalidInput as exc:
            # Name the field as the caller sent it: customer.email, customer.phone...
            raise InvalidInput(
                exc.message, code=exc.code, field=f"customer.{exc.field or 'email'}", **exc.extra
            ) from exc

    priced = quote(
        channel=channel,
        customer=profile,
        lines=[
            QuoteLineInput(variant_id=variants[sku].variant_id, quantity=line.quantity)
            for sku, line in zip(skus, lines, strict=True)
        ],
        listings={v.variant_id: v.listing for v in variants.values() if v.listing is not None},
        voucher_code=voucher_code,
        loyalty_points=loyalty_points,
        at=recorded_sale.sold_at if recorded_sale else None,
        customer_current=True,  # resolved just above, in this transaction
    )
    quoted = priced.as_dict()
    currency = priced.currency
    tax_rate = settings.tax_rate if settings else Decimal("0")
    tax_included = settings.prices_include_tax if settings else True
    quoted_lines = {int(q["variant_id"]): q for q in quoted["lines"]}
    line_taxes = {}
    for q in priced.lines:
        total = Decimal(q.line_total)
        if tax_rate:
            tax = total * tax_rate / (1 + tax_rate) if tax_included else total * tax_rate
            line_taxes[q.variant_id] = quantize(tax, currency)
        else:
            line_taxes[q.variant_id] = Decimal("0")
    tax_total = sum(line_taxes.values(), Decimal("0"))
    shipping_total = Decimal("0")
    if ships and settings and not priced.free_shipping:
        shipping_total = quantize(settings.shipping_fee, currency)
    total = Decimal(priced.total) + shipping_total + (Decimal("0") if tax_included else tax_total)

    if recorded_sale:
        status = OrderStatus.COMPLETED
    elif payment.status in (PaymentStatus.PAID, PaymentStatus.AUTHORIZED):
        status = OrderStatus.CONFIRMED
    else:
        status = OrderStatus.PENDING
    payment_amount = payment.amount
    if payment_amount is None:
        payment_amount = total if payment.status != PaymentStatus.PENDING else Decimal("0")
    pickup_location = locations.get(pickup_location_code) if pickup_location_code else None
    if pickup_location is None and pickup_codes:
        pickup_location = locations[next(iter(pickup_codes.values()))]
    strategy = sourcing.strategy_for(settings.sourcing_strategy if settings else None)

    # The plan (and a 409 when stock is short) comes before any write: a refused order costs
    # its reads only. Sourcing reads without locks; stock_reserve enforces the plan below.
    planned = None
    if not recorded_sale:
        planned = _plan(
            channel,
            [
                (
                    variants[sku].variant_id,
                    sku,
                    line.quantity,
                    line.fulfilment_method or fulfilment_method,
                    locations[pickup_codes[index]].pk if index in pickup_codes else None,
                )
                for index, (sku, line) in enumerate(zip(skus, lines, strict=True))
            ],
            strategy,
            shipping_address,
        )

    name = ""
    if customer_input is not None:
        name = f"{customer_input.first_name} {customer_input.last_name}".strip()
    # The checkout's inserts skip the ORM's SQL compilation (omni.sql), as its reads do.
    order = Order(
        pk=order_id,
        number=_order_number(channel, order_id) if order_id is not None else None,
        channel=channel,
        external_id=external_id,
        status=status,
        customer=profile,
        customer_name=name[:200],
        customer_email=(customer_input.email if customer_input else "")[:254],
        customer_phone=(customer_input.phone if customer_input else "")[:32],
        shipping_address=shipping_address,
        billing_address=billing_address,
        fulfilment_method=fulfilment_method,
        pickup_location=pickup_location if fulfilment_method == FulfilmentMethod.PICKUP else None,
        currency=currency,
        subtotal=Decimal(priced.subtotal),
        discount_total=Decimal(priced.discount_total),
        shipping_total=shipping_total,
        tax_total=tax_total,
        total=total,
        voucher_code=priced.voucher_code or "",
        loyalty_points_redeemed=priced.loyalty_points or 0,
        payment_status=payment.status,
        payment_reference=payment.reference[:120],
        payment_amount=payment_amount,
        quote=quoted,
        exchange_for=exchange_for,
        sourcing_strategy="" if recorded_sale else strategy.name,
        note=note,
        placed_by=staff_user(user),
        completed_at=recorded_sale.sold_at if recorded_sale else None,
    )
    order_lines = []
    for index, (sku, line) in enumerate(zip(skus, lines, strict=True)):
        variant = variants[sku]
        q = quoted_lines[variant.variant_id]
        method = line.fulfilment_method or fulfilment_method
        order_lines.append(
            OrderLine(
                order=order,
                variant_id=variant.variant_id,
                sku=sku,
                name=variant.line_name[:200],
                quantity=line.quantity,
                quantity_fulfilled=line.quantity if recorded_sale else 0,
                unit_price=Decimal(q["unit_price"]),
                discounts=q.get("discounts", []),
                discount_total=Decimal(q.get("line_discount", "0")),
                tax_amount=line_taxes[variant.variant_id],
                line_total=Decimal(q["line_total"]),
                fulfilment_method=method,
                pickup_location=locations[pickup_codes[index]] if index in pickup_codes else None,
            )
        )
    who = actor_label(user, actor)
    events = [
        TimelineEvent(
            order=order,
            kind="placed",
            message=f"Placed in {channel.code}: {len(order_lines)} lines, total {total} {currency}",
            data={
                "external_id": external_id,
                "idempotency_key": idempotency_key,
                "status": status,
                "exchange_for": exchange_for.pk if exchange_for else None,
            },
            user=staff_user(user),
            actor=who,
        )
    ]
    if recorded_sale:
        events.append(
            TimelineEvent(
                order=order,
                kind="recorded_sale",
                message=f"Till sale at {sale_location.code} replayed; goods already left",
                data={"sold_at": recorded_sale.sold_at.isoformat()},
                user=staff_user(user),
                actor=who,
            )
        )
    key = None
    if idempotency_key:
        key = IdempotencyKey(
            channel=channel, key=idempotency_key[:255], fingerprint=fingerprint, order=order
        )
    # The order, its key, lines and events in one statement (their ids are on the instances:
    # the order's was drawn above); elsewhere the order first, then the rows pointing at it.
    insert_models_together([[order], [key] if key else [], order_lines, events])
    if order_id is None:
        order.number = _order_number(channel, order.pk)
        Order.objects.filter(pk=order.pk).update(number=order.number)

    allocations = []
    if recorded_sale:
        _book_recorded_sale(order, order_lines, sale_location, user)
    else:
        allocations = _reserve(channel, order, order_lines, planned, replan=replan)

    if priced.voucher_code:
        voucher_redeem(
            code=priced.voucher_code,
            channel=channel,
            customer=profile,
            order_reference=order.number,
        )
    if priced.loyalty_points:
        loyalty_redeem(
            customer=profile,
            points=priced.loyalty_points,
            idempotency_key=f"order:{order.number}:redeem",
            reference=order.number,
            channel=channel,
        )
    if status == OrderStatus.COMPLETED and profile is not None:
        entry = loyalty_earn(
            customer=profile,
            channel=channel,
            amount=total,
            idempotency_key=f"order:{order.number}:earn",
            reference=order.number,
            occurred_at=recorded_sale.sold_at if recorded_sale else None,
        )
        order.loyalty_points_earned = max(0, entry.points)
        Order.objects.filter(pk=order.pk).update(loyalty_points_earned=order.loyalty_points_earned)

    placement = Placement(order, created=True, lines=order_lines, events=events)
    store_response = None
    if respond is not None:
        placement.response_status, placement.response_body = 201, respond(placement)
        if idempotency_key:
            store_response = _response_update(
                channel, idempotency_key, placement.response_status, placement.response_body
            )
    # The allocations and the answer kept under the key: one statement on PostgreSQL.
    insert_models_together([allocations], then=store_response)
    orders_changed([order.pk])  # announced after commit (analytics refreshes its rollups)
    return placement


def _validate_sale_lines(lines: Sequence[LineInput]) -> None:
    _validate_lines(
        [LineInput(line.sku, line.quantity, FulfilmentMethod.SHIP) for line in lines],
        FulfilmentMethod.SHIP,
    )


def _plan(
    channel: Channel,
    lines: list[tuple[int, str, int, str, int | None]],
    strategy: sourcing.SourcingStrategy,
    shipping_address: dict,
) -> sourcing.SourcingPlan:
    """Where each line (variant id, sku, quantity, fulfilment method, pickup location id) is
    reserved, by the channel's sourcing strategy; insufficient_stock when a line is short."""
    stores = None
    if any(method == FulfilmentMethod.SHIP_FROM_STORE for _, _, _, method, _ in lines):
        stores = frozenset(
            StockLocation.objects.filter(kind=LocationKind.STORE).values_list("pk", flat=True)
        )
    wanted = [
        sourcing.SourcingLine(
            key=index,
            variant_id=variant_id,
            sku=sku,
            quantity=quantity,
            pickup_location_id=pickup_location_id,
            only_locations=stores if method == FulfilmentMethod.SHIP_FROM_STORE else None,
        )
        for index, (variant_id, sku, quantity, method, pickup_location_id) in enumerate(lines)
    ]
    context = (
        sourcing.locate_address(shipping_address)
        if strategy.name == "nearest"
        else sourcing.SourcingContext()
    )
    # One read for ship and pickup lines alike: plan() keeps pickup lines at their store.
    candidates = sourcing_candidates(
        channel=channel, variant_ids=[variant_id for variant_id, *_ in lines]
    )
    planned = sourcing.plan(lines=wanted, candidates=candidates, strategy=strategy, context=context)
    if planned.shortfalls:
        raise InsufficientStock(shortfalls=[s.as_dict() for s in planned.shortfalls])
    return planned


def _reserve(channel, order, order_lines, planned, *, replan: bool):
    """Reserve every line as `planned` (line keys are indexes into `order_lines`) and return
    the allocations recording it, unsaved (the caller inserts them); with `replan`, raise
    _StalePlan when a concurrent order took the planned units first."""
    requests = [
        StockRequest(variant_id=a.variant_id, location_id=a.location_id, quantity=a.quantity)
        for a in planned.allocations
    ]
    try:
        reservations = stock_reserve(channel=channel, requests=requests, reference=order.number)
    except DomainError as exc:
        if replan and exc.code == "insufficient_stock":
            raise _StalePlan from exc
        raise
    # stock_reserve returns one reservation per request, in request order.
    return [
        Allocation(
            line=order_lines[a.line_key],
            location_id=a.location_id,
            quantity=a.quantity,
            reservation=reservation,
            strategy=a.strategy,
            reason=a.reason[:255],
        )
        for a, reservation in zip(planned.allocations, reservations, strict=True)
    ]


def _book_recorded_sale(order, order_lines, location, user) -> None:
    """Goods already left the store: book each line as a sale there (never refused) and record
    the collected fulfilment, so the order reads like any other."""
    for line in order_lines:
        stock_record_sale(
            variant_id=line.variant_id,
            location_id=location.pk,
            quantity=line.quantity,
            reference=order.number,
            user=staff_user(user),
        )
    allocations = Allocation.objects.bulk_create(
        [
            Allocation(
                line=line,
                location=location,
                quantity=line.quantity,
                quantity_fulfilled=line.quantity,
                strategy="till",
                reason=f"sold at the till of {location.code}",
            )
            for line in order_lines
        ]
    )
    fulfilment = Fulfilment.objects.create(
        order=order,
        location=location,
        method=FulfilmentMethod.IN_STORE,
        status=FulfilmentStatus.COLLECTED,
        created_by=staff_user(user),
        collected_at=order.completed_at,
    )
    FulfilmentLine.objects.bulk_create(
        [
            FulfilmentLine(fulfilment=fulfilment, line=a.line, allocation=a, quantity=a.quantity)
            for a in allocations
        ]
    )


def idempotency_response_store(*, channel: Channel, key: str, status_code: int, body: dict) -> None:
    """Remember the response first given for a key (only the first one is kept). One plain
    statement: it runs on every placement that sends a key."""
    _rows(*_response_update(channel, key, status_code, body), fetch=False)


def _response_update(channel: Channel, key: str, status_code: int, body: dict) -> tuple:
    """The statement (and its parameters) keeping the first response given for a key."""
    return (
        f"UPDATE {IdempotencyKey._meta.db_table} SET response_status = %s, response_body = %s "
        "WHERE channel_id = %s AND key = %s AND response_status IS NULL",
        [
            status_code,
            connection.ops.adapt_json_value(
                body, IdempotencyKey._meta.get_field("response_body").encoder
            ),
            channel.pk,
            key[:255],
        ],
    )
