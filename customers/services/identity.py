"""Resolving orders and sign-ups to one profile by their normalised identities."""

from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from customers.errors import CustomerError
from customers.models import Customer, Identity, IdentityKind
from customers.normalize import (
    email_match_key,
    normalize_account_id,
    normalize_email,
    normalize_loyalty_card,
    normalize_phone,
    phone_match_key,
)
from omni.errors import InvalidInput
from omni.models import Channel
from omni.sql import execute_prepared

# Which identity decides the profile when the given ones point at different profiles.
_PRIORITY = [
    IdentityKind.ACCOUNT,
    IdentityKind.LOYALTY_CARD,
    IdentityKind.EMAIL,
    IdentityKind.PHONE,
]
_RESOLVE_ATTEMPTS = 4


@dataclass(frozen=True)
class IdentityValue:
    kind: str
    value: str
    raw_value: str
    match_key: str
    channel_id: int | None

    def q(self) -> Q:
        if self.kind == IdentityKind.ACCOUNT:
            return Q(kind=self.kind, channel_id=self.channel_id, value=self.value)
        return Q(kind=self.kind, value=self.value)

    def key(self) -> tuple:
        scope = self.channel_id if self.kind == IdentityKind.ACCOUNT else None
        return (self.kind, scope, self.value)


def identity_values(
    *,
    channel: Channel | None,
    email: str = "",
    phone: str = "",
    account_id: str = "",
    loyalty_card: str = "",
) -> list[IdentityValue]:
    """Normalise what was given (blank values are skipped); raise InvalidInput naming the field
    of the first malformed one. A channel account id needs the channel it belongs to."""
    region = channel.phone_region if channel is not None else None
    channel_id = channel.pk if channel is not None else None
    values = []
    if email and email.strip():
        value = normalize_email(email)
        values.append(
            IdentityValue(
                IdentityKind.EMAIL, value, email.strip(), email_match_key(value), channel_id
            )
        )
    if phone and phone.strip():
        value = normalize_phone(phone, region=region)
        values.append(
            IdentityValue(
                IdentityKind.PHONE, value, phone.strip(), phone_match_key(value), channel_id
            )
        )
    if account_id and account_id.strip() and channel is not None:
        value = normalize_account_id(account_id)
        values.append(IdentityValue(IdentityKind.ACCOUNT, value, account_id, value, channel_id))
    if loyalty_card and loyalty_card.strip():
        value = normalize_loyalty_card(loyalty_card)
        values.append(
            IdentityValue(IdentityKind.LOYALTY_CARD, value, loyalty_card.strip(), value, channel_id)
        )
    return values


@dataclass(frozen=True)
class _Found:
    """A known identity among those given, with its profile as loaded."""

    kind: str
    channel_id: int | None
    value: str
    customer: Customer


def _matching_identities(values: list[IdentityValue]) -> list[_Found]:
    """The known identities among `values` with their profiles. One plain, prepared statement
    (every order of a known shopper runs it; the ORM's compilation and the planning cost more
    than the query), the
    profile's columns converted as the ORM would and loaded with `Model.from_db`."""
    customer_table, identity_table = Customer._meta.db_table, Identity._meta.db_table
    fields = Customer._meta.concrete_fields
    conditions, params = [], []
    for item in values:
        if item.kind == IdentityKind.ACCOUNT:
            conditions.append("(i.kind = %s AND i.channel_id = %s AND i.value = %s)")
            params += [item.kind, item.channel_id, item.value]
        else:
            conditions.append("(i.kind = %s AND i.value = %s)")
            params += [item.kind, item.value]
    columns = ", ".join(f"c.{connection.ops.quote_name(f.column)}" for f in fields)
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            f"SELECT i.kind, i.channel_id, i.value, {columns} FROM {identity_table} i "
            f"JOIN {customer_table} c ON c.id = i.customer_id WHERE {' OR '.join(conditions)}",
            params,
        )
        rows = cursor.fetchall()
    if not rows:
        return []
    converters = []
    for index, f in enumerate(fields, start=3):
        col = f.get_col(customer_table)
        funcs = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if funcs:
            converters.append((index, col, funcs))
    names = [f.attname for f in fields]
    out = []
    for row in rows:
        row = list(row)
        for index, col, funcs in converters:
            for convert in funcs:
                row[index] = convert(row[index], col, connection)
        customer = Customer.from_db(connection.alias, names, row[3:])
        out.append(_Found(row[0], row[1], row[2], customer))
    return out


def _identity_rows(customer: Customer, values: list[IdentityValue]) -> list[Identity]:
    return [
        Identity(
            customer=customer,
            kind=item.kind,
            value=item.value,
            raw_value=item.raw_value[:254],
            match_key=item.match_key,
            channel_id=item.channel_id,
        )
        for item in values
    ]


def customer_resolve(
    *,
    channel: Channel,
    email: str = "",
    phone: str = "",
    account_id: str = "",
    first_name: str = "",
    last_name: str = "",
    loyalty_card: str = "",
) -> Customer | None:
    """Return the profile owning one of the given identities, or create one; None when no
    identity is given. Never matches on names.

    Inputs are normalised first (InvalidInput `invalid_email` / `invalid_phone` / ... naming the
    field) so nothing is written for bad input. When the identities point at different profiles
    the most specific one decides (account, card, email, phone) and the others stay where they
    are (staff merge them). Identities not yet known are attached to the chosen profile.

    Concurrency: identities are unique per kind in the database. When every identity given is
    already known (a returning shopper) nothing is inserted, so the profile is only touched
    (last seen, missing names) without a savepoint. Otherwise creating the profile and its
    identities happens in a savepoint; losing a race raises IntegrityError there, the savepoint
    is rolled back (no orphan profile) and the lookup runs again, now finding the winner's
    profile. Safe inside the caller's transaction; a fixed number of queries.
    """
    values = identity_values(
        channel=channel, email=email, phone=phone, account_id=account_id, loyalty_card=loyalty_card
    )
    if not values:
        return None
    first_name = (first_name or "").strip()[:100]
    last_name = (last_name or "").strip()[:100]
    for attempt in range(_RESOLVE_ATTEMPTS):
        found = _matching_identities(values)
        if found and not _missing(values, found):
            return _touch(_owner(found), first_name, last_name)
        try:
            with transaction.atomic():
                return _resolve_once(channel, values, found, first_name, last_name)
        except IntegrityError:
            if attempt == _RESOLVE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _owner(found: list[_Found]) -> Customer:
    """The profile of the most specific identity found."""
    owners = {i.kind: i.customer for i in found}
    return next(owners[kind] for kind in _PRIORITY if kind in owners)


def _missing(values: list[IdentityValue], found: list[_Found]) -> list[IdentityValue]:
    known = {
        (i.kind, i.channel_id if i.kind == IdentityKind.ACCOUNT else None, i.value) for i in found
    }
    return [item for item in values if item.key() not in known]


def _resolve_once(
    channel: Channel,
    values: list[IdentityValue],
    found: list[_Found],
    first_name: str,
    last_name: str,
) -> Customer:
    """Inside a savepoint: create the profile, or attach the identities it lacks to it."""
    if not found:
        customer = Customer.objects.create(
            first_name=first_name, last_name=last_name, last_seen_at=timezone.now()
        )
        Identity.objects.bulk_create(_identity_rows(customer, values))
        return customer
    customer = _owner(found)
    Identity.objects.bulk_create(_identity_rows(customer, _missing(values, found)))
    return _touch(customer, first_name, last_name)


def _touch(customer: Customer, first_name: str, last_name: str) -> Customer:
    """Note the visit and fill in names the profile lacks. One query."""
    update = {"last_seen_at": timezone.now()}
    if not customer.first_name and first_name:
        update["first_name"] = first_name
    if not customer.last_name and last_name:
        update["last_name"] = last_name
    for field, value in update.items():
        setattr(customer, field, value)
    # A plain statement (no ORM compilation): it runs for every order a known shopper places.
    update["last_seen_at"] = connection.ops.adapt_datetimefield_value(update["last_seen_at"])
    # Prepared: its text depends only on which columns change.
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            f"UPDATE {Customer._meta.db_table} SET {', '.join(f'{f} = %s' for f in update)} "
            "WHERE id = %s",
            [*update.values(), customer.pk],
        )
    return customer


@transaction.atomic
def identity_add(
    *, customer: Customer, kind: str, value: str, channel: Channel | None = None
) -> Identity:
    """Attach one identity to a profile (staff or a channel telling us more). Refused with 409
    `identity_taken` when another profile owns it."""
    kwargs = {
        IdentityKind.EMAIL: "email",
        IdentityKind.PHONE: "phone",
        IdentityKind.ACCOUNT: "account_id",
        IdentityKind.LOYALTY_CARD: "loyalty_card",
    }
    if kind not in kwargs:
        raise InvalidInput(f"Unknown identity kind {kind!r}.", code="invalid_choice", field="kind")
    try:
        values = identity_values(channel=channel, **{kwargs[kind]: value})
    except InvalidInput as exc:
        exc.field = "value"  # the caller passed it as `value`, whatever its kind
        raise
    if not values:
        raise InvalidInput(
            "Give a value (and, for a channel account id, its channel).",
            code="required",
            field="channel" if kind == IdentityKind.ACCOUNT and value else "value",
        )
    item = values[0]
    existing = Identity.objects.filter(item.q()).first()
    if existing is not None:
        if existing.customer_id == customer.pk:
            return existing
        raise CustomerError(
            "Another profile owns this identity; merge the profiles instead.",
            code="identity_taken",
            field="value",
            customer_id=existing.customer_id,
        )
    try:
        with transaction.atomic():
            (identity,) = Identity.objects.bulk_create(_identity_rows(customer, [item]))
    except IntegrityError as exc:
        raise CustomerError(
            "Another profile took this identity meanwhile.", code="identity_taken"
        ) from exc
    return identity
