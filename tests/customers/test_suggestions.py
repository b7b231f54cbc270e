"""Suggested products in the customer lookup: through the customers port (analytics provides
them), limited to what the calling channel publishes; staff see them in the API profile and on
the admin's customer page; without a provider the list is empty."""

from decimal import Decimal

import pytest
from django.urls import reverse

from analytics.models import CustomerSuggestion
from analytics.ports import CustomerSuggestions
from customers.services import customer_resolve
from customers.suggestions import (
    NoSuggestions,
    ProductSuggestion,
    register_suggestion_provider,
    suggestion_provider,
)
from tests.catalog.factories import ListingFactory, ProductFactory
from tests.customers.test_api import LOOKUP, staff_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_channel):
    """Ada's stored suggestions: boots (web only), socks (store only), a scarf (no listing)."""
    web = make_channel("web")
    store = make_channel("store", kind="store", phone_region="GB")
    ada = customer_resolve(channel=web, email="ada@example.com", first_name="Ada")
    boots, socks, scarf = (ProductFactory(name=n) for n in ("Boots", "Socks", "Scarf"))
    ListingFactory(variant__product=boots, channel=web, price=Decimal("50"))
    ListingFactory(variant__product=socks, channel=store, price=Decimal("5"))
    for rank, (product, score) in enumerate(((boots, 0.9), (socks, 0.5), (scarf, 0.2)), 1):
        CustomerSuggestion.objects.create(
            customer_id=ada.pk, product=product, score=score, rank=rank
        )
    return {"web": web, "store": store, "ada": ada, "boots": boots, "socks": socks, "scarf": scarf}


def _ids(body) -> list[int]:
    return [s["product_id"] for s in body["suggestions"]]


def test_storefront_lookup_suggests_only_what_the_keys_channel_publishes(world, key_client):
    web = key_client(world["web"], scopes=["customers"]).get(LOOKUP, {"email": "ada@example.com"})
    assert web.status_code == 200
    assert web.json()["suggestions"] == [
        {
            "product_id": world["boots"].pk,
            "name": "Boots",
            "slug": world["boots"].slug,
            "score": 0.9,
            "rank": 1,
        }
    ]
    store = key_client(world["store"]).get(LOOKUP, {"email": "ada@example.com"})
    assert _ids(store.json()) == [world["socks"].pk]
    assert store.json()["suggestions"][0]["rank"] == 1


def test_a_channel_never_sees_its_unpublished_listing(world, key_client):
    listing = world["boots"].variants.get().listings.get()
    listing.published = False
    listing.save(update_fields=["published"])
    body = key_client(world["web"]).get(LOOKUP, {"email": "ada@example.com"}).json()
    assert body["suggestions"] == []


def test_staff_lookup_sees_every_product_or_the_channel_they_name(world, staff_user):
    client = staff_client(staff_user, "customers.view_customer")
    body = client.get(LOOKUP, {"email": "ada@example.com"}).json()
    assert _ids(body) == [world["boots"].pk, world["socks"].pk, world["scarf"].pk]
    body = client.get(LOOKUP, {"email": "ada@example.com"}, HTTP_X_CHANNEL="store").json()
    assert _ids(body) == [world["socks"].pk]


def test_staff_profile_shows_suggestions_and_takes_a_channel(world, staff_user):
    client = staff_client(staff_user, "customers.view_customer")
    url = f"/api/v1/customers/{world['ada'].pk}/"
    assert _ids(client.get(url).json()) == [world["boots"].pk, world["socks"].pk, world["scarf"].pk]
    assert _ids(client.get(url, {"channel": "web"}).json()) == [world["boots"].pk]
    unknown = client.get(url, {"channel": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_channel"


def test_without_a_provider_the_lookup_has_no_suggestions(world, key_client):
    previous = suggestion_provider()
    register_suggestion_provider(NoSuggestions())
    try:
        body = key_client(world["web"]).get(LOOKUP, {"email": "ada@example.com"}).json()
    finally:
        register_suggestion_provider(previous)
    assert body["suggestions"] == []
    assert isinstance(suggestion_provider(), CustomerSuggestions)


def test_lookup_reads_whatever_provider_is_registered(world, key_client):
    class Fixed:
        def __init__(self):
            self.asked = []

        def suggestions_for(self, *, customer_id, channel=None, limit=10):
            self.asked.append((customer_id, channel.code if channel else None, limit))
            return [ProductSuggestion(product_id=7, name="Hat", slug="hat", score=1.0, rank=1)]

    fixed = Fixed()
    previous = suggestion_provider()
    register_suggestion_provider(fixed)
    try:
        body = key_client(world["store"]).get(LOOKUP, {"email": "ada@example.com"}).json()
    finally:
        register_suggestion_provider(previous)
    assert fixed.asked == [(world["ada"].pk, "store", 10)]
    assert body["suggestions"] == [
        {"product_id": 7, "name": "Hat", "slug": "hat", "score": 1.0, "rank": 1}
    ]


def test_lookup_with_suggestions_keeps_a_fixed_query_count(
    world, key_client, django_assert_max_num_queries
):
    client = key_client(world["web"])
    with django_assert_max_num_queries(13):
        client.get(LOOKUP, {"email": "ada@example.com"})


def test_admin_customer_page_shows_the_suggestions(world, admin_client):
    response = admin_client.get(reverse("admin:customers_customer_change", args=[world["ada"].pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Suggested products" in html
    boots_url = reverse("admin:catalog_product_change", args=[world["boots"].pk])
    assert f'<a href="{boots_url}">Boots</a>' in html
    assert "Scarf" in html  # staff see every active product, published anywhere or not


def test_admin_customer_page_without_suggestions_says_so(world, admin_client):
    CustomerSuggestion.objects.all().delete()
    response = admin_client.get(reverse("admin:customers_customer_change", args=[world["ada"].pk]))
    assert "no suggestions yet" in response.content.decode()
