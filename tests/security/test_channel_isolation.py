"""One channel's key never reads, lists or changes another channel's orders, nor sees products
that channel does not list; the answer is the same 404 as for something that does not exist."""

import pytest

from orders.models import Order, OrderStatus
from tests.orders.conftest import ADDRESS

pytestmark = pytest.mark.django_db


def test_a_key_cannot_read_another_channels_order(shop_client, rival_order):
    response = shop_client.get(f"/api/v1/orders/{rival_order.number}/")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"
    unknown = shop_client.get("/api/v1/orders/NO-SUCH-ORDER/")
    assert unknown.status_code == 404
    assert unknown.json()["code"] == response.json()["code"]


def test_a_key_cannot_cancel_another_channels_order(shop_client, rival_order):
    response = shop_client.post(f"/api/v1/orders/{rival_order.number}/cancel/", {}, format="json")
    assert response.status_code == 404
    assert Order.objects.get(pk=rival_order.pk).status == rival_order.status
    assert rival_order.status != OrderStatus.CANCELLED


def test_a_key_cannot_return_goods_of_another_channels_order(shop_client, rival_order, store):
    line = rival_order.lines.get()
    response = shop_client.post(
        "/api/v1/returns/",
        {
            "order": rival_order.number,
            "location": store.code,
            "lines": [{"line": line.pk, "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 404
    assert not rival_order.returns.exists()


def test_a_key_cannot_list_another_channels_orders(shop_client, rival_order):
    response = shop_client.get("/api/v1/staff/orders/")
    assert response.status_code == 403
    assert rival_order.number not in response.content.decode()


def test_products_listed_elsewhere_are_invisible_to_the_key(shop_client, catalog):
    only = catalog["only"]
    listed = shop_client.get("/api/v1/products/").json()["results"]
    assert [p["name"] for p in listed] == ["Shared tee"]
    assert shop_client.get(f"/api/v1/products/{only.product_id}/").status_code == 404
    related = shop_client.get(f"/api/v1/products/{only.product_id}/related/")
    assert related.status_code == 404


def test_unlisted_sku_cannot_be_quoted_or_ordered(shop_client, catalog):
    lines = [{"sku": "APP-ONLY", "quantity": 1}]
    quote = shop_client.post("/api/v1/quotes/", {"lines": lines}, format="json")
    assert quote.status_code == 400
    assert quote.json()["errors"][0]["field"].startswith("lines.0")
    placed = shop_client.post(
        "/api/v1/orders/",
        {"lines": lines, "fulfilment": {"method": "ship", "address": ADDRESS}},
        format="json",
    )
    assert placed.status_code == 400
    assert not Order.objects.filter(lines__sku="APP-ONLY").exists()


def test_a_key_cannot_reach_customer_records_by_id(shop_client, rival_order):
    customer_id = rival_order.customer_id
    for path in (
        f"/api/v1/customers/{customer_id}/",
        f"/api/v1/customers/{customer_id}/export/",
        f"/api/v1/customers/{customer_id}/loyalty/",
        "/api/v1/customers/",
    ):
        response = shop_client.get(path)
        assert response.status_code == 403, path
        assert "bob@example.com" not in response.content.decode()


def test_a_channel_account_id_never_resolves_to_another_channels_customer(
    shop_client, rival, rival_order
):
    from customers.services.identity import customer_resolve

    rivals_customer = customer_resolve(channel=rival, account_id="acct-7", email="eve@example.com")
    response = shop_client.post(
        "/api/v1/customers/consents/",
        {"account_id": "acct-7", "purpose": "marketing_email", "granted": True},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["customer"] != rivals_customer.pk
