"""Normalisation of identity values, so the same person matches whatever way they typed it."""

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from omni.errors import InvalidInput

_email_validator = EmailValidator()
# Providers that ignore dots in the local part: dotted variants reach the same mailbox.
_DOTLESS_DOMAINS = {"gmail.com", "googlemail.com"}
_CARD_NOISE = re.compile(r"[\s\-_.]")
DEFAULT_PHONE_REGION = "US"


def normalize_email(raw: str, *, field: str = "email") -> str:
    """Trimmed and lower-cased; refused (400 naming `field`) unless it is an email address."""
    value = (raw or "").strip().lower()
    if len(value) > 254:
        raise InvalidInput("Email address is too long.", code="invalid_email", field=field)
    try:
        _email_validator(value)
    except ValidationError as exc:
        raise InvalidInput(
            f"{raw!r} is not a valid email address.", code="invalid_email", field=field
        ) from exc
    return value


def email_match_key(email: str) -> str:
    """The mailbox an address reaches: plus-tags dropped, dots dropped where the provider
    ignores them, googlemail folded into gmail. Used to suggest duplicates only."""
    local, _, domain = email.partition("@")
    local = local.split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in _DOTLESS_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def normalize_phone(raw: str, *, region: str | None = None, field: str = "phone") -> str:
    """E.164 (`+14155550123`). Numbers without a country code are read in `region` (the
    channel's `phone_region`). Refused (400 naming `field`) unless a valid number."""
    text = (raw or "").strip()
    region = (region or DEFAULT_PHONE_REGION).upper()
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(
            f"{raw!r} is not a phone number.", code="invalid_phone", field=field
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"{raw!r} is not a valid phone number.", code="invalid_phone", field=field
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_match_key(e164: str) -> str:
    """The national significant number: the same digits saved under a wrong country code
    still look alike. Used to suggest duplicates only."""
    try:
        return str(phonenumbers.parse(e164, None).national_number)
    except phonenumbers.NumberParseException:
        return e164


def normalize_account_id(raw: str, *, field: str = "account_id") -> str:
    value = (raw or "").strip()
    if not value or len(value) > 254:
        raise InvalidInput(
            "A channel account id is 1 to 254 characters.", code="invalid_account_id", field=field
        )
    return value


def normalize_loyalty_card(raw: str, *, field: str = "loyalty_card") -> str:
    value = _CARD_NOISE.sub("", (raw or "").strip()).upper()
    if not value or len(value) > 64 or not value.isalnum():
        raise InvalidInput(
            f"{raw!r} is not a loyalty card number.", code="invalid_loyalty_card", field=field
        )
    return value
