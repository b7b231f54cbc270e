"""Identity normalisation: one canonical form per email, phone and card."""

import pytest

from customers.normalize import (
    email_match_key,
    normalize_email,
    normalize_loyalty_card,
    normalize_phone,
    phone_match_key,
)
from omni.errors import InvalidInput


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada@Example.com", "ada@example.com"),
        ("  ada@example.com\t", "ada@example.com"),
        ("ADA.LOVELACE+shop@GMAIL.COM ", "ada.lovelace+shop@gmail.com"),
    ],
)
def test_email_is_trimmed_and_lower_cased(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "ada", "ada@", "@example.com", "ada@@example.com", "a b@x.io"])
def test_malformed_email_is_refused_naming_the_field(raw):
    with pytest.raises(InvalidInput) as caught:
        normalize_email(raw)
    assert caught.value.code == "invalid_email"
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+1 415 555 2671", "GB", "+14155552671"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("0044 20 7946 0018", "GB", "+442079460018"),
        ("030 123456", "DE", "+4930123456"),
    ],
)
def test_phone_is_e164_read_in_the_channel_region(raw, region, expected):
    assert normalize_phone(raw, region=region) == expected


@pytest.mark.parametrize("raw", ["", "abc", "12", "+1 555", "020 7946 0018 999 999"])
def test_malformed_phone_is_refused_naming_the_field(raw):
    with pytest.raises(InvalidInput) as caught:
        normalize_phone(raw, region="US")
    assert caught.value.code == "invalid_phone"
    assert caught.value.field == "phone"


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("a.da+news@gmail.com", "ada@gmail.com"),
        ("ada@googlemail.com", "ada@gmail.com"),
        ("a.da+x@example.com", "a.da@example.com"),
    ],
)
def test_email_match_key_folds_variants_of_one_mailbox(email, key):
    assert email_match_key(email) == key


def test_phone_match_key_ignores_the_country_code():
    assert phone_match_key("+14155552671") == phone_match_key("+444155552671") == "4155552671"


def test_loyalty_card_drops_separators_and_upper_cases():
    assert normalize_loyalty_card(" ab-12 34.5 ") == "AB12345"
    with pytest.raises(InvalidInput):
        normalize_loyalty_card("ab/12")
