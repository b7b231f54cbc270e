"""A Celery worker killed with SIGKILL in the middle of a feed import, then restarted: the
unacknowledged task (acks_late) is redelivered after the broker's visibility timeout, resumes
its run after the last committed batch, and the end state equals that of an uninterrupted run
of the same feed on a fresh copy of the data."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Category, Listing, Product, Variant
from inventory.models import Stock, StockLocation, StockMovement
from inventory.services import StockLine, stock_receive
from omni.models import Channel
from omni.sync.models import ConnectorSettings, StockDrift, StockSnapshotMark, SyncRun
from omni.sync.services.feeds import feed_pull
from tests.faults.conftest import Processes, send_task, service_env, start_worker, wait_for

pytestmark = [
    pytest.mark.broker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

SKUS = 500
CYCLES = 24  # rows = SKUS * CYCLES = 12,000: six chunks of 2,000
# The chunk size the worker is given (SYNC_FEED_CHUNK_ROWS) and the reference run uses: the
# default chunk would hold the whole feed, leaving nothing to be killed in the middle of.
CHUNK = 2000


def make_copy(prefix: str) -> Channel:
    """A channel with a file-feed connector, a warehouse and SKUS variants with some stock."""
    channel = Channel.objects.create(
        code=f"feed-{prefix}", name=f"Feed {prefix}", kind="marketplace", currency="USD"
    )
    ConnectorSettings.objects.create(
        channel=channel, kind="file_feed", pull_kinds=["stock", "prices"], push_kinds=[]
    )
    location = StockLocation.objects.create(code=f"wh-{prefix}", name=prefix, kind="warehouse")
    category = Category.objects.create(name=prefix, slug=f"fault-{prefix}", path=f"fault-{prefix}/")
    product = Product.objects.create(name=prefix, slug=f"fault-{prefix}", category=category)
    variants = Variant.objects.bulk_create(
        Variant(product=product, sku=f"{prefix}-{n:04d}", name=f"{prefix}-{n:04d}")
        for n in range(SKUS)
    )
    stock_receive(
        location_id=location.pk,
        lines=[StockLine(variant_id=v.pk, quantity=5) for v in variants[::3]],
        reference="PO-fault",
    )
    return channel


def write_feed(path, prefix: str, start) -> None:
    """Every SKU counted and priced CYCLES times, each cycle a second later: every batch
    changes stock, prices and marks, so a batch applied twice or skipped would show."""
    lines = ["sku,location,quantity,as_of,price"]
    for cycle in range(CYCLES):
        as_of = (start + timedelta(seconds=cycle)).isoformat()
        for n in range(SKUS):
            quantity = (n * 7 + cycle * 13) % 50
            price = Decimal(10 + (n + cycle) % 20) + Decimal(cycle) / 100
            lines.append(f"{prefix}-{n:04d},wh-{prefix},{quantity},{as_of},{price}")
    path.write_text("\n".join(lines) + "\n")


def end_state(channel: Channel, prefix: str) -> dict:
    """Everything the feed touched, with the copy's prefix and ids taken out."""

    def sku(text: str) -> str:
        return text.removeprefix(f"{prefix}-")

    location = StockLocation.objects.get(code=f"wh-{prefix}")
    runs = list(SyncRun.objects.filter(channel=channel))
    assert len(runs) == 1, "a redelivered task must resume its run, not open another"
    run = runs[0]
    return {
        "stock": sorted(
            (sku(s.variant.sku), s.on_hand, s.reserved, s.needs_count)
            for s in Stock.objects.filter(location=location).select_related("variant")
        ),
        "ledger": Counter(
            (sku(m.stock.variant.sku), m.reason, m.quantity)
            for m in StockMovement.objects.filter(stock__location=location).select_related(
                "stock__variant"
            )
        ),
        "prices": sorted(
            (sku(row.variant.sku), row.price, row.compare_at_price, row.currency)
            for row in Listing.objects.filter(channel=channel).select_related("variant")
        ),
        "marks": sorted(
            (sku(m.variant.sku), m.as_of)
            for m in StockSnapshotMark.objects.filter(location_id=location.pk).select_related(
                "variant"
            )
        ),
        "drifts": Counter(
            (sku(d.sku), d.counted, d.expected, d.drift) for d in StockDrift.objects.filter(run=run)
        ),
        "run": (
            run.status,
            run.rows_read,
            run.rows_applied,
            run.rows_unchanged,
            run.rows_rejected,
            run.lines_done,
            run.error,
        ),
    }


def test_worker_killed_mid_feed_resumes_to_the_uninterrupted_end_state(
    tmp_path, procs, private_redis
):
    start = timezone.now() - timedelta(hours=1)
    killed, fresh = make_copy("k"), make_copy("u")
    write_feed(tmp_path / "k.csv", "k", start)
    write_feed(tmp_path / "u.csv", "u", start)
    total_lines = 1 + SKUS * CYCLES

    # The reference: the same feed, uninterrupted, on the fresh copy.
    reference = feed_pull(
        channel=fresh, kinds=["stock", "prices"], source=str(tmp_path / "u.csv"), batch_size=CHUNK
    )
    assert reference.lines_done == total_lines

    redis = private_redis
    env = service_env(
        broker_url=redis.url,
        CELERY_VISIBILITY_TIMEOUT=3,
        DB_CONN_MAX_AGE=0,
        SYNC_FEED_CHUNK_ROWS=CHUNK,
    )
    worker = start_worker(procs, env, "feed-a")
    task_id = send_task(
        redis.url, "sync.feed_pull", args=[killed.pk, ["stock", "prices"], str(tmp_path / "k.csv")]
    )

    def mid_run():
        run = SyncRun.objects.filter(channel=killed).first()
        return run is not None and run.finished_at is None and run.lines_done > 0

    wait_for(mid_run, timeout=90, what="the first committed batch of the feed", every=0.02)
    Processes.kill(worker)  # SIGKILL: no warm shutdown, no ack, no requeue by the worker
    run = SyncRun.objects.get(channel=killed)
    assert run.finished_at is None
    assert 0 < run.lines_done < total_lines, "the worker must die with batches left to apply"
    assert run.lines_done % CHUNK == 1, "progress is recorded per committed chunk"
    assert run.run_key == f"pull:{task_id}"

    start_worker(procs, env, "feed-b")
    wait_for(
        lambda: SyncRun.objects.get(pk=run.pk).finished_at is not None,
        timeout=90,
        what="the redelivered feed task to finish",
    )
    assert end_state(killed, "k") == end_state(fresh, "u")
