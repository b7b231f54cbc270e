"""The inventory demo: locations, assignments and opening stock, idempotent, reconciling."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import BaseCommand

from inventory import demo
from inventory.models import ChannelLocation, Stock, StockLocation, StockMovement, Transfer
from inventory.selectors import incoming_drift, ledger_drift
from tests.catalog.factories import VariantFactory
from tests.omni.factories import ChannelFactory


def run_demo() -> str:
    command = BaseCommand(stdout=StringIO())
    demo.load(command)
    return command.stdout.getvalue()


@pytest.mark.django_db
def test_demo_stocks_every_variant_and_is_idempotent():
    for code in ["store-downtown", "store-riverside", "web", "marketplace"]:
        ChannelFactory(code=code)
    variants = [VariantFactory() for _ in range(30)]
    output = run_demo()
    assert "stock rows created: 120" in output
    assert set(StockLocation.objects.values_list("code", flat=True)) == {
        "store-downtown", "store-riverside", "wh-central", "wh-east"
    }  # fmt: skip
    assert all(
        loc.latitude is not None and loc.longitude is not None
        for loc in StockLocation.objects.all()
    )
    downtown = ChannelLocation.objects.filter(channel__code="store-downtown").order_by("priority")
    assert [cl.location.code for cl in downtown] == ["store-downtown", "wh-central", "wh-east"]
    assert Stock.objects.filter(variant__in=variants).count() == 120
    assert Stock.objects.filter(reorder_point__gt=0).count() == 120
    assert Transfer.objects.filter(reference="DEMO-TR-1").count() == 1
    counts = (Stock.objects.count(), StockMovement.objects.count(), ChannelLocation.objects.count())
    run_demo()
    assert (
        Stock.objects.count(),
        StockMovement.objects.count(),
        ChannelLocation.objects.count(),
    ) == counts
    assert ledger_drift() == []
    assert incoming_drift() == []
    call_command("inventory_reconcile", stdout=StringIO())


@pytest.mark.django_db
def test_demo_without_variants_creates_locations_only():
    output = run_demo()
    assert "no variants yet" in output
    assert StockLocation.objects.count() == 4
    assert not Stock.objects.exists()
