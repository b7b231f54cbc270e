"""Concurrency on PostgreSQL: feeds racing on the same SKUs, parallel push sweeps."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from inventory.models import Stock, StockMovement
from omni.sync.models import OutboundMessage
from omni.sync.services.availability import availability_changes_record, availability_push_due
from omni.sync.services.feeds import feed_pull
from tests.catalog.factories import VariantFactory
from tests.omni.factories import ChannelFactory
from tests.sync.factories import ConnectorSettingsFactory, StockLocationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_in_threads(*targets):
    errors = []
    barrier = threading.Barrier(len(targets))

    def wrap(target):
        try:
            barrier.wait()
            target()
        except Exception as exc:  # surfaced below: a thread's failure fails the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def test_racing_feeds_leave_the_newest_count_and_a_balanced_ledger(tmp_path, monkeypatch):
    monkeypatch.setenv("OMNI_TEST_SYNC_SECRET", "x")
    channel = ChannelFactory(code="race")
    ConnectorSettingsFactory(channel=channel, stock_location="race-wh")
    StockLocationFactory(code="race-wh")
    variants = [VariantFactory(sku=f"R-{n}") for n in range(30)]
    now = timezone.now()
    paths = []
    for index, (quantity, minutes) in enumerate([(5, 10), (9, 5), (2, 20)]):
        as_of = (now - timedelta(minutes=minutes)).isoformat()
        path = tmp_path / f"feed-{index}.csv"
        rows = "".join(f"{v.sku},{quantity},{as_of}\n" for v in variants)
        path.write_text("sku,quantity,as_of\n" + rows)
        paths.append(str(path))

    run_in_threads(
        *[
            (lambda p=p: feed_pull(channel=channel, kinds=["stock"], source=p, batch_size=7))
            for p in paths
        ]
    )

    # The feed counted 5 minutes ago wins, whatever order the threads committed in.
    assert set(Stock.objects.values_list("on_hand", flat=True)) == {9}
    for stock in Stock.objects.all():
        assert StockMovement.objects.filter(stock=stock).aggregate(s=Sum("quantity"))["s"] == 9


def test_parallel_push_sweeps_push_each_change_once(monkeypatch):
    monkeypatch.setenv("OMNI_TEST_SYNC_SECRET", "x")
    channel = ChannelFactory(code="sweep")
    ConnectorSettingsFactory(channel=channel)
    variants = [VariantFactory(sku=f"S-{n}") for n in range(50)]
    start = timezone.now() - timedelta(minutes=5)
    availability_changes_record(
        latest={(v.pk, channel.pk): n + 1 for n, v in enumerate(variants)}, now=start
    )

    run_in_threads(*[(lambda: availability_push_due(limit=10)) for _ in range(4)])
    availability_push_due()

    items = [i for m in OutboundMessage.objects.all() for i in m.payload["items"]]
    assert sorted(i["sku"] for i in items) == sorted(v.sku for v in variants)
