"""A small business for the API fuzz tests: two channels selling from a warehouse and a pickup
store, listed variants with stock, a customer with an order that was shipped and partly
returned, an open order, a voucher, a service case and a connector. Built through the services
so every derived row (storefront products, ledger, loyalty) is in place."""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from customers.models import Customer
from customers.services.cases import case_open
from inventory.services import StockLine, stock_receive
from omni.models import Channel
from omni.services import api_key_create
from orders.services import CustomerInput, LineInput, PaymentInput, order_place
from orders.services.fulfilment import fulfilment_create, fulfilment_ship
from orders.services.returns import ReturnLineInput, return_create
from tests.catalog.factories import ListingFactory, ProductFactory, VariantFactory
from tests.orders.factories import ChannelLocationFactory, LocationFactory
from tests.promotions.factories import PromotionFactory, VoucherFactory
from tests.sync.factories import ConnectorSettingsFactory

ADDRESS = {"name": "Ada Lovelace", "line1": "1 Main St", "city": "New York", "country": "US"}


@dataclass(frozen=True)
class World:
    channel: Channel
    other_channel: Channel
    channel_key: str
    other_key: str
    staff_token: str
    # Real values for path parameters that are not a view's own `id` or `code`.
    path_values: dict
    # Real values for query parameters that name objects (a SKU, a customer's email).
    query_values: dict


def world_build() -> World:
    web = Channel.objects.create(code="web", name="Web shop", kind="web", currency="USD")
    app = Channel.objects.create(code="app", name="App", kind="app", currency="USD")
    warehouse = LocationFactory(code="wh", kind="warehouse", ships_enabled=True)
    store = LocationFactory(code="store-a", kind="store", pickup_enabled=True)
    for channel in (web, app):
        ChannelLocationFactory(channel=channel, location=warehouse, priority=1)
        ChannelLocationFactory(channel=channel, location=store, priority=2)

    variants = []
    for index in range(3):
        product = ProductFactory(name=f"Shirt {index}")
        for size in ("S", "M"):
            variant = VariantFactory(product=product, sku=f"SHIRT-{index}-{size}")
            ListingFactory(variant=variant, channel=web, price=Decimal("20.00"))
            ListingFactory(variant=variant, channel=app, price=Decimal("21.00"))
            variants.append(variant)
    ProductFactory(name="Unlisted")
    for location in (warehouse, store):
        stock_receive(
            location_id=location.pk,
            lines=[StockLine(variant_id=v.pk, quantity=50) for v in variants],
            reference="PO-FUZZ",
        )

    PromotionFactory(name="Ten off", channels=[web])
    VoucherFactory(code="FUZZ10", promotion__name="Fuzz voucher")

    shopper = CustomerInput(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    shipped = order_place(
        channel=web,
        lines=[LineInput("SHIRT-0-S", 2), LineInput("SHIRT-1-M", 1)],
        customer=shopper,
        shipping_address=ADDRESS,
        payment=PaymentInput(status="paid", reference="pay-1"),
    ).order
    fulfilment = fulfilment_create(order=shipped, location_code="wh")
    fulfilment_ship(
        order=shipped, fulfilment_id=fulfilment.pk, carrier="UPS", tracking_number="1Z999"
    )
    line = shipped.lines.get(sku="SHIRT-0-S")
    return_create(
        order=shipped,
        location_code="store-a",
        lines=[ReturnLineInput(line_id=line.pk, quantity=1, restock=True, reason="too small")],
    )
    order_place(
        channel=web,
        lines=[LineInput("SHIRT-2-S", 1)],
        customer=shopper,
        fulfilment_method="pickup",
        pickup_location_code="store-a",
    )
    order_place(
        channel=app, lines=[LineInput("SHIRT-2-M", 1)], customer=shopper, shipping_address=ADDRESS
    )

    customer = Customer.objects.order_by("pk").first()
    case_open(customer=customer, kind="complaint", subject="Late parcel", channel=web)
    ConnectorSettingsFactory(channel=web)

    admin = get_user_model().objects.create_superuser(
        "fuzz-admin", "admin@example.com", "pw-123456"
    )
    all_scopes = ["catalog", "orders", "customers", "events"]
    _, channel_key = api_key_create(channel=web, scopes=all_scopes)
    _, other_key = api_key_create(channel=app, scopes=all_scopes)
    return World(
        path_values={
            "number": shipped.number,
            "fulfilment_id": fulfilment.pk,
            "product_id": variants[0].product_id,
            "customer_id": customer.pk,
            "channel_code": web.code,
        },
        query_values={"sku": "SHIRT-0-S", "email": "ada@example.com", "channel": web.code},
        channel=web,
        other_channel=app,
        channel_key=channel_key,
        other_key=other_key,
        staff_token=Token.objects.create(user=admin).key,
    )
