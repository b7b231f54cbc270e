"""Demo data loads, is consistent with the services and is idempotent."""

import io

import pytest
from django.core.management.base import BaseCommand

from customers import demo
from customers.models import Customer, Identity, LoyaltyEntry, SpendRecord
from customers.selectors import duplicate_candidates, loyalty_balances
from omni.models import Channel

pytestmark = pytest.mark.django_db


def test_demo_loads_once_and_twice_changes_nothing(monkeypatch, make_channel):
    monkeypatch.setattr(demo, "CUSTOMERS", 60)
    monkeypatch.setattr(demo, "DUPLICATES", 4)
    for code, kind in [("web", "web"), ("app", "app"), ("store-a", "store")]:
        make_channel(code, kind=kind)
    command = BaseCommand(stdout=io.StringIO())
    demo.load(command)
    counts = (
        Customer.objects.count(),
        Identity.objects.count(),
        LoyaltyEntry.objects.count(),
        SpendRecord.objects.count(),
    )
    assert counts[0] == 64
    assert Identity.objects.filter(kind="account").values("customer").distinct().count() > 5
    assert all(
        balance >= 0
        for balance in loyalty_balances(
            customer_ids=list(Customer.objects.values_list("pk", flat=True))
        ).values()
    )
    assert sum(g["reason"] == "email_variant" for g in duplicate_candidates()) == 4
    demo.load(command)
    assert counts == (
        Customer.objects.count(),
        Identity.objects.count(),
        LoyaltyEntry.objects.count(),
        SpendRecord.objects.count(),
    )
    assert Channel.objects.count() == 3
