"""POST /api/v1/quotes/ and the staff report endpoint."""

from decimal import Decimal

import pytest

from customers.models import Customer
from promotions.api import QuoteOutput
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
    documented = QuoteOutput(data=body)
    assert documented.is_valid(), documented.errors


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


def test_quote_by_email_prices_for_the_profile_and_never_creates_one(shop, key_client):
    from customers.services.identity import customer_resolve

    ann = customer_resolve(channel=shop.web, email="Ann@Example.com")
    Customer.objects.filter(pk=ann.pk).update(tier_code="gold")
    PromotionFactory(name="Gold", value=D("50"), customer_tiers=["gold"])
    client = key_client(shop.web)
    body = {"lines": [{"sku": "TEE", "quantity": 1}], "customer": {"email": "ann@example.com"}}
    res = client.post(URL, body, format="json")
    assert (res.json()["total"], res.json()["customer_id"]) == ("10.00", ann.pk)
    before = Customer.objects.count()
    body["customer"] = {"email": "nobody@example.com"}
    res = client.post(URL, body, format="json")
    assert (res.json()["total"], res.json()["customer_id"]) == ("20.00", None)
    assert Customer.objects.count() == before


def test_staff_create_edit_promotion_and_codes_through_the_api(shop, admin_client_api, key_client):
    res = admin_client_api.post(
        "/api/v1/promotions/",
        {"name": "Shoes 30 in store", "value": "30", "categories": [shop.shoes.pk],
         "channels": ["store"]},
        format="json",
    )  # fmt: skip
    assert res.status_code == 201, res.json()
    pid = res.json()["id"]
    client = key_client(shop.store)
    body = {"lines": [{"sku": "SHOE", "quantity": 1}]}
    assert client.post(URL, body, format="json").json()["total"] == "52.50"
    res = admin_client_api.patch(f"/api/v1/promotions/{pid}/", {"value": "20"}, format="json")
    assert res.status_code == 200, res.json()
    assert client.post(URL, body, format="json").json()["total"] == "60.00"
    res = admin_client_api.patch(
        f"/api/v1/promotions/{pid}/",
        {"starts_at": "2026-06-02T00:00:00Z", "ends_at": "2026-06-01T00:00:00Z"},
        format="json",
    )
    assert res.status_code == 400
    assert (res.json()["code"], res.json()["errors"][0]["field"]) == ("invalid_window", "ends_at")
    res = admin_client_api.post(
        "/api/v1/promotions/", {"name": "Codes", "trigger": "voucher"}, format="json"
    )
    vid = res.json()["id"]
    res = admin_client_api.post(
        f"/api/v1/promotions/{vid}/vouchers/", {"prefix": "api", "count": 3}, format="json"
    )
    assert res.status_code == 201, res.json()
    assert [v["code"][:4] for v in res.json()] == ["API-"] * 3
    res = admin_client_api.post(
        f"/api/v1/promotions/{vid}/vouchers/", {"code": "hello"}, format="json"
    )
    assert res.json()[0]["code"] == "HELLO"
    res = admin_client_api.post(
        f"/api/v1/promotions/{vid}/vouchers/", {"code": "HELLO"}, format="json"
    )
    assert (res.status_code, res.json()["code"]) == (400, "duplicate_code")
    res = admin_client_api.get(f"/api/v1/promotions/{vid}/vouchers/")
    assert res.json()["count"] == 4


def test_promotions_api_is_staff_only(shop, key_client):
    assert key_client(shop.web).get("/api/v1/promotions/").status_code == 403
