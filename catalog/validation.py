"""Validation of catalog values shared by services, the API, the admin and CSV import.

Each function returns the cleaned value or raises `CatalogInvalid` naming the field, so every
entry point refuses the same input with the same code.
"""

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from catalog import money
from catalog.errors import CatalogInvalid
from omni.models import Channel

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
ATTRIBUTE_TYPES = ("text", "number", "boolean")
MAX_IMAGES = 20
_url = URLValidator(schemes=["http", "https"])


def clean_key(key: Any, *, field: str) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise CatalogInvalid(
            f"{key!r} is not a valid key: use lower-case letters, digits and _ "
            "(starting with a letter, at most 40).",
            code="invalid_key",
            field=field,
        )
    return key


def clean_attributes(value: Any, *, field: str = "attributes") -> dict:
    """Typed key/values: {"material": {"type": "text", "value": "cotton"}}. A bare value is
    accepted and typed by its JSON type (str -> text, number -> number, bool -> boolean)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CatalogInvalid(
            "Attributes are an object of key -> value.", code="invalid_attributes", field=field
        )
    cleaned = {}
    for key, raw in value.items():
        clean_key(key, field=f"{field}.{key}")
        if isinstance(raw, dict):
            kind, item = raw.get("type"), raw.get("value")
            unknown = set(raw) - {"type", "value", "unit"}
            if unknown:
                raise CatalogInvalid(
                    f"Unknown attribute properties: {', '.join(sorted(unknown))}.",
                    code="invalid_attributes",
                    field=f"{field}.{key}",
                )
        else:
            kind, item = _infer_type(raw), raw
        if kind not in ATTRIBUTE_TYPES:
            raise CatalogInvalid(
                f"Attribute type must be one of {', '.join(ATTRIBUTE_TYPES)}.",
                code="invalid_attribute_type",
                field=f"{field}.{key}",
            )
        cleaned[key] = {"type": kind, "value": _coerce(kind, item, field=f"{field}.{key}")}
        if isinstance(raw, dict) and raw.get("unit"):
            cleaned[key]["unit"] = str(raw["unit"])[:20]
    return cleaned


def _infer_type(raw: Any) -> str | None:
    if isinstance(raw, bool):
        return "boolean"
    if isinstance(raw, int | float | Decimal):
        return "number"
    if isinstance(raw, str):
        return "text"
    return None


def _coerce(kind: str, item: Any, *, field: str) -> Any:
    if kind == "text":
        if not isinstance(item, str) or not item.strip() or len(item) > 200:
            raise CatalogInvalid(
                "A text attribute needs a non-empty string of at most 200 characters.",
                code="invalid_attribute_value",
                field=field,
            )
        return item.strip()
    if kind == "boolean":
        if not isinstance(item, bool):
            raise CatalogInvalid(
                "A boolean attribute needs true or false.",
                code="invalid_attribute_value",
                field=field,
            )
        return item
    if isinstance(item, bool) or not isinstance(item, int | float | Decimal | str):
        raise CatalogInvalid(
            "A number attribute needs a number.", code="invalid_attribute_value", field=field
        )
    try:
        number = Decimal(str(item))
    except ArithmeticError as exc:
        raise CatalogInvalid(
            "A number attribute needs a number.", code="invalid_attribute_value", field=field
        ) from exc
    if not number.is_finite():
        raise CatalogInvalid(
            "A number attribute needs a finite number.",
            code="invalid_attribute_value",
            field=field,
        )
    # Attributes are descriptive facts (sizes, wattage), not money: JSON numbers are fine.
    return int(number) if number == number.to_integral_value() else float(number)


def clean_options(value: Any, *, field: str = "options") -> dict[str, str]:
    """Option values of a variant, such as {"size": "M", "colour": "navy"}."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CatalogInvalid(
            "Options are an object of option -> value.", code="invalid_options", field=field
        )
    cleaned = {}
    for key, item in value.items():
        clean_key(key, field=f"{field}.{key}")
        if not isinstance(item, str | int) or isinstance(item, bool) or not str(item).strip():
            raise CatalogInvalid(
                "An option value is a non-empty string.",
                code="invalid_options",
                field=f"{field}.{key}",
            )
        cleaned[key] = str(item).strip()[:60]
    return cleaned


def clean_images(value: Any, *, field: str = "images") -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_IMAGES:
        raise CatalogInvalid(
            f"Images are a list of at most {MAX_IMAGES} URLs.", code="invalid_images", field=field
        )
    for index, url in enumerate(value):
        try:
            if not isinstance(url, str):
                raise ValidationError("not a string")
            _url(url)
        except ValidationError as exc:
            raise CatalogInvalid(
                f"{url!r} is not an http(s) URL.", code="invalid_url", field=f"{field}.{index}"
            ) from exc
    return list(value)


def gtin_check_digit_ok(digits: str) -> bool:
    """GS1 mod-10 check digit of a GTIN-8/12/13/14."""
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def clean_barcode(value: Any, *, field: str = "barcode") -> str | None:
    """Blank means none (so many variants may lack one). A numeric code of GTIN length
    (8, 12, 13 or 14 digits) must carry a valid check digit; other codes are 4-32 letters,
    digits or dashes (internal barcodes)."""
    if value is None:
        return None
    code = str(value).strip()
    if not code:
        return None
    if code.isdigit() and len(code) in (8, 12, 13, 14):
        if not gtin_check_digit_ok(code):
            raise CatalogInvalid(
                f"{code} is not a valid GTIN: its check digit is wrong.",
                code="invalid_gtin",
                field=field,
            )
        return code
    if not re.fullmatch(r"[0-9A-Za-z-]{4,32}", code):
        raise CatalogInvalid(
            "A barcode is a GTIN or 4-32 letters, digits or dashes.",
            code="invalid_barcode",
            field=field,
        )
    return code


def clean_price(
    value: Any, *, currency: str, field: str = "price", allow_none: bool = False
) -> Decimal | None:
    """A non-negative Decimal carrying no more decimals than `currency` has (no silent
    rounding of what staff typed)."""
    if value is None or value == "":
        if allow_none:
            return None
        raise CatalogInvalid("A price is required.", code="required", field=field)
    try:
        amount = money.to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise CatalogInvalid(
            f"{value!r} is not a decimal amount.", code="invalid_price", field=field
        ) from exc
    if amount < 0:
        raise CatalogInvalid("A price cannot be negative.", code="negative_price", field=field)
    if amount >= Decimal("1e11"):
        raise CatalogInvalid("The price is too large.", code="invalid_price", field=field)
    if not money.has_currency_precision(amount, currency):
        raise CatalogInvalid(
            f"{currency} has {money.minor_units(currency)} decimal places; {amount} has more.",
            code="price_precision",
            field=field,
        )
    return money.quantize(amount, currency)


def clean_listing_currency(currency: str | None, *, channel: Channel) -> str:
    """A listing is priced in its channel's currency; naming another one is refused."""
    if currency and currency.upper() != channel.currency:
        raise CatalogInvalid(
            f"Channel {channel.code} sells in {channel.currency}, not {currency}.",
            code="currency_mismatch",
            field="currency",
        )
    return channel.currency


def clean_compare_at(price: Decimal, compare_at: Decimal | None, *, field: str) -> None:
    if compare_at is not None and compare_at < price:
        raise CatalogInvalid(
            "The compare-at price is the higher, crossed-out price; it cannot be below the price.",
            code="compare_at_below_price",
            field=field,
        )
