"""The demo loader places orders through the real services and is idempotent."""

import io

import pytest
from django.core.management.base import BaseCommand

from inventory.selectors import ledger_drift
from orders import demo
from orders.models import Order

pytestmark = pytest.mark.django_db


def test_demo_orders_load_once_and_reconcile(
    shop, make_variant, receive, warehouse, store, monkeypatch
):
    monkeypatch.setattr(demo, "ORDERS", 40)
    for i in range(6):
        variant = make_variant(f"DEMO-{i}")
        receive(variant, warehouse, 30)
        receive(variant, store, 10)
    command = BaseCommand(stdout=io.StringIO())
    demo.load(command)
    placed = Order.objects.count()
    assert placed >= 30
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"cancelled", "fulfilled"} <= statuses or {"cancelled", "completed"} <= statuses
    assert Order.objects.filter(fulfilment_method="pickup").exists()
    demo.load(command)
    assert Order.objects.count() == placed
    assert ledger_drift() == []
