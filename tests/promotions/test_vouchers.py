"""Voucher codes in quotes and at order placement: every refusal has its code; limits hold."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from promotions.errors import (
    VoucherExhausted,
    VoucherExpired,
    VoucherMinSpend,
    VoucherNotStarted,
    VoucherOutOfScope,
    VoucherUnknown,
)
from promotions.models import DiscountType, PromotionKind, Trigger, Voucher, VoucherRedemption
from promotions.pricing import QuoteLineInput, quote
from promotions.services import voucher_batch_create, voucher_redeem, voucher_release
from tests.omni.factories import ChannelFactory
from tests.promotions.factories import PromotionFactory, VoucherFactory

D = Decimal


def tee(shop, qty=1):
    return [QuoteLineInput(shop.variants["TEE"].pk, qty)]


@pytest.fixture
def save5(shop):
    promo = PromotionFactory(
        name="5 off",
        trigger=Trigger.VOUCHER,
        kind=PromotionKind.SPEND_THRESHOLD,
        discount_type=DiscountType.AMOUNT,
        value=D("5"),
    )
    return VoucherFactory(promotion=promo, code="SAVE5")


def test_voucher_discount_is_marked_with_its_code(shop, save5):
    q = quote(channel=shop.web, lines=tee(shop, 2), voucher_code=" save5 ")
    assert q.total == D("35.00")
    assert q.voucher_code == "SAVE5"
    (discount,) = q.lines[0].discounts
    assert (discount.source, discount.voucher_code, discount.amount) == (
        "voucher",
        "SAVE5",
        D("5.00"),
    )


def test_voucher_promotion_does_nothing_without_its_code(shop, save5):
    assert quote(channel=shop.web, lines=tee(shop)).total == D("20.00")


def test_unknown_code(shop):
    with pytest.raises(VoucherUnknown) as exc:
        quote(channel=shop.web, lines=tee(shop), voucher_code="NOPE")
    assert (exc.value.code, exc.value.field) == ("voucher_unknown", "voucher_code")


def test_expired_and_not_yet_valid_codes(shop, save5):
    now = timezone.now()
    Voucher.objects.filter(pk=save5.pk).update(valid_until=now - timedelta(minutes=1))
    with pytest.raises(VoucherExpired):
        quote(channel=shop.web, lines=tee(shop), voucher_code="SAVE5")
    Voucher.objects.filter(pk=save5.pk).update(valid_from=now + timedelta(days=1), valid_until=None)
    with pytest.raises(VoucherNotStarted):
        quote(channel=shop.web, lines=tee(shop), voucher_code="SAVE5")


def test_deactivated_code_is_refused_as_expired(shop, save5):
    Voucher.objects.filter(pk=save5.pk).update(active=False)
    with pytest.raises(VoucherExpired):
        quote(channel=shop.web, lines=tee(shop), voucher_code="SAVE5")


def test_exhausted_code(shop, save5):
    Voucher.objects.filter(pk=save5.pk).update(usage_limit=2, times_used=2)
    with pytest.raises(VoucherExhausted) as exc:
        quote(channel=shop.web, lines=tee(shop), voucher_code="SAVE5")
    assert exc.value.extra["limit"] == "per_code"


def test_code_out_of_channel_scope(shop):
    promo = PromotionFactory(name="Store only", trigger=Trigger.VOUCHER, channels=[shop.store])
    VoucherFactory(promotion=promo, code="STORE10")
    assert quote(channel=shop.store, lines=tee(shop), voucher_code="STORE10").total == D("18.00")
    with pytest.raises(VoucherOutOfScope):
        quote(channel=shop.web, lines=tee(shop), voucher_code="STORE10")


def test_code_for_other_products_is_out_of_scope(shop):
    promo = PromotionFactory(name="Shoes", trigger=Trigger.VOUCHER, categories=[shop.shoes])
    VoucherFactory(promotion=promo, code="SHOES")
    with pytest.raises(VoucherOutOfScope):
        quote(channel=shop.web, lines=tee(shop), voucher_code="SHOES")


def test_code_for_a_tier_is_out_of_scope_for_others(shop, gold_customer, plain_customer):
    promo = PromotionFactory(name="Gold", trigger=Trigger.VOUCHER, customer_tiers=["gold"])
    VoucherFactory(promotion=promo, code="GOLD")
    lines = tee(shop)
    assert quote(channel=shop.web, customer=gold_customer, lines=lines, voucher_code="GOLD")
    with pytest.raises(VoucherOutOfScope):
        quote(channel=shop.web, customer=plain_customer, lines=lines, voucher_code="GOLD")


def test_minimum_spend(shop):
    promo = PromotionFactory(name="Min 50", trigger=Trigger.VOUCHER, min_spend=D("50"))
    VoucherFactory(promotion=promo, code="MIN50")
    with pytest.raises(VoucherMinSpend) as exc:
        quote(channel=shop.web, lines=tee(shop, 2), voucher_code="MIN50")
    assert exc.value.extra["min_spend"] == "50.00"
    assert quote(channel=shop.web, lines=tee(shop, 3), voucher_code="MIN50").total == D("54.00")


def test_redeem_counts_and_release_gives_back_once(shop, save5):
    Voucher.objects.filter(pk=save5.pk).update(usage_limit=1)
    redemption = voucher_redeem(code="save5", channel=shop.web, customer=None, order_reference="A")
    assert voucher_redeem(code="SAVE5", channel=shop.web, customer=None, order_reference="A") == (
        redemption
    )
    with pytest.raises(VoucherExhausted):
        voucher_redeem(code="SAVE5", channel=shop.web, customer=None, order_reference="B")
    voucher_release(order_reference="A")
    voucher_release(order_reference="A")
    save5.refresh_from_db()
    assert save5.times_used == 0
    voucher_redeem(code="SAVE5", channel=shop.web, customer=None, order_reference="B")
    save5.refresh_from_db()
    assert save5.times_used == 1
    assert VoucherRedemption.objects.filter(released_at__isnull=True).count() == 1


def test_per_customer_limit(shop, save5, plain_customer, gold_customer):
    Voucher.objects.filter(pk=save5.pk).update(per_customer_limit=1)
    voucher_redeem(code="SAVE5", channel=shop.web, customer=plain_customer, order_reference="1")
    with pytest.raises(VoucherExhausted) as exc:
        quote(channel=shop.web, customer=plain_customer, lines=tee(shop), voucher_code="SAVE5")
    assert exc.value.extra["limit"] == "per_customer"
    with pytest.raises(VoucherExhausted):
        voucher_redeem(code="SAVE5", channel=shop.web, customer=plain_customer, order_reference="2")
    voucher_redeem(code="SAVE5", channel=shop.web, customer=gold_customer, order_reference="3")


def test_redeem_refuses_out_of_scope_and_expired(shop):
    promo = PromotionFactory(
        name="Store only",
        trigger=Trigger.VOUCHER,
        channels=[shop.store],
        ends_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    VoucherFactory(promotion=promo, code="STORE")
    with pytest.raises(VoucherOutOfScope):
        voucher_redeem(code="STORE", channel=shop.web, customer=None, order_reference="X")
    with pytest.raises(VoucherExpired):
        voucher_redeem(
            code="STORE",
            channel=shop.store,
            customer=None,
            order_reference="X",
            at=datetime(2030, 1, 1, tzinfo=UTC),
        )
    with pytest.raises(VoucherUnknown):
        voucher_redeem(code="NONE", channel=shop.store, customer=None, order_reference="X")


def test_batch_with_prefix_creates_distinct_codes(db):
    promo = PromotionFactory(name="Mailing", trigger=Trigger.VOUCHER)
    codes = voucher_batch_create(promotion=promo, prefix="spring", count=50, usage_limit=1)
    assert len({v.code for v in codes}) == 50
    assert all(v.code.startswith("SPRING-") and len(v.code) == 15 for v in codes)
    assert Voucher.objects.filter(batch="SPRING", usage_limit=1).count() == 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_checkouts_on_a_code_limited_to_ten():
    channel = ChannelFactory(code="race")
    promo = PromotionFactory(name="Race", trigger=Trigger.VOUCHER)
    voucher = VoucherFactory(promotion=promo, code="RACE10", usage_limit=10)
    barrier = threading.Barrier(30)
    outcomes: list[str] = []
    lock = threading.Lock()

    def checkout(n: int) -> None:
        try:
            barrier.wait()
            voucher_redeem(code="RACE10", channel=channel, customer=None, order_reference=f"O{n}")
            outcome = "ok"
        except VoucherExhausted:
            outcome = "exhausted"
        except Exception as exc:  # any other failure shows in the assertion message
            outcome = repr(exc)
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes).count("ok") == 10, outcomes
    assert outcomes.count("exhausted") == 20
    voucher.refresh_from_db()
    assert voucher.times_used == 10
    assert VoucherRedemption.objects.filter(voucher=voucher).count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_of_one_customer_respect_the_per_customer_limit():
    channel = ChannelFactory(code="race2")
    customer = Customer.objects.create(first_name="Racer")
    promo = PromotionFactory(name="Once each", trigger=Trigger.VOUCHER)
    voucher = VoucherFactory(promotion=promo, code="ONCE", per_customer_limit=2)
    barrier = threading.Barrier(8)
    ok: list[int] = []

    def checkout(n: int) -> None:
        try:
            barrier.wait()
            voucher_redeem(code="ONCE", channel=channel, customer=customer, order_reference=f"C{n}")
            ok.append(n)
        except VoucherExhausted:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=checkout, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ok) == 2
    voucher.refresh_from_db()
    assert voucher.times_used == 2
