"""Security fixtures: two channels selling from the same warehouse, each with its own key,
products listed in one only, and an order in each. The orders and sync fixtures are reused."""

from decimal import Decimal

import pytest

from inventory.services import StockLine, stock_receive
from omni.services import api_key_create
from orders.services import CustomerInput, LineInput, PaymentInput, order_place
from tests.catalog.factories import ListingFactory, VariantFactory
from tests.orders.conftest import ADDRESS, shop, store, warehouse  # noqa: F401
from tests.orders.factories import ChannelLocationFactory, LocationFactory
from tests.sync.conftest import connector, market, receiver, secret  # noqa: F401

ALL_SCOPES = ["catalog", "orders", "customers", "events"]


@pytest.fixture
def other_store(db):
    return LocationFactory(code="store-b", kind="store", pickup_enabled=True)


@pytest.fixture
def rival(make_channel, warehouse, store):  # noqa: F811
    """A second channel selling from the same locations."""
    channel = make_channel("app", kind="app")
    ChannelLocationFactory(channel=channel, location=warehouse, priority=1)
    ChannelLocationFactory(channel=channel, location=store, priority=2)
    return channel


@pytest.fixture
def catalog(shop, rival, warehouse):  # noqa: F811
    """TEE is listed in both channels; APP-ONLY only in the rival's."""
    shared = VariantFactory(sku="TEE", product__name="Shared tee")
    only = VariantFactory(sku="APP-ONLY", product__name="App exclusive")
    for channel in (shop, rival):
        ListingFactory(variant=shared, channel=channel, price=Decimal("20.00"))
    ListingFactory(variant=only, channel=rival, price=Decimal("30.00"))
    stock_receive(
        location_id=warehouse.pk,
        lines=[StockLine(variant_id=v.pk, quantity=20) for v in (shared, only)],
        reference="PO-SEC",
    )
    return {"shared": shared, "only": only}


@pytest.fixture
def rival_order(rival, catalog):
    return order_place(
        channel=rival,
        lines=[LineInput("TEE", 1)],
        customer=CustomerInput(email="bob@example.com", first_name="Bob"),
        shipping_address=ADDRESS,
        payment=PaymentInput(status="paid", reference="pay-b"),
    ).order


@pytest.fixture
def shop_key(shop, api_client) -> str:  # noqa: F811
    _, secret_key = api_key_create(channel=shop, scopes=ALL_SCOPES)
    return secret_key


@pytest.fixture
def shop_client(shop_key, api_client):
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {shop_key}")
    return api_client
