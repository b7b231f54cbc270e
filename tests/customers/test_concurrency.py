"""Concurrency on PostgreSQL: one profile per email, balances never negative."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from customers.errors import InsufficientPoints
from customers.models import Customer, Identity, LoyaltyEntry
from customers.selectors import loyalty_balance
from customers.services import customer_merge, customer_resolve, loyalty_earn, loyalty_redeem
from omni.models import Channel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(functions):
    """Start every function at once (barrier) on its own thread and connection."""
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), [None] * len(functions)

    def runner(index, function):
        try:
            barrier.wait()
            results[index] = function()
        except Exception as exc:  # collected and asserted by the test
            errors[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results, errors


def test_same_email_from_two_channels_at_once_yields_one_profile():
    web = Channel.objects.create(code="web", name="Web", kind="web", currency="USD")
    store = Channel.objects.create(code="store", name="Store", kind="store", currency="USD")
    for round_ in range(5):
        email = f"ada{round_}@example.com"
        results, errors = run_together(
            [
                lambda c=c, email=email: customer_resolve(channel=c, email=email.upper())
                for c in (web, store, web, store)
            ]
        )
        assert errors == [None] * 4
        assert len({customer.pk for customer in results}) == 1
        assert Identity.objects.filter(kind="email", value=email).count() == 1
    assert Customer.objects.count() == 5


def test_concurrent_redemptions_never_take_the_balance_negative():
    channel = Channel.objects.create(code="web", name="Web", kind="web", currency="USD")
    customer = Customer.objects.create(first_name="Ada")
    loyalty_earn(
        customer=customer,
        channel=channel,
        amount=Decimal("100"),
        idempotency_key="earn",
        reference="W-1",
    )
    results, errors = run_together(
        [
            lambda i=i: loyalty_redeem(
                customer=customer, points=30, idempotency_key=f"r-{i}", reference=f"W-{i}"
            )
            for i in range(6)
        ]
    )
    succeeded = [r for r in results if r is not None]
    assert len(succeeded) == 3
    assert all(isinstance(e, InsufficientPoints) for e in errors if e is not None)
    assert sum(e is not None for e in errors) == 3
    assert loyalty_balance(customer=customer) == 10
    assert LoyaltyEntry.objects.filter(kind="redeem").count() == 3


def test_retried_redemption_racing_itself_is_written_once():
    channel = Channel.objects.create(code="web", name="Web", kind="web", currency="USD")
    customer = Customer.objects.create(first_name="Ada")
    loyalty_earn(
        customer=customer,
        channel=channel,
        amount=Decimal("100"),
        idempotency_key="earn",
        reference="W-1",
    )
    results, errors = run_together(
        [
            lambda: loyalty_redeem(
                customer=customer, points=60, idempotency_key="same", reference="W-2"
            )
            for _ in range(4)
        ]
    )
    assert errors == [None] * 4
    assert len({entry.pk for entry in results}) == 1
    assert loyalty_balance(customer=customer) == 40


def test_a_sync_retried_concurrently_earns_once():
    channel = Channel.objects.create(code="web", name="Web", kind="web", currency="USD")
    customer = Customer.objects.create(first_name="Ada")
    results, errors = run_together(
        [
            lambda: loyalty_earn(
                customer=customer,
                channel=channel,
                amount=Decimal("80"),
                idempotency_key="order-W-1-completed",
                reference="W-1",
            )
            for _ in range(4)
        ]
    )
    assert errors == [None] * 4
    assert len({entry.pk for entry in results}) == 1
    assert loyalty_balance(customer=customer) == 80


def test_merge_racing_redemptions_keeps_the_ledger_whole(monkeypatch):
    # the after-commit sweep would go to the real broker here; it is tested on its own
    monkeypatch.setattr("customers.services.merge._schedule_sweep", lambda record_id: None)
    channel = Channel.objects.create(code="web", name="Web", kind="web", currency="USD")
    survivor = Customer.objects.create(first_name="Ada")
    merged = Customer.objects.create(first_name="Ada L")
    for customer, key in [(survivor, "e-1"), (merged, "e-2")]:
        loyalty_earn(
            customer=customer,
            channel=channel,
            amount=Decimal("50"),
            idempotency_key=key,
            reference=key,
        )
    _, errors = run_together(
        [
            lambda: customer_merge(survivor=survivor, merged=merged),
            lambda: loyalty_redeem(
                customer=merged, points=40, idempotency_key="r-1", reference="W-2"
            ),
            lambda: loyalty_redeem(
                customer=survivor, points=40, idempotency_key="r-2", reference="W-3"
            ),
        ]
    )
    assert errors == [None] * 3
    assert loyalty_balance(customer=survivor) == 20
    assert LoyaltyEntry.objects.filter(customer=merged).count() == 0
