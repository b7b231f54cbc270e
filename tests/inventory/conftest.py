"""Inventory fixtures: a channel selling from a warehouse and a store, and a way to put stock
somewhere through the receipt service (so the ledger reconciles)."""

import pytest

from inventory.services import StockLine, stock_receive
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import ChannelLocationFactory, StockLocationFactory


@pytest.fixture
def warehouse(db):
    return StockLocationFactory(code="wh-central", kind="warehouse")


@pytest.fixture
def store(db):
    return StockLocationFactory(
        code="store-a", kind="store", pickup_enabled=True, ships_enabled=True
    )


@pytest.fixture
def selling_channel(channel, warehouse, store):
    """`channel` sells from the store first, then the warehouse."""
    ChannelLocationFactory(channel=channel, location=store, priority=1)
    ChannelLocationFactory(channel=channel, location=warehouse, priority=2)
    return channel


@pytest.fixture
def variant(db):
    return VariantFactory(sku="TEE-M")


@pytest.fixture
def receive():
    def put(variant, location, quantity: int, reference: str = "PO-1"):
        return stock_receive(
            location_id=location.pk,
            lines=[StockLine(variant_id=variant.pk, quantity=quantity)],
            reference=reference,
        )

    return put
