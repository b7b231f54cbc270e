"""Fixtures of the customers tests."""

import pytest

from tests.customers.factories import CustomerFactory


@pytest.fixture
def customer(db):
    return CustomerFactory(first_name="Ada", last_name="Lovelace")


@pytest.fixture
def store(make_channel):
    return make_channel("store-gb", kind="store", phone_region="GB")
