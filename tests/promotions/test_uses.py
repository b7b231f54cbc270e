"""Orders record what each promotion gave; the report sums it; past quotes do not change."""

from decimal import Decimal

from django.test import Client

from promotions.models import DiscountType, PromotionKind, PromotionUse, Trigger
from promotions.pricing import QuoteLineInput, quote
from promotions.selectors import promotion_report
from promotions.services import (
    promotion_save,
    promotion_uses_cancel,
    promotion_uses_record,
)
from tests.promotions.factories import PromotionFactory, VoucherFactory

D = Decimal


def basket(shop):
    return [
        QuoteLineInput(shop.variants["TEE"].pk, 2),
        QuoteLineInput(shop.variants["MUG"].pk, 1),
    ]


def test_uses_are_recorded_once_per_order_and_reported(shop):
    sale = PromotionFactory(name="Tees 10", value=D("10"), categories=[shop.apparel])
    ship = PromotionFactory(name="Free ship", kind=PromotionKind.FREE_SHIPPING)
    promo = PromotionFactory(
        name="2 off",
        trigger=Trigger.VOUCHER,
        kind=PromotionKind.SPEND_THRESHOLD,
        discount_type=DiscountType.AMOUNT,
        value=D("2"),
    )
    VoucherFactory(promotion=promo, code="TWO")
    q = quote(channel=shop.web, lines=basket(shop), voucher_code="TWO")
    assert q.total == D("43.99")  # 36.00 + 9.99 - 2.00
    promotion_uses_record(quote=q, order_reference="W-1", channel=shop.web)
    promotion_uses_record(quote=q, order_reference="W-1", channel=shop.web)
    assert PromotionUse.objects.count() == 3
    q2 = quote(channel=shop.web, lines=basket(shop)[:1])
    promotion_uses_record(quote=q2, order_reference="W-2", channel=shop.web)
    rows = {r.promotion_id: r for r in promotion_report()}
    assert (rows[sale.pk].uses, rows[sale.pk].discount) == (2, D("8.00"))
    # line totals the sale touched: tees 36.00 - their 1.57 share of the voucher; then 36.00
    assert rows[sale.pk].revenue == D("34.43") + D("36.00")
    assert PromotionUse.objects.get(promotion=promo).voucher_code == "TWO"
    assert (rows[promo.pk].uses, rows[promo.pk].discount) == (1, D("2.00"))
    assert (rows[ship.pk].uses, rows[ship.pk].order_revenue) == (2, D("43.99") + D("36.00"))
    promotion_uses_cancel(order_reference="W-1")
    rows = {r.promotion_id: r for r in promotion_report()}
    assert (rows[sale.pk].uses, rows[promo.pk].uses) == (1, 0)


def test_a_promotion_edited_later_does_not_change_a_stored_quote(shop):
    sale = promotion_save(fields={"name": "Sale", "value": D("10")})
    stored = quote(channel=shop.web, lines=basket(shop)).as_dict()
    promotion_save(promotion=sale, fields={"value": D("50")})
    assert stored["total"] == "44.99"  # 36.00 + 8.99, as it was quoted
    assert quote(channel=shop.web, lines=basket(shop)).total == D("24.99")  # 20.00 + 4.99


def test_admin_preview_report_and_batch_pages(shop, admin_user):
    sale = PromotionFactory(name="Web only 10", value=D("10"), channels=[shop.web])
    voucher_promo = PromotionFactory(name="Mailing", trigger=Trigger.VOUCHER)
    client = Client()
    client.force_login(admin_user)
    res = client.post(
        "/admin/promotions/promotion/preview/", {"basket": "TEE 2\nSHOE 1", "loyalty_points": 0}
    )
    assert res.status_code == 200
    by_channel = {r["channel"].code: r for r in res.context["results"]}
    assert by_channel["web"]["quote"].total == D("108.00")  # (40 + 80) less 10 %
    assert by_channel["store"]["quote"].total == D("115.00")
    assert by_channel["jp"]["quote"].total == D("13000")
    res = client.post("/admin/promotions/promotion/preview/", {"basket": "NOPE 1"})
    assert "Unknown SKU: NOPE" in res.content.decode()
    assert client.get("/admin/promotions/promotion/report/").status_code == 200
    for page in ["promotion", "voucher", "voucherredemption", "promotionuse"]:
        assert client.get(f"/admin/promotions/{page}/").status_code == 200, page
    assert "Preview a basket" in client.get("/admin/promotions/promotion/").content.decode()
    assert client.get("/admin/promotions/promotion/add/").status_code == 200
    assert client.get(f"/admin/promotions/promotion/{sale.pk}/change/").status_code == 200
    res = client.post(
        f"/admin/promotions/promotion/{voucher_promo.pk}/vouchers/",
        {"prefix": "mail", "count": 5, "usage_limit": 1},
    )
    assert res.status_code == 302
    assert voucher_promo.vouchers.filter(batch="MAIL").count() == 5


def test_admin_refuses_a_promotion_ending_before_it_starts_and_duplicate_codes(shop, admin_user):
    client = Client()
    client.force_login(admin_user)
    res = client.post(
        "/admin/promotions/promotion/add/",
        {
            "name": "Backwards",
            "kind": "catalogue",
            "discount_type": "percent",
            "value": "10",
            "min_spend": "0",
            "buy_quantity": "0",
            "get_quantity": "0",
            "bundle_quantity": "0",
            "bundle_price": "0",
            "brands": "[]",
            "customer_tiers": "[]",
            "customer_segments": "[]",
            "trigger": "voucher",
            "active": "on",
            "priority": "0",
            "starts_at_0": "2026-06-02",
            "starts_at_1": "00:00:00",
            "ends_at_0": "2026-06-01",
            "ends_at_1": "00:00:00",
        },
    )
    assert res.status_code == 200
    assert "The end must come after the start." in res.content.decode()
    promo = PromotionFactory(name="Codes", trigger=Trigger.VOUCHER)
    VoucherFactory(promotion=promo, code="SAVE5")
    res = client.post(
        "/admin/promotions/voucher/add/",
        {"promotion": promo.pk, "code": "save5", "active": "on", "batch": ""},
    )
    assert res.status_code == 200
    assert "already exists" in res.content.decode()


def test_report_splits_currencies_and_filters_by_channel_and_period(shop, admin_client_api):
    from datetime import timedelta

    from django.utils import timezone

    sale = PromotionFactory(name="Sitewide", value=D("10"))
    idle = PromotionFactory(name="Idle", value=D("1"), active=False)
    tee = [QuoteLineInput(shop.variants["TEE"].pk, 1)]
    for n, channel in enumerate([shop.web, shop.store, shop.jp]):
        q = quote(channel=channel, lines=tee)
        promotion_uses_record(quote=q, order_reference=f"R{n}", channel=channel)
    rows = [(r.promotion_id, r.currency, r.uses, r.discount) for r in promotion_report()]
    assert rows == [
        (sale.pk, "USD", 2, D("4.00")),
        (sale.pk, "JPY", 1, D("200")),
        (idle.pk, "", 0, D("0")),
    ]
    only_store = promotion_report(channel=shop.store)
    assert [(r.currency, r.uses, r.revenue) for r in only_store] == [
        ("USD", 1, D("18.00")),
        ("", 0, D("0")),
    ]
    later = timezone.now() + timedelta(minutes=1)
    assert [r.uses for r in promotion_report(since=later)] == [0, 0]
    res = admin_client_api.get("/api/v1/promotions/report/", {"channel": "jp"})
    assert res.json()["results"][0] == {
        "promotion_id": sale.pk,
        "name": "Sitewide",
        "kind": "catalogue",
        "active": True,
        "currency": "JPY",
        "uses": 1,
        "discount": "200",
        "revenue": "1800",
        "order_revenue": "1800",
    }
    res = admin_client_api.get("/api/v1/promotions/report/", {"channel": "nope"})
    assert res.status_code == 400
