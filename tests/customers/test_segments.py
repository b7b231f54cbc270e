"""RFM scores and named segments from recorded spend; the Celery tasks wrap the services."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import LoyaltyEntry
from customers.selectors import customer_pricing_profile, loyalty_balance
from customers.services import customer_record_purchase, loyalty_earn, segments_recompute
from customers.services.segments import quintile_scores, recency_score, segment_for
from customers.tasks import customer_segments_task, loyalty_expire_task
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def buy(customer, channel, amount, days_ago, ref):
    customer_record_purchase(
        customer=customer,
        channel=channel,
        amount=Decimal(amount),
        occurred_at=timezone.now() - timedelta(days=days_ago),
        reference=ref,
    )


def test_recency_and_quintile_scores():
    assert [recency_score(d) for d in (0, 30, 31, 120, 200, 400)] == [5, 5, 4, 3, 2, 1]
    scores = quintile_scores({i: i for i in range(10)})
    assert scores[0] == 1 and scores[9] == 5
    assert quintile_scores({1: 5, 2: 5}) == {1: 1, 2: 1}


@pytest.mark.parametrize(
    ("rfm", "first_days", "segment"),
    [
        ((5, 5, 5), 400, "champions"),
        ((5, 1, 1), 10, "new"),
        ((3, 3, 3), 400, "loyal"),
        ((4, 1, 1), 400, "promising"),
        ((2, 4, 4), 400, "at_risk"),
        ((2, 1, 1), 400, "needs_attention"),
        ((1, 4, 2), 400, "hibernating"),
        ((1, 1, 1), 400, "lost"),
    ],
)
def test_segment_rules(rfm, first_days, segment):
    assert segment_for(*rfm, first_purchase_days=first_days) == segment


def test_segments_recompute_names_segments_usable_by_promotions(channel):
    champion, newbie, lapsed, never = CustomerFactory.create_batch(4)
    for i in range(8):
        buy(champion, channel, "200", days_ago=5 + i * 40, ref=f"C-{i}")
    buy(newbie, channel, "20", days_ago=3, ref="N-1")
    buy(lapsed, channel, "30", days_ago=500, ref="L-1")
    sizes = segments_recompute()
    assert sizes["champions"] == 1 and sizes["new"] == 1 and sizes["lost"] == 1
    for customer, segment in [(champion, "champions"), (newbie, "new"), (lapsed, "lost")]:
        assert customer_pricing_profile(customer=customer).segments == frozenset({segment})
    never.refresh_from_db()
    assert never.segment == "" and never.rfm_recency is None


def test_nightly_tasks_expire_points_and_refresh_segments(customer, channel):
    entry = loyalty_earn(
        customer=customer, channel=channel, amount=Decimal("10"), idempotency_key="e", reference="W"
    )
    LoyaltyEntry.objects.filter(pk=entry.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert loyalty_expire_task.apply().get() == 10
    assert loyalty_balance(customer=customer) == 0
    result = customer_segments_task.apply().get()
    assert result["segments"]["new"] == 1
