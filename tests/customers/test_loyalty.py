"""The loyalty ledger: earn, redeem, reverse, expire, tiers; the balance is the ledger's sum."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.errors import InsufficientPoints
from customers.models import LoyaltyChannelRate, LoyaltyEntry, LoyaltySettings, SpendRecord
from customers.selectors import (
    customer_pricing_profile,
    loyalty_balance,
    loyalty_terms,
)
from customers.services import (
    customer_record_purchase,
    loyalty_adjust,
    loyalty_earn,
    loyalty_expire,
    loyalty_redeem,
    loyalty_reverse,
    tiers_refresh,
)
from omni.errors import InvalidInput
from tests.customers.factories import LoyaltyTierFactory

pytestmark = pytest.mark.django_db


def earn(customer, channel, amount, key="order-1", reference="W-1"):
    return loyalty_earn(
        customer=customer,
        channel=channel,
        amount=Decimal(amount),
        idempotency_key=key,
        reference=reference,
    )


def test_terms_have_defaults_without_a_settings_row():
    terms = loyalty_terms()
    assert terms.point_value == Decimal("0.01")
    assert terms.max_basket_share == Decimal("0.5")


def test_terms_read_the_settings_row():
    LoyaltySettings.objects.create(pk=1, point_value=Decimal("0.05"), max_basket_share="0.2")
    assert loyalty_terms().point_value == Decimal("0.05")
    assert loyalty_terms().max_basket_share == Decimal("0.2")


def test_earn_uses_the_channel_rate_rounded_down(customer, channel, store):
    LoyaltyChannelRate.objects.create(channel=store, earn_rate=Decimal("2"))
    assert earn(customer, channel, "49.99").points == 49
    assert earn(customer, store, "10.60", key="order-2", reference="S-1").points == 21
    assert loyalty_balance(customer=customer) == 70


def test_earn_is_idempotent_by_key(customer, channel):
    first = earn(customer, channel, "30")
    again = earn(customer, channel, "30")
    assert again.pk == first.pk
    assert loyalty_balance(customer=customer) == 30
    assert SpendRecord.objects.filter(customer=customer).count() == 1


def test_earn_refuses_negative_amounts(customer, channel):
    with pytest.raises(InvalidInput) as caught:
        earn(customer, channel, "-1")
    assert caught.value.field == "amount"


def test_redeem_debits_and_is_idempotent(customer, channel):
    earn(customer, channel, "100")
    entry = loyalty_redeem(customer=customer, points=40, idempotency_key="r-1", reference="W-2")
    again = loyalty_redeem(customer=customer, points=40, idempotency_key="r-1", reference="W-2")
    assert entry.pk == again.pk
    assert entry.points == -40
    assert loyalty_balance(customer=customer) == 60


def test_redeem_more_than_the_balance_is_refused_writing_nothing(customer, channel):
    earn(customer, channel, "10")
    with pytest.raises(InsufficientPoints) as caught:
        loyalty_redeem(customer=customer, points=11, idempotency_key="r-1", reference="W-2")
    assert caught.value.code == "insufficient_points"
    assert caught.value.extra == {"balance": 10, "requested": 11}
    assert loyalty_balance(customer=customer) == 10
    assert not LoyaltyEntry.objects.filter(kind="redeem").exists()


@pytest.mark.parametrize("points", [0, -5, 1.5, True])
def test_redeem_refuses_non_positive_points(customer, points):
    with pytest.raises(InvalidInput):
        loyalty_redeem(customer=customer, points=points, idempotency_key="r", reference="x")


def test_reverse_of_a_cancelled_order_undoes_earn_and_redeem(customer, channel):
    earn(customer, channel, "200", key="earn-0", reference="W-0")
    loyalty_redeem(customer=customer, points=50, idempotency_key="redeem-1", reference="W-1")
    earn(customer, channel, "100", key="earn-1", reference="W-1")
    assert loyalty_balance(customer=customer) == 250
    reversed_ = loyalty_reverse(idempotency_key="cancel-W-1", reference="W-1")
    assert sorted(e.points for e in reversed_) == [-100, 50]
    assert loyalty_balance(customer=customer) == 200
    # retried: nothing twice
    loyalty_reverse(idempotency_key="cancel-W-1", reference="W-1")
    assert loyalty_balance(customer=customer) == 200
    # a second, different reversal finds nothing left to reverse
    assert loyalty_reverse(idempotency_key="cancel-W-1-again", reference="W-1") == []


def test_partial_return_reverses_points_in_proportion(customer, channel):
    earn(customer, channel, "100", key="earn-1", reference="W-1")
    (entry,) = loyalty_reverse(
        idempotency_key="ret-1",
        reference="R-1",
        original_idempotency_key="earn-1",
        amount=Decimal("25"),
    )
    assert entry.points == -25
    assert entry.reverses.idempotency_key == "earn-1"
    assert loyalty_balance(customer=customer) == 75
    assert SpendRecord.objects.filter(customer=customer).count() == 2
    customer.refresh_from_db()
    assert customer.tier_spend == Decimal("75.00")


def test_reversing_spent_points_never_goes_negative(customer, channel):
    earn(customer, channel, "100", key="earn-1", reference="W-1")
    loyalty_redeem(customer=customer, points=80, idempotency_key="r-1", reference="W-2")
    (entry,) = loyalty_reverse(
        idempotency_key="ret-1", reference="R-1", original_idempotency_key="earn-1"
    )
    assert entry.points == -20
    assert "80 points were already spent" in entry.note
    assert loyalty_balance(customer=customer) == 0


def test_reverse_with_nothing_to_reverse_is_a_no_op():
    assert loyalty_reverse(idempotency_key="c-1", reference="nothing") == []


def test_expiry_expires_unspent_old_credits_only(customer, channel):
    old = earn(customer, channel, "100", key="earn-old", reference="W-1")
    earn(customer, channel, "50", key="earn-new", reference="W-2")
    loyalty_redeem(customer=customer, points=30, idempotency_key="r-1", reference="W-3")
    LoyaltyEntry.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert loyalty_expire() == 70  # 100 old points, 30 of them spent first
    assert loyalty_balance(customer=customer) == 50
    assert loyalty_expire() == 0  # running again expires nothing more
    assert LoyaltyEntry.objects.filter(kind="expire").count() == 1


def test_expiry_never_takes_the_balance_negative(customer, channel):
    old = earn(customer, channel, "100", key="earn-old", reference="W-1")
    loyalty_redeem(customer=customer, points=100, idempotency_key="r-1", reference="W-3")
    LoyaltyEntry.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert loyalty_expire() == 0
    assert loyalty_balance(customer=customer) == 0


def test_tier_follows_rolling_spend_and_multiplies_earning(customer, channel):
    LoyaltyTierFactory(code="silver", min_spend=Decimal("500"), earn_multiplier=Decimal("1.5"))
    LoyaltyTierFactory(code="gold", min_spend=Decimal("2000"), benefits={"free_shipping": True})
    earn(customer, channel, "600", key="e-1", reference="W-1")
    customer.refresh_from_db()
    assert customer.tier_code == "silver"
    assert earn(customer, channel, "100", key="e-2", reference="W-2").points == 150
    customer_record_purchase(
        customer=customer,
        channel=channel,
        amount=Decimal("1500"),
        occurred_at=timezone.now() - timedelta(days=400),
        reference="W-OLD",
    )
    customer.refresh_from_db()
    assert customer.tier_code == "silver"  # spend older than the window does not count
    customer_record_purchase(
        customer=customer,
        channel=channel,
        amount=Decimal("1500"),
        occurred_at=timezone.now(),
        reference="W-3",
    )
    profile = customer_pricing_profile(customer=customer)
    assert profile.tier == "gold"
    assert profile.tier_benefits == {"free_shipping": True}
    # a year later the spend has left the window
    tiers_refresh(at=timezone.now() + timedelta(days=366))
    customer.refresh_from_db()
    assert customer.tier_code == ""
    assert customer_pricing_profile(customer=customer).tier is None


def test_record_purchase_is_idempotent_by_channel_and_reference(customer, channel):
    for _ in range(2):
        customer_record_purchase(
            customer=customer,
            channel=channel,
            amount=Decimal("10"),
            occurred_at=timezone.now(),
            reference="W-1",
        )
    assert SpendRecord.objects.filter(customer=customer).count() == 1


def test_adjust_debit_is_refused_beyond_the_balance(customer):
    loyalty_adjust(customer=customer, points=10, idempotency_key="a-1", note="goodwill")
    with pytest.raises(InsufficientPoints):
        loyalty_adjust(customer=customer, points=-11, idempotency_key="a-2", note="fix")
    assert loyalty_balance(customer=customer) == 10


def test_pricing_profile_without_customer_is_empty():
    profile = customer_pricing_profile(customer=None)
    assert profile.tier is None
    assert profile.segments == frozenset()


def test_public_services_cost_fixed_queries(customer, channel, django_assert_max_num_queries):
    earn(customer, channel, "100")
    with django_assert_max_num_queries(8):
        loyalty_redeem(customer=customer, points=5, idempotency_key="r-1", reference="W-2")
    with django_assert_max_num_queries(1):
        loyalty_terms()
    with django_assert_max_num_queries(2):
        customer_pricing_profile(customer=customer)


def test_reversing_a_zero_point_earn_still_refunds_the_spend(customer, make_channel):
    free = make_channel("marketplace-x", kind="marketplace")
    LoyaltyChannelRate.objects.create(channel=free, earn_rate=Decimal("0"))
    earn(customer, free, "80", key="e-0", reference="M-1")
    (entry,) = loyalty_reverse(idempotency_key="c-1", reference="M-1")
    assert entry.points == 0
    customer.refresh_from_db()
    assert customer.tier_spend == Decimal("0.00")
    assert loyalty_reverse(idempotency_key="c-2", reference="M-1") == []


def test_partial_reversal_needs_a_single_original(customer, channel):
    earn(customer, channel, "10", key="e-1", reference="W-1")
    earn(customer, channel, "10", key="e-2", reference="W-1")
    with pytest.raises(InvalidInput) as caught:
        loyalty_reverse(idempotency_key="r", reference="W-1", amount=Decimal("5"))
    assert caught.value.code == "ambiguous_reversal"
