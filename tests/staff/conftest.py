"""Staff fixtures: the role groups, one user per role, two stores with stock, and clients."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from inventory.models import StaffLocation
from inventory.services import StockLine, stock_receive
from omni import roles
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import StockLocationFactory

PASSWORD = "staff-pass-123"


@pytest.fixture
def role_groups(db):
    roles.roles_setup()


@pytest.fixture
def store_a(db):
    return StockLocationFactory(code="store-a", kind="store", pickup_enabled=True)


@pytest.fixture
def store_b(db):
    return StockLocationFactory(code="store-b", kind="store", pickup_enabled=True)


@pytest.fixture
def make_role_user(role_groups, django_user_model):
    def make(role: str, username: str | None = None, locations=()):
        from django.contrib.auth.models import Group

        user = django_user_model.objects.create_user(
            username or role.lower().replace(" ", "_"),
            f"{(username or 'u').replace(' ', '_')}@example.com",
            PASSWORD,
            is_staff=True,
        )
        user.groups.add(Group.objects.get(name=role))
        for location in locations:
            StaffLocation.objects.create(user=user, location=location)
        return user

    return make


@pytest.fixture
def store_user(make_role_user, store_a):
    return make_role_user(roles.STORE_STAFF, "clerk", locations=[store_a])


@pytest.fixture
def stocked(store_a, store_b):
    """Two variants with stock at both stores; returns {(sku, location code): stock}."""
    result = {}
    for sku in ("TEE-S", "TEE-M"):
        variant = VariantFactory(sku=sku)
        for location in (store_a, store_b):
            (movement,) = stock_receive(
                location_id=location.pk,
                lines=[StockLine(variant.pk, 5)],
                reference="PO-1",
            )
            result[(sku, location.code)] = movement.stock
    return result


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_login(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def _fresh_pricing_cache():
    """Pricing keeps promotion snapshots in the shared cache and in this process: start and end
    with neither, so no other test reads this test's promotions."""
    from django.core.cache import cache

    from promotions import rules

    cache.clear()
    rules.forget_local()
    yield
    cache.clear()
    rules.forget_local()


def place_pickup_orders(channel, locations) -> dict:
    """`channel` sells from `locations`; one paid pickup order of a mug waiting at each.
    Returns {location code: order}."""
    from decimal import Decimal

    from orders.services import CustomerInput, LineInput, PaymentInput, order_place
    from tests.catalog.factories import ListingFactory
    from tests.inventory.factories import ChannelLocationFactory

    for priority, location in enumerate(locations, start=1):
        ChannelLocationFactory(channel=channel, location=location, priority=priority)
    variant = VariantFactory(sku="MUG")
    ListingFactory(variant=variant, channel=channel, price=Decimal("12.00"))
    for location in locations:
        stock_receive(location_id=location.pk, lines=[StockLine(variant.pk, 4)], reference="PO")
    orders = {}
    for location in locations:
        orders[location.code] = order_place(
            channel=channel,
            lines=[LineInput("MUG", 1)],
            fulfilment_method="pickup",
            pickup_location_code=location.code,
            payment=PaymentInput(status="paid", reference=f"pay-{location.code}"),
            customer=CustomerInput(email=f"{location.code}@example.com", first_name="Ada"),
        ).order
    return orders


@pytest.fixture
def pickup_orders(_fresh_pricing_cache, channel, store_a, store_b):
    """A web channel selling from both stores; one paid pickup order waiting at each store."""
    return place_pickup_orders(channel, [store_a, store_b])
