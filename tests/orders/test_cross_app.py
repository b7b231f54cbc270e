"""Cross-app promises: the quote a storefront is shown is what the order gets, and a customer
merge carries the orders of both profiles (and its undo gives them back)."""

from decimal import Decimal

import pytest

from customers.models import Customer
from customers.services import customer_merge, customer_unmerge
from inventory.models import ChannelLocation
from orders.models import Order
from orders.services import CustomerInput
from promotions.models import DiscountType, PromotionKind, Trigger
from tests.orders.conftest import ADDRESS
from tests.promotions.factories import PromotionFactory, VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def basket(make_variant, receive, warehouse):
    tee = make_variant("TEE", "19.99")
    mug = make_variant("MUG", "7.35")
    receive(tee, warehouse, 20)
    receive(mug, warehouse, 20)
    PromotionFactory(name="Tees 15% off", variants=[tee], value=Decimal("15"))
    voucher_promo = PromotionFactory(
        name="3 off 40",
        trigger=Trigger.VOUCHER,
        kind=PromotionKind.SPEND_THRESHOLD,
        discount_type=DiscountType.AMOUNT,
        value=Decimal("3"),
        min_spend=Decimal("40"),
    )
    VoucherFactory(promotion=voucher_promo, code="THREE", usage_limit=5)
    return [{"sku": "TEE", "quantity": 2}, {"sku": "MUG", "quantity": 3}]


def test_the_placed_order_gets_exactly_the_quoted_figures(shop, basket, key_client):
    client = key_client(shop)
    customer = {"email": "quote@example.com"}
    quoted = client.post(
        "/api/v1/quotes/",
        {"lines": basket, "voucher_code": "THREE", "customer": customer},
        format="json",
    )
    assert quoted.status_code == 200, quoted.json()
    quote = quoted.json()
    assert Decimal(quote["discount_total"]) > 0  # the promotion and the voucher both apply
    placed = client.post(
        "/api/v1/orders/",
        {
            "lines": basket,
            "voucher_code": "THREE",
            "customer": customer,
            "fulfilment": {"method": "ship", "address": ADDRESS},
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="quote-equals-order",
    )
    assert placed.status_code == 201, placed.json()
    order = Order.objects.get(number=placed.json()["number"])
    assert order.subtotal == Decimal(quote["subtotal"])
    assert order.discount_total == Decimal(quote["discount_total"])
    assert order.total == Decimal(quote["total"])  # no tax or shipping fee configured
    by_sku = {line.variant.sku: line for line in order.lines.select_related("variant")}
    for quoted_line in quote["lines"]:
        line = by_sku[quoted_line["sku"]]
        assert line.line_total == Decimal(quoted_line["line_total"])
        assert line.unit_price == Decimal(quoted_line["unit_price"])
    assert order.quote["total"] == quote["total"]


def test_merge_moves_both_profiles_orders_and_undo_gives_them_back(
    shop, make_channel, make_variant, receive, warehouse, place
):
    store_channel = make_channel("store-x", kind="store")
    ChannelLocation.objects.create(channel=store_channel, location=warehouse, priority=1)
    tee = make_variant("TEE", "10.00", channels=[store_channel])
    receive(tee, warehouse, 10)
    web_order = place([("TEE", 1)], customer=CustomerInput(email="ada@example.com"))
    store_order = place(
        [("TEE", 1)], channel=store_channel, customer=CustomerInput(phone="+1 212 555 0100")
    )
    survivor, merged = web_order.customer, store_order.customer
    assert survivor != merged

    record = customer_merge(survivor=survivor, merged=merged)
    assert set(Order.objects.filter(customer=survivor)) == {web_order, store_order}
    assert not Order.objects.filter(customer=merged).exists()

    customer_unmerge(record=record)
    assert list(Order.objects.filter(customer=merged)) == [store_order]
    assert list(Order.objects.filter(customer=survivor)) == [web_order]
    assert Customer.objects.count() == 2
