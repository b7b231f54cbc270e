"""Nightly reconciliation: the channel's view of available-to-sell against Omni's."""

import pytest

from omni.sync.models import OutboundMessage, SyncMismatch
from omni.sync.services.reconcile import channel_reconcile
from tests.catalog.factories import ListingFactory

pytestmark = pytest.mark.django_db


def test_mismatches_are_listed_and_repaired_by_a_push_of_omnis_values(
    tmp_path, market, connector, skus, fake_availability
):
    for sku in ("A-1", "B-2", "C-3"):
        ListingFactory(variant=skus[sku], channel=market)
    fake_availability.values[(market.pk, skus["A-1"].pk)] = 4
    fake_availability.values[(market.pk, skus["B-2"].pk)] = 2
    fake_availability.values[(market.pk, skus["C-3"].pk)] = 6
    view = tmp_path / "view.csv"
    view.write_text("sku,available\nA-1,4\nB-2,5\nGHOST,1\nA-1,-1\n")
    connector.view_source = str(view)
    connector.save(update_fields=["view_source"])

    run = channel_reconcile(channel=market)

    found = {(m.sku, m.reason): (m.channel_value, m.omni_value) for m in SyncMismatch.objects.all()}
    assert found == {
        ("B-2", "differs"): (5, 2),
        ("GHOST", "unknown_sku"): (1, None),
        ("C-3", "missing_in_channel"): (None, 6),
    }
    assert (run.direction, run.rows_read, run.rows_rejected) == ("reconcile", 4, 1)
    assert run.rejections.get().code == "negative_quantity"
    assert OutboundMessage.objects.get().payload["items"] == [{"sku": "B-2", "available": 2}]


def test_reconcile_without_repair_only_reports(
    tmp_path, market, connector, skus, fake_availability
):
    ListingFactory(variant=skus["A-1"], channel=market)
    view = tmp_path / "view.jsonl"
    view.write_text('{"sku": "A-1", "available": 3}\n')
    connector.view_source = str(view)
    connector.save(update_fields=["view_source"])

    channel_reconcile(channel=market, repair=False)

    assert SyncMismatch.objects.get().reason == "differs"
    assert not OutboundMessage.objects.exists()
