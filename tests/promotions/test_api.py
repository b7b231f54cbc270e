"""POST /api/v1/quotes/ and the staff report endpoint."""

from decimal import Decimal

import pytest

from customers.models import Customer
from promotions.models import Trigger
from tests.promotions.factories import PromotionFactory, VoucherFactory

D = Decimal
URL = "/api/v1/quotes/"


@pytest.fixture
def sale(shop):
    return PromotionFactory(name="Sitewide 10", value=D("10"))


def test_quote_by_sku_in_the_keys_channel(shop, sale, key_client):
    client = key_client(shop.store, scopes=["orders"])
    res = client.post(URL, {"lines": [{"sku": "SHOE", "quantity": 2}]}, format="json")
    assert res.status_code == 200, res.json()
    body = res.json()
    assert (body["subtotal"], body["discount_total"], body["total"]) == (
        "150.00",
        "15.00",
        "135.00",
    )
    assert body["lines"][0]["discounts"][0]["promotion_id"] == sale.pk
    assert body["channel_id"] == shop.store.pk


def test_quote_needs_the_orders_scope(shop, key_client):
    client = key_client(shop.web, scopes=["catalog"])
    res = client.post(URL, {"lines": [{"sku": "TEE", "quantity": 1}]}, format="json")
    assert res.status_code == 403


def test_unknown_sku_names_the_line(shop, key_client):
    res = key_client(shop.web).post(
        URL,
        {"lines": [{"sku": "TEE", "quantity": 1}, {"sku": "NOPE", "quantity": 1}]},
        format="json",
    )
    assert res.status_code == 400
    assert res.json()["code"] == "unknown_sku"
    assert res.json()["errors"][0]["field"] == "lines.1.sku"


def test_malformed_input_is_refused_per_field(shop, key_client):
    res = key_client(shop.web).post(
        URL, {"lines": [{"sku": "TEE", "quantity": 0}], "loyalty_points": -1}, format="json"
    )
    assert res.status_code == 400
    fields = {e["field"] for e in res.json()["errors"]}
    assert fields == {"lines.0.quantity", "loyalty_points"}


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        ({}, 400, "voucher_unknown"),
        ({"active": False}, 400, "voucher_expired"),
        ({"usage_limit": 1, "times_used": 1}, 409, "voucher_exhausted"),
        ({"channels": "store"}, 400, "voucher_out_of_scope"),
        ({"min_spend": D("100")}, 400, "voucher_min_spend"),
    ],
)
def test_voucher_refusals_have_distinct_codes(shop, key_client, setup, status, code):
    if setup:
        promo = PromotionFactory(
            name="V",
            trigger=Trigger.VOUCHER,
            min_spend=setup.get("min_spend", D(0)),
            channels=[shop.store] if setup.get("channels") else None,
        )
        VoucherFactory(
            promotion=promo,
            code="CODE",
            active=setup.get("active", True),
            usage_limit=setup.get("usage_limit"),
            times_used=setup.get("times_used", 0),
        )
    res = key_client(shop.web).post(
        URL, {"lines": [{"sku": "TEE", "quantity": 1}], "voucher_code": "code"}, format="json"
    )
    assert res.status_code == status
    assert res.json()["code"] == code
    assert res.json()["errors"][0]["field"] == "voucher_code"


def test_unlisted_sku_is_refused(shop, key_client):
    shop.variants["TEE"].listings.filter(channel=shop.web).update(published=False)
    res = key_client(shop.web).post(URL, {"lines": [{"sku": "TEE", "quantity": 1}]}, format="json")
    assert res.status_code == 400
    assert (res.json()["code"], res.json()["sku"]) == ("variant_not_listed", "TEE")


def test_staff_quote_for_a_customer_id(shop, admin_client_api, customer_facts):
    customer = Customer.objects.create(first_name="Ann")
    customer_facts.balances[customer.pk] = 300
    PromotionFactory(name="Gold", value=D("50"), customer_tiers=["gold"])
    res = admin_client_api.post(
        URL,
        {"lines": [{"sku": "TEE", "quantity": 1}], "customer": {"id": customer.pk},
         "loyalty_points": 300},
        format="json",
        HTTP_X_CHANNEL="web",
    )  # fmt: skip
    assert res.status_code == 200, res.json()
    assert (res.json()["total"], res.json()["loyalty_points"]) == ("17.00", 300)
    assert res.json()["customer_id"] == customer.pk


def test_staff_quote_names_the_channel(shop, admin_client_api):
    res = admin_client_api.post(URL, {"lines": [{"sku": "TEE", "quantity": 1}]}, format="json")
    assert res.status_code == 400
    assert res.json()["code"] == "channel_required"


def test_channel_keys_cannot_quote_by_customer_id(shop, key_client):
    customer = Customer.objects.create(first_name="Ann")
    res = key_client(shop.web).post(
        URL, {"lines": [{"sku": "TEE", "quantity": 1}], "customer": {"id": customer.pk}},
        format="json",
    )  # fmt: skip
    assert res.status_code == 400
    assert res.json()["code"] == "customer_id_staff_only"


def test_report_endpoint_is_for_staff(shop, key_client, admin_client_api, sale):
    assert key_client(shop.web).get("/api/v1/promotions/report/").status_code == 403
    res = admin_client_api.get("/api/v1/promotions/report/")
    assert res.status_code == 200
    assert res.json()["results"][0]["name"] == "Sitewide 10"
