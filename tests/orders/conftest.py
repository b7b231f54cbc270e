"""Orders fixtures: a web channel selling from a warehouse (first) and a pickup store, a
second store that is not one of its locations, listed variants, and helpers to stock, place
and read back the ledger."""

from decimal import Decimal

import pytest

from inventory.models import Reservation, Stock
from inventory.services import StockLine, stock_receive
from orders.services import CustomerInput, LineInput, PaymentInput, order_place
from tests.catalog.factories import ListingFactory, VariantFactory
from tests.orders.factories import ChannelLocationFactory, LocationFactory

ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Main St",
    "city": "New York",
    "postcode": "10001",
    "country": "US",
}


@pytest.fixture
def warehouse(db):
    return LocationFactory(code="wh", kind="warehouse", ships_enabled=True)


@pytest.fixture
def store(db):
    return LocationFactory(code="store-a", kind="store", pickup_enabled=True)


@pytest.fixture
def other_store(db):
    return LocationFactory(code="store-b", kind="store", pickup_enabled=True)


@pytest.fixture
def shop(channel, warehouse, store, other_store):
    """The web channel sells from the warehouse first, then store-a, then store-b."""
    ChannelLocationFactory(channel=channel, location=warehouse, priority=1)
    ChannelLocationFactory(channel=channel, location=store, priority=2)
    ChannelLocationFactory(channel=channel, location=other_store, priority=3)
    return channel


@pytest.fixture
def make_variant(shop):
    def make(sku: str, price: str = "10.00", channels=()):
        variant = VariantFactory(sku=sku)
        for ch in (shop, *channels):
            ListingFactory(variant=variant, channel=ch, price=Decimal(price))
        return variant

    return make


@pytest.fixture
def receive():
    def put(variant, location, quantity: int, reference: str = "PO-1"):
        stock_receive(
            location_id=location.pk,
            lines=[StockLine(variant_id=variant.pk, quantity=quantity)],
            reference=reference,
        )

    return put


@pytest.fixture
def stock_of():
    def read(variant, location) -> tuple[int, int]:
        row = Stock.objects.filter(variant=variant, location=location).first()
        return (row.on_hand, row.reserved) if row else (0, 0)

    return read


@pytest.fixture
def reserved_total():
    def read() -> int:
        return sum(Reservation.objects.values_list("quantity", flat=True))

    return read


@pytest.fixture
def place(shop):
    """Place a paid web order: place([("SKU", 2), ...], **overrides)."""

    def do(lines, channel=None, **kwargs):
        kwargs.setdefault("shipping_address", ADDRESS)
        kwargs.setdefault("payment", PaymentInput(status="paid", reference="pay-1"))
        kwargs.setdefault("customer", CustomerInput(email="ada@example.com", first_name="Ada"))
        return order_place(
            channel=channel or shop,
            lines=[LineInput(*line) if isinstance(line, tuple) else line for line in lines],
            **kwargs,
        ).order

    return do
