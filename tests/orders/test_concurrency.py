"""Concurrency on PostgreSQL with real threads: duplicates create one order, checkouts never
oversell, concurrent cancels release once."""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from inventory.models import Reservation, Stock
from inventory.selectors import ledger_drift
from omni.errors import DomainError
from orders.models import IdempotencyKey, Order
from orders.services import LineInput, PaymentInput, order_cancel, order_place
from tests.orders.conftest import ADDRESS

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(count: int, work: Callable[[int], object]) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results, errors = [], []
    lock = threading.Lock()

    def target(index: int) -> None:
        try:
            barrier.wait()
            outcome = work(index)
            with lock:
                results.append(outcome)
        except Exception as exc:  # collected; the test asserts on them
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_same_external_id_delivered_concurrently_creates_one_order(
    shop, make_variant, receive, warehouse
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 50)

    def deliver(_):
        return order_place(
            channel=shop,
            lines=[LineInput("TEE", 2)],
            shipping_address=ADDRESS,
            external_id="MKT-777",
        )

    results, errors = run_concurrently(6, deliver)
    assert errors == []
    assert Order.objects.count() == 1
    assert sum(1 for p in results if p.created) == 1
    assert {p.order.pk for p in results} == {Order.objects.get().pk}
    assert Stock.objects.get(variant=tee, location=warehouse).reserved == 2
    assert Reservation.objects.count() == 1


def test_same_idempotency_key_sent_concurrently_creates_one_order(
    shop, make_variant, receive, warehouse
):
    tee = make_variant("TEE")
    receive(tee, warehouse, 50)

    def send(_):
        return order_place(
            channel=shop,
            lines=[LineInput("TEE", 1)],
            shipping_address=ADDRESS,
            payment=PaymentInput(status="paid"),
            idempotency_key="checkout-42",
        )

    results, errors = run_concurrently(6, send)
    assert errors == []
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert {p.order.pk for p in results} == {Order.objects.get().pk}
    assert Stock.objects.get(variant=tee, location=warehouse).reserved == 1


def test_concurrent_checkouts_of_the_last_units_never_oversell(
    shop, make_variant, receive, warehouse, store
):
    tee, cap = make_variant("TEE"), make_variant("CAP")
    receive(tee, warehouse, 3)
    receive(tee, store, 2)
    receive(cap, store, 20)

    def buy(index):
        # Lines in opposite orders so lock ordering, not luck, prevents deadlocks.
        lines = [LineInput("TEE", 1), LineInput("CAP", 1)]
        return order_place(
            channel=shop,
            lines=lines if index % 2 else lines[::-1],
            shipping_address=ADDRESS,
        )

    results, errors = run_concurrently(10, buy)
    assert len(results) == 5, errors
    assert all(isinstance(e, DomainError) and e.code == "insufficient_stock" for e in errors), (
        errors
    )
    assert sum(Stock.objects.filter(variant=tee).values_list("reserved", flat=True)) == 5
    assert Stock.objects.get(variant=cap, location=store).reserved == 5
    assert all(s.reserved <= s.on_hand for s in Stock.objects.all())
    assert ledger_drift() == []


def test_concurrent_cancels_release_once(shop, make_variant, receive, warehouse):
    tee = make_variant("TEE")
    receive(tee, warehouse, 5)
    order = order_place(channel=shop, lines=[LineInput("TEE", 3)], shipping_address=ADDRESS).order

    results, errors = run_concurrently(4, lambda _: order_cancel(order=order))
    assert len(results) == 1
    assert all(getattr(e, "code", "") == "illegal_transition" for e in errors)
    assert Stock.objects.get(variant=tee, location=warehouse).reserved == 0
    assert ledger_drift() == []
