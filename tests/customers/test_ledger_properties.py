"""Property: whatever the sequence of earns, redemptions, reversals, adjustments and expiries,
the balance is the ledger's sum and never negative, and retries write nothing twice."""

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.errors import InsufficientPoints
from customers.models import Customer, LoyaltyEntry
from customers.selectors import loyalty_balance
from customers.services import (
    loyalty_adjust,
    loyalty_earn,
    loyalty_expire,
    loyalty_redeem,
    loyalty_reverse,
)

pytestmark = pytest.mark.django_db

operations = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(min_value=0, max_value=300)),
        st.tuples(st.just("redeem"), st.integers(min_value=1, max_value=400)),
        st.tuples(st.just("reverse"), st.integers(min_value=0, max_value=10)),
        st.tuples(st.just("adjust"), st.integers(min_value=-200, max_value=200).filter(bool)),
        st.tuples(st.just("age"), st.integers(min_value=0, max_value=10)),
        st.tuples(st.just("expire"), st.just(0)),
        st.tuples(st.just("retry"), st.integers(min_value=0, max_value=10)),
    ),
    min_size=1,
    max_size=25,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=operations)
def test_balance_is_the_ledger_sum_and_never_negative(ops, channel):
    customer = Customer.objects.create(first_name="Prop")
    run = uuid.uuid4().hex[:8]
    done: list[tuple[str, tuple]] = []  # (kind, args) of successful calls, to retry
    for index, (op, value) in enumerate(ops):
        key = f"{run}-{index}"
        try:
            if op == "earn":
                loyalty_earn(
                    customer=customer,
                    channel=channel,
                    amount=Decimal(value),
                    idempotency_key=key,
                    reference=key,
                )
                done.append(("earn", (key, value)))
            elif op == "redeem":
                loyalty_redeem(customer=customer, points=value, idempotency_key=key, reference=key)
                done.append(("redeem", (key, value)))
            elif op == "reverse" and done:
                _, (original, _) = done[value % len(done)]
                loyalty_reverse(
                    idempotency_key=key, reference=key, original_idempotency_key=original
                )
            elif op == "adjust":
                loyalty_adjust(customer=customer, points=value, idempotency_key=key, note="p")
            elif op == "age":
                earns = LoyaltyEntry.objects.filter(customer=customer, points__gt=0)
                target = earns.order_by("pk")[value : value + 1].first()
                if target is not None:
                    LoyaltyEntry.objects.filter(pk=target.pk).update(
                        expires_at=timezone.now() - timedelta(seconds=1)
                    )
            elif op == "expire":
                loyalty_expire()
            elif op == "retry" and done:
                kind, (original, amount) = done[value % len(done)]
                before = LoyaltyEntry.objects.count()
                if kind == "earn":
                    loyalty_earn(
                        customer=customer,
                        channel=channel,
                        amount=Decimal(amount),
                        idempotency_key=original,
                        reference=original,
                    )
                else:
                    loyalty_redeem(
                        customer=customer,
                        points=amount,
                        idempotency_key=original,
                        reference=original,
                    )
                assert LoyaltyEntry.objects.count() == before
        except InsufficientPoints:
            pass
        ledger = LoyaltyEntry.objects.filter(customer=customer).aggregate(s=Sum("points"))["s"]
        assert loyalty_balance(customer=customer) == (ledger or 0)
        assert loyalty_balance(customer=customer) >= 0
