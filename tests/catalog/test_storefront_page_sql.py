"""The storefront list page written by PostgreSQL (`selectors.storefront_page_json`) is the
page `catalog.api.product_payload` builds in Python, field for field and type for type, for
every ordering, filter and page, in currencies of 0, 2 and 3 decimals."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection

from catalog import selectors
from catalog.api import StorefrontProductSerializer, StorefrontVariantSerializer
from catalog.availability import availability_provider, register_availability_provider
from catalog.models import Product
from catalog.services import channel_products_refresh
from tests.catalog.conftest import FakeAvailability, FakeAvailabilityInSql
from tests.catalog.factories import (
    CategoryFactory,
    ListingFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the page is written in SQL on PostgreSQL only"
    ),
]

URL = "/api/v1/products/"


@pytest.fixture
def stock():
    previous = availability_provider()
    fake = FakeAvailabilityInSql()
    register_availability_provider(fake)
    yield fake
    register_availability_provider(previous)


def catalog(channel, stock) -> list[Product]:
    """Products covering what a page shows: nested and missing categories, unicode and
    quotes, typed attributes, null barcode/weight/compare-at, inactive variants, unpublished
    listings, stock, and created_at with and without microseconds."""
    root = CategoryFactory(name="Wäsche & Co", slug="root")
    leaf = CategoryFactory(name='Socks "fine"', slug="socks", parent=root)
    made = []
    for n in range(5):
        product = ProductFactory(
            name=f'Ünïcode «{n}» "quoted" \\ back{n % 2}',
            description="line one\nline two\ttabbed" if n % 2 else "",
            brand="Acme" if n % 2 else "Zeta",
            category=[root, leaf, None][n % 3],
            attributes={
                "colour": {"type": "text", "value": "red" if n % 2 else "blue"},
                "size": {"type": "number", "value": n + 0.5},
                "organic": {"type": "bool", "value": bool(n % 2)},
            },
            images=[f"https://img.example.com/{n}.jpg", "https://img.example.com/x.jpg"],
        )
        Product.objects.filter(pk=product.pk).update(
            created_at=datetime.datetime(2026, 1, n + 1, 8, 30, 0, 123400 * (n % 2), datetime.UTC)
        )
        for k, price in enumerate(["19.9", "4.125", "1200"][: 1 + n % 3]):
            variant = VariantFactory(
                product=product,
                # Upper case sorts first by code point (as Python sorts), not in most locales.
                sku=f"s{n}-{'B' if k else 'a'}{k}",
                barcode=None if k else f"400000000{n}{k}",
                options={"size": ["S", "M", "L"][k], "colour": "grün"},
                weight_grams=None if k % 2 else 250 + k,
            )
            ListingFactory(
                variant=variant,
                channel=channel,
                price=Decimal(price) + n,
                compare_at_price=None if k else Decimal("99.9999"),
            )
            stock.set(channel, variant, [0, 3, 8][(n + k) % 3])
        hidden = VariantFactory(product=product, active=False)
        ListingFactory(variant=hidden, channel=channel)
        unpublished = VariantFactory(product=product)
        ListingFactory(variant=unpublished, channel=channel, published=False)
        made.append(product)
    return made


def python_page(client, params, monkeypatch):
    """The same request answered by the Python path (`product_payload`)."""
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "storefront_page_in_sql", lambda **kwargs: False)
        response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize("currency", ["USD", "JPY", "KWD"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ordering": "-price"},
        {"ordering": "newest", "page_size": 2, "page": 2},
        {"ordering": "oldest", "page_size": 2, "page": "last"},
        {"ordering": "-name", "brand": "Acme"},
        {"category": "root", "ordering": "price"},
        {"attr": "colour:red", "search": "quoted"},
        {"in_stock": "true"},
    ],
)
def test_sql_page_is_the_python_page(
    make_channel, key_client, stock, monkeypatch, currency, params
):
    channel = make_channel(currency.lower(), currency=currency)
    catalog(channel, stock)
    client = key_client(channel)
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["results"], "the page is not empty"
    assert body == python_page(client, params, monkeypatch)
    # The fields the OpenAPI schema declares, in its order; money as strings.
    product_fields = list(StorefrontProductSerializer().fields)
    variant_fields = list(StorefrontVariantSerializer().fields)
    for item in body["results"]:
        assert list(item) == product_fields
        assert isinstance(item["price_from"], str) and isinstance(item["available"], int)
        for variant in item["variants"]:
            assert list(variant) == variant_fields
            assert isinstance(variant["price"], str) and isinstance(variant["in_stock"], bool)


def test_sql_page_money_and_timestamps_as_drf_writes_them(make_channel, key_client, stock):
    kw = make_channel("kw", currency="KWD")
    jp = make_channel("jp", currency="JPY")
    product = ProductFactory()
    Product.objects.filter(pk=product.pk).update(
        created_at=datetime.datetime(2026, 3, 4, 5, 6, 7, 80, datetime.UTC)
    )
    variant = VariantFactory(product=product)
    ListingFactory(variant=variant, channel=kw, price=Decimal("4.125"))
    ListingFactory(variant=variant, channel=jp, price=Decimal("1200"), compare_at_price=None)
    stock.set(kw, variant, 7)

    item = key_client(kw).get(URL).json()["results"][0]
    assert (item["price_from"], item["variants"][0]["price"]) == ("4.125", "4.125")
    assert item["created_at"] == "2026-03-04T05:06:07.000080Z"
    assert (item["available"], item["in_stock"]) == (7, True)
    assert item["variants"][0]["available"] == 7 and item["variants"][0]["in_stock"] is True
    jp_item = key_client(jp).get(URL).json()["results"][0]
    assert jp_item["price_from"] == "1200" and jp_item["variants"][0]["compare_at_price"] is None
    assert jp_item["available"] == 0 and jp_item["in_stock"] is False

    # No service changes created_at: the update bypasses them, so re-derive the storefront
    # rows as every service does after a change.
    Product.objects.filter(pk=product.pk).update(
        created_at=datetime.datetime(2026, 3, 4, 5, 6, 7, 0, datetime.UTC)
    )
    channel_products_refresh(product_ids=[product.pk])
    assert key_client(kw).get(URL).json()["results"][0]["created_at"] == "2026-03-04T05:06:07Z"


def test_lookup_only_provider_takes_the_python_path(channel, key_client):
    previous = availability_provider()
    fake = FakeAvailability()
    register_availability_provider(fake)
    try:
        variant = VariantFactory()
        ListingFactory(variant=variant, channel=channel)
        fake.set(channel, variant, 5)
        assert not selectors.storefront_page_in_sql(channel=channel)
        body = key_client(channel).get(URL).json()
    finally:
        register_availability_provider(previous)
    assert body["results"][0]["available"] == 5


def test_the_page_statement_is_prepared_once_and_answers_for_every_value(
    channel, key_client, stock, monkeypatch
):
    # The statement's text depends on which filters are used, never on their values: the
    # session prepares it once, and its later (generic) plan still answers each request's
    # values, with the matches read once (search, attr) or planned apart (brand, price).
    catalog(channel, stock)
    client = key_client(channel)
    executed: dict[str, set[str]] = {}

    def page(params):
        shape = ",".join(sorted(set(params) - {"page_size"}))

        def record(execute, sql, sql_params, many, context):
            if sql.startswith("EXECUTE "):
                executed.setdefault(shape, set()).add(sql.split()[1])
            return execute(sql, sql_params, many, context)

        with connection.execute_wrapper(record):
            body = client.get(URL, params).json()
        assert body == python_page(client, params, monkeypatch), params

    for params in (
        {"search": "back0"},
        {"search": "back1"},
        {"search": "quoted"},
        {"attr": "colour:red"},
        {"attr": "colour:blue"},
        {"brand": "Acme", "price_max": "3"},
        {"brand": "Zeta", "price_max": "1"},
    ):
        page(params)
    for params in ({"search": "back0"}, {"attr": "colour:red"}, {}):
        for page_size in range(1, 8):  # past the plan cache's five custom plans
            page({**params, "page_size": page_size})
    # One statement per shape (filters used), whatever the values and page.
    assert {shape: len(names) for shape, names in executed.items()} == {
        "search": 1,
        "attr": 1,
        "brand,price_max": 1,
        "": 1,
    }
    # Past its first five runs a statement goes on with its generic plan (the page's size
    # and offset unknown to any plan, custom plans are no cheaper), planned no more.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = ANY(%s)",
            [[name for shape in ("search", "attr", "") for name in executed[shape]]],
        )
        plans = cursor.fetchall()
    assert len(plans) == 3 and all(custom == 5 and generic >= 2 for generic, custom in plans)
