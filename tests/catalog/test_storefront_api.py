"""Storefront product API: visibility per channel, prices in the channel currency, filters,
search, ordering, availability and a query count that does not grow with the page size."""

from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict

from catalog import filters
from catalog.models import ChannelProduct, Listing, Variant
from catalog.services import channel_products_refresh
from tests.catalog.factories import (
    CategoryFactory,
    ListingFactory,
    ProductFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def listed(channel, *, price="10.00", product=None, published=True, **variant_fields):
    variant = VariantFactory(product=product or ProductFactory(), **variant_fields)
    ListingFactory(variant=variant, channel=channel, price=Decimal(price), published=published)
    return variant


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


# --- visibility ---------------------------------------------------------------------------


def test_unlisted_product_is_404_for_that_channels_key(make_channel, key_client):
    web, app = make_channel("web"), make_channel("app")
    variant = listed(app)
    response = key_client(web).get(f"{URL}{variant.product_id}/")
    assert response.status_code == 404
    assert response.json()["code"] == "product_not_found"
    assert key_client(app).get(f"{URL}{variant.product_id}/").status_code == 200


def test_unpublished_product_is_404_and_absent_from_the_list(channel, key_client):
    hidden = listed(channel, published=False)
    shown = listed(channel)
    client = key_client(channel)
    assert client.get(f"{URL}{hidden.product_id}/").status_code == 404
    assert ids(client.get(URL)) == [shown.product_id]


def test_inactive_product_or_variant_is_hidden(channel, key_client):
    off_product = listed(channel, product=ProductFactory(active=False))
    off_variant = listed(channel, active=False)
    client = key_client(channel)
    assert client.get(f"{URL}{off_product.product_id}/").status_code == 404
    assert client.get(f"{URL}{off_variant.product_id}/").status_code == 404
    assert ids(client.get(URL)) == []


def test_only_variants_published_in_the_channel_are_shown(make_channel, key_client):
    web, app = make_channel("web"), make_channel("app")
    product = ProductFactory()
    shown = listed(web, product=product, sku="A-1")
    listed(web, product=product, sku="A-2", published=False)
    listed(app, product=product, sku="A-3")
    VariantFactory(product=product, sku="A-4")  # no listing at all
    body = key_client(web).get(f"{URL}{product.pk}/").json()
    assert [v["sku"] for v in body["variants"]] == ["A-1"]
    assert body["variants"][0]["id"] == shown.pk


def test_key_without_catalog_scope_is_refused(channel, key_client):
    listed(channel)
    response = key_client(channel, scopes=["orders"]).get(URL)
    assert response.status_code == 403


def test_staff_names_the_channel_with_a_header(channel, admin_client_api):
    variant = listed(channel)
    assert admin_client_api.get(URL).json()["code"] == "channel_required"
    response = admin_client_api.get(URL, HTTP_X_CHANNEL="web")
    assert ids(response) == [variant.product_id]


# --- prices and currency ------------------------------------------------------------------


def test_prices_carry_the_channel_currency_precision(make_channel, key_client):
    jp = make_channel("jp", currency="JPY")
    kw = make_channel("kw", currency="KWD")
    us = make_channel("us", currency="USD")
    product = ProductFactory()
    a = VariantFactory(product=product)
    ListingFactory(variant=a, channel=jp, price=Decimal("1200"))
    ListingFactory(variant=a, channel=kw, price=Decimal("4.125"))
    ListingFactory(variant=a, channel=us, price=Decimal("19.9"), compare_at_price=Decimal("25"))

    jp_body = key_client(jp).get(f"{URL}{product.pk}/").json()
    assert jp_body["variants"][0]["price"] == "1200"
    assert jp_body["currency"] == "JPY"
    assert key_client(kw).get(f"{URL}{product.pk}/").json()["variants"][0]["price"] == "4.125"
    us_variant = key_client(us).get(f"{URL}{product.pk}/").json()["variants"][0]
    assert (us_variant["price"], us_variant["compare_at_price"]) == ("19.90", "25.00")
    assert us_variant["currency"] == "USD"


def test_channel_specific_prices_and_price_from(make_channel, key_client):
    web, app = make_channel("web"), make_channel("app")
    product = ProductFactory()
    cheap = VariantFactory(product=product)
    dear = VariantFactory(product=product)
    ListingFactory(variant=cheap, channel=web, price=Decimal("8.00"))
    ListingFactory(variant=dear, channel=web, price=Decimal("12.00"))
    ListingFactory(variant=cheap, channel=app, price=Decimal("7.50"))
    assert key_client(web).get(f"{URL}{product.pk}/").json()["price_from"] == "8.00"
    assert key_client(app).get(f"{URL}{product.pk}/").json()["price_from"] == "7.50"


# --- availability -------------------------------------------------------------------------


def test_without_inventory_everything_shows_zero_available(channel, key_client):
    variant = listed(channel)
    body = key_client(channel).get(f"{URL}{variant.product_id}/").json()
    assert body["available"] == 0 and body["in_stock"] is False
    assert body["variants"][0]["available"] == 0


def test_available_figure_comes_from_the_provider(channel, key_client, fake_stock):
    product = ProductFactory()
    a = listed(channel, product=product)
    b = listed(channel, product=product)
    fake_stock.set(channel, a, 4)
    fake_stock.set(channel, b, 0)
    body = key_client(channel).get(f"{URL}{product.pk}/").json()
    assert {v["id"]: v["available"] for v in body["variants"]} == {a.pk: 4, b.pk: 0}
    assert body["available"] == 4 and body["in_stock"] is True


def test_in_stock_filter_uses_the_provider(make_channel, key_client, fake_stock):
    web, app = make_channel("web"), make_channel("app")
    stocked = listed(web)
    empty = listed(web)
    fake_stock.set(web, empty, 0)
    fake_stock.set(web, stocked, 3)
    fake_stock.set(app, empty, 9)  # stock for another channel does not count
    client = key_client(web)
    assert ids(client.get(URL, {"in_stock": "true"})) == [stocked.product_id]
    assert ids(client.get(URL, {"in_stock": "false"})) == [empty.product_id]


def test_in_stock_ignores_stocked_variants_not_published_in_channel(
    channel, key_client, fake_stock
):
    product = ProductFactory()
    listed(channel, product=product)
    hidden = listed(channel, product=product, published=False)
    fake_stock.set(channel, hidden, 5)
    assert ids(key_client(channel).get(URL, {"in_stock": "true"})) == []


# --- filters, search, ordering ------------------------------------------------------------


def test_category_filter_includes_descendants(channel, key_client):
    apparel = CategoryFactory(slug="apparel")
    tops = CategoryFactory(slug="tops", parent=apparel)
    shoes = CategoryFactory(slug="shoes")
    top = listed(channel, product=ProductFactory(category=tops))
    root = listed(channel, product=ProductFactory(category=apparel))
    listed(channel, product=ProductFactory(category=shoes))
    client = key_client(channel)
    assert set(ids(client.get(URL, {"category": "apparel"}))) == {
        top.product_id,
        root.product_id,
    }
    assert ids(client.get(URL, {"category": str(tops.pk)})) == [top.product_id]
    assert ids(client.get(URL, {"category": "no-such-category"})) == []


def test_category_prefix_does_not_leak_into_siblings(channel, key_client):
    # "shoe/" must not match "shoes/": the path ends with a slash for that reason.
    shoe = CategoryFactory(slug="shoe")
    shoes = CategoryFactory(slug="shoes")
    one = listed(channel, product=ProductFactory(category=shoe))
    listed(channel, product=ProductFactory(category=shoes))
    assert ids(key_client(channel).get(URL, {"category": "shoe"})) == [one.product_id]


def test_category_subtree_is_exactly_the_paths_under_it(channel, key_client):
    # The subtree is a bytewise range of the stored paths ("apparel/" up to "apparel0"):
    # siblings whose slug extends the name sort inside neither end, whether the next
    # character sorts after "/" ("apparels/") or before it ("apparel-x/").
    apparel = CategoryFactory(slug="apparel")
    tops = CategoryFactory(slug="tops", parent=apparel)
    deep = CategoryFactory(slug="tees", parent=tops)
    under = {
        category.slug: listed(channel, product=ProductFactory(category=category)).product_id
        for category in (apparel, tops, deep)
    }
    for slug in ("apparels", "apparel-x", "apparel0", "appare"):
        listed(channel, product=ProductFactory(category=CategoryFactory(slug=slug)))
    listed(channel, product=ProductFactory(category=None))
    client = key_client(channel)
    assert set(ids(client.get(URL, {"category": "apparel"}))) == set(under.values())
    assert client.get(URL, {"category": str(apparel.pk)}).json()["count"] == 3
    assert set(ids(client.get(URL, {"category": "tops"}))) == {under["tops"], under["tees"]}
    assert ids(client.get(URL, {"category": "tees", "ordering": "price"})) == [under["tees"]]


def test_brand_filter_takes_one_or_several(channel, key_client):
    a = listed(channel, product=ProductFactory(brand="Acme"))
    b = listed(channel, product=ProductFactory(brand="Birch"))
    listed(channel, product=ProductFactory(brand="Cobalt"))
    client = key_client(channel)
    assert ids(client.get(URL, {"brand": "Acme"})) == [a.product_id]
    assert set(ids(client.get(URL, {"brand": "Acme,Birch"}))) == {a.product_id, b.product_id}


def test_price_range_applies_to_the_channel_price(make_channel, key_client):
    web, app = make_channel("web"), make_channel("app")
    cheap = listed(web, price="5.00")
    mid = listed(web, price="20.00")
    listed(web, price="90.00")
    ListingFactory(variant=cheap, channel=app, price=Decimal("21.00"))
    client = key_client(web)
    assert ids(client.get(URL, {"price_min": "10", "price_max": "50"})) == [mid.product_id]
    assert ids(key_client(app).get(URL, {"price_min": "10", "price_max": "50"})) == [
        cheap.product_id
    ]


def test_bad_filter_values_are_400_naming_the_field(channel, key_client):
    client = key_client(channel)
    response = client.get(URL, {"price_min": "abc"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "price_min"
    response = client.get(URL, {"price_min": "50", "price_max": "10"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "price_max"
    response = client.get(URL, {"ordering": "popularity"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "ordering"
    response = client.get(URL, {"attr": "no-colon"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "attr"


def test_attribute_filters_match_typed_values(channel, key_client):
    cotton = listed(
        channel,
        product=ProductFactory(
            attributes={
                "material": {"type": "text", "value": "cotton"},
                "organic": {"type": "boolean", "value": True},
                "gsm": {"type": "number", "value": 180},
            }
        ),
    )
    wool = listed(
        channel,
        product=ProductFactory(
            attributes={
                "material": {"type": "text", "value": "wool"},
                "organic": {"type": "boolean", "value": False},
                "gsm": {"type": "number", "value": 300},
            }
        ),
    )
    client = key_client(channel)
    assert ids(client.get(URL, {"attr": "material:cotton"})) == [cotton.product_id]
    assert ids(client.get(URL, {"attr": "organic:true"})) == [cotton.product_id]
    assert ids(client.get(URL, {"attr": "gsm:300"})) == [wool.product_id]
    assert set(ids(client.get(URL, {"attr": "material:cotton|wool"}))) == {
        cotton.product_id,
        wool.product_id,
    }
    both = client.get(f"{URL}?attr=material:wool&attr=organic:true")
    assert ids(both) == []


def test_search_covers_name_description_and_sku(channel, key_client):
    by_name = listed(channel, product=ProductFactory(name="Linen Shirt"))
    by_desc = listed(channel, product=ProductFactory(description="Soft LINEN blend"))
    by_sku = listed(channel, sku="LIN-0042")
    listed(channel, product=ProductFactory(name="Wool Coat"))
    client = key_client(channel)
    assert set(ids(client.get(URL, {"search": "linen"}))) == {
        by_name.product_id,
        by_desc.product_id,
    }
    assert ids(client.get(URL, {"search": "lin-0042"})) == [by_sku.product_id]
    assert ids(client.get(URL, {"search": "linen shirt"})) == [by_name.product_id]


def test_ordering_by_price_name_and_newest(channel, key_client):
    b = listed(channel, price="30.00", product=ProductFactory(name="Bravo"))
    a = listed(channel, price="20.00", product=ProductFactory(name="Alpha"))
    c = listed(channel, price="10.00", product=ProductFactory(name="Charlie"))
    client = key_client(channel)
    assert ids(client.get(URL)) == [a.product_id, b.product_id, c.product_id]
    assert ids(client.get(URL, {"ordering": "-name"})) == [c.product_id, b.product_id, a.product_id]
    assert ids(client.get(URL, {"ordering": "price"})) == [c.product_id, a.product_id, b.product_id]
    assert ids(client.get(URL, {"ordering": "-price"})) == [
        b.product_id,
        a.product_id,
        c.product_id,
    ]
    assert ids(client.get(URL, {"ordering": "newest"})) == [
        c.product_id,
        a.product_id,
        b.product_id,
    ]


def test_price_ordering_uses_the_cheapest_sellable_variant(channel, key_client):
    first = ProductFactory(name="First")
    listed(channel, product=first, price="50.00")
    listed(channel, product=first, price="1.00", published=False)  # not sellable
    second = listed(channel, price="20.00", product=ProductFactory(name="Second"))
    assert ids(key_client(channel).get(URL, {"ordering": "price"})) == [
        second.product_id,
        first.pk,
    ]


# --- pagination and query count -----------------------------------------------------------


def make_catalog(channel, products: int, variants_per_product: int = 3) -> None:
    category = CategoryFactory()
    made = ProductFactory.create_batch(products, category=category)
    variants = [
        VariantFactory.build(product=product)
        for product in made
        for _ in range(variants_per_product)
    ]
    Variant.objects.bulk_create(variants)
    Listing.objects.bulk_create(
        Listing(variant=v, channel=channel, price=Decimal("10.00"), currency="USD")
        for v in variants
    )
    channel_products_refresh(product_ids=[p.pk for p in made])


@pytest.mark.parametrize("page_size", [1, 100])
def test_list_runs_a_fixed_number_of_queries(
    channel, key_client, fake_stock, django_assert_num_queries, page_size
):
    make_catalog(channel, 100)
    client = key_client(channel)
    # api key lookup, last-used touch, then on PostgreSQL with availability as SQL the page
    # (products, categories, offers with availability, the JSON) with the total count in
    # one statement; else the page (products + categories) with the total count, the page's
    # active variants, their listings in the channel (availability folded in as SQL or,
    # with the lookup-only fake, asked of it: it queries nothing).
    in_one = connection.vendor == "postgresql" and hasattr(
        fake_stock, "available_to_sell_expression"
    )
    with django_assert_num_queries(3 if in_one else 5):
        response = client.get(URL, {"page_size": page_size, "ordering": "price", "brand": "Acme"})
    body = response.json()
    assert body["count"] == 100
    assert len(body["results"]) == page_size
    assert all(len(item["variants"]) == 3 for item in body["results"])


def test_pagination_walks_every_product_once(channel, key_client):
    make_catalog(channel, 7, variants_per_product=1)
    client = key_client(channel)
    seen = []
    for page in (1, 2, 3):
        seen += ids(client.get(URL, {"page_size": 3, "page": page}))
    assert len(seen) == len(set(seen)) == 7
    assert client.get(URL, {"page_size": 3, "page": 4}).status_code == 404


def test_page_links_count_and_last_page(channel, key_client):
    make_catalog(channel, 7, variants_per_product=1)
    client = key_client(channel)
    first = client.get(URL, {"page_size": 3}).json()
    assert first["count"] == 7 and first["previous"] is None
    assert "page=2" in first["next"]
    last = client.get(URL, {"page_size": 3, "page": "last"}).json()
    assert last["count"] == 7 and last["next"] is None and len(last["results"]) == 1
    assert set(last["results"][0]) == set(first["results"][0])
    middle = client.get(URL, {"page_size": 3, "page": 2}).json()
    assert "page=3" in middle["next"] and "page=" not in middle["previous"]
    assert client.get(URL, {"page_size": 3, "page": "x"}).status_code == 404
    assert client.get(URL, {"page_size": 3, "page": 0}).status_code == 404


def test_empty_result_is_page_one_with_count_zero(channel, key_client):
    body = key_client(channel).get(URL, {"brand": "Nobody"}).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": []}


def test_listing_currency_shown_is_the_channels(channel, key_client):
    variant = listed(channel)
    assert Listing.objects.get(variant=variant).currency == "USD"
    body = key_client(channel).get(URL).json()["results"][0]
    assert body["currency"] == "USD" and body["variants"][0]["currency"] == "USD"


def test_out_of_range_ids_are_404_or_empty_not_errors(channel, key_client):
    listed(channel)
    client = key_client(channel)
    assert client.get(f"{URL}{2**64}/").status_code == 404
    assert ids(client.get(URL, {"category": "9" * 30})) == []


def test_a_browser_gets_the_browsable_page_of_the_list_and_detail(channel, key_client):
    variant = listed(channel)
    client = key_client(channel)
    for url in (URL, f"{URL}{variant.product_id}/"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/html")
        assert variant.sku in response.content.decode()


def test_filtersets_do_not_share_filters(make_channel):
    # Each FilterSet gets its own copies of the filters, bound to it (its channel), and
    # the class's filters stay unbound.
    web, app = make_channel("web"), make_channel("app")
    product = ProductFactory()
    listed(web, product=product)
    for_web = filters.StorefrontProductFilter(
        data={"brand": product.brand}, queryset=ChannelProduct.objects.all(), channel=web
    )
    for_app = filters.StorefrontProductFilter(
        data={"in_stock": "false"}, queryset=ChannelProduct.objects.all(), channel=app
    )
    for name, filter_ in for_web.filters.items():
        assert filter_ is not for_app.filters[name]
        assert filter_.parent is for_web and for_app.filters[name].parent is for_app
        assert not hasattr(filters.StorefrontProductFilter.base_filters[name], "parent")
    assert for_web.filters["in_stock"].filter.method.__self__ is for_web
    assert for_app.filters["in_stock"].filter.method.__self__ is for_app
    assert [row.product_id for row in for_web.qs] == [product.pk]


def test_filter_forms_share_their_fields_not_their_data_or_errors(channel):
    # Every request's form validates with the same field objects (none is altered): the
    # cleaned values and errors stay each form's own.
    queryset = ChannelProduct.objects.all()
    bad = filters.StorefrontProductFilter(
        data=QueryDict("price_min=abc&brand=x"), queryset=queryset, channel=channel
    )
    good = filters.StorefrontProductFilter(
        data=QueryDict("price_min=5&brand=y"), queryset=queryset, channel=channel
    )
    assert not bad.is_valid() and list(bad.form.errors) == ["price_min"]
    assert good.is_valid() and not good.form.errors
    assert good.form.cleaned_data["price_min"] == 5 and good.form.cleaned_data["brand"] == ["y"]
    for name, field in good.form.fields.items():
        assert field is bad.form.fields[name]
    assert not bad.is_valid() and "price_min" not in bad.form.cleaned_data


@pytest.mark.parametrize(
    ("query", "scanned"),
    [
        ("search=alpine", True),
        ("attr=material:linen&ordering=newest", True),
        ("search=%20%20&brand=x", False),
        ("category=shoes&price_min=3", False),
        ("", False),
    ],
)
def test_only_search_and_attr_values_read_the_matches_by_a_scan(query, scanned):
    assert filters.matches_by_scan(QueryDict(query)) is scanned
