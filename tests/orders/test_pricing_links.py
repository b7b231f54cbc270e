"""Placement calls pricing, vouchers and loyalty in its transaction; cancellation gives the
voucher use and the redeemed points back."""

from decimal import Decimal

import pytest

from customers.selectors import loyalty_balance
from customers.services import loyalty_adjust
from omni.errors import DomainError
from orders.models import Order
from orders.services import CustomerInput, order_cancel
from promotions.models import DiscountType, PromotionKind, Trigger, Voucher, VoucherRedemption
from tests.promotions.factories import PromotionFactory, VoucherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tee(make_variant, receive, warehouse):
    variant = make_variant("TEE", "20.00")
    receive(variant, warehouse, 10)
    return variant


@pytest.fixture
def save5(db):
    promo = PromotionFactory(
        name="5 off",
        trigger=Trigger.VOUCHER,
        kind=PromotionKind.SPEND_THRESHOLD,
        discount_type=DiscountType.AMOUNT,
        value=Decimal("5"),
    )
    return VoucherFactory(promotion=promo, code="SAVE5", usage_limit=1)


def test_voucher_is_redeemed_with_the_order_and_released_on_cancel(place, tee, save5, stock_of):
    order = place([("TEE", 2)], voucher_code="save5")
    assert order.voucher_code == "SAVE5"
    assert order.total == Decimal("35.00")
    assert order.lines.get().discounts[0]["voucher_code"] == "SAVE5"
    redemption = VoucherRedemption.objects.get(order_reference=order.number)
    assert redemption.released_at is None
    assert Voucher.objects.get(code="SAVE5").times_used == 1
    # The code's single use is taken: the next order is refused and reserves nothing.
    with pytest.raises(DomainError) as err:
        place([("TEE", 1)], voucher_code="SAVE5")
    assert err.value.code == "voucher_exhausted"
    assert Order.objects.count() == 1
    order_cancel(order=order)
    redemption.refresh_from_db()
    assert redemption.released_at is not None
    assert Voucher.objects.get(code="SAVE5").times_used == 0


def test_loyalty_points_pay_part_of_the_order_and_come_back_on_cancel(place, tee):
    first = place([("TEE", 1)])
    customer = first.customer
    loyalty_adjust(customer=customer, points=500, idempotency_key="gift-1", note="welcome")
    order = place([("TEE", 1)], loyalty_points=300, customer=CustomerInput(email="ada@example.com"))
    assert order.customer_id == customer.pk
    assert order.loyalty_points_redeemed == 300
    assert order.total == Decimal("17.00")
    assert loyalty_balance(customer=customer) == 200
    # Pricing uses at most the balance: asking for 900 spends the 200 left.
    greedy = place(
        [("TEE", 1)], loyalty_points=900, customer=CustomerInput(email="ada@example.com")
    )
    assert greedy.loyalty_points_redeemed == 200
    assert loyalty_balance(customer=customer) == 0
    order_cancel(order=order)
    assert loyalty_balance(customer=customer) == 300
