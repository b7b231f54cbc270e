"""Stock feeds: mixed good and bad rows, reruns, older feeds, resuming after a crash."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from inventory.models import MovementReason, Stock, StockMovement
from omni.sync.errors import ConnectorError
from omni.sync.models import RunStatus, StockDrift, SyncRejection, SyncRun
from omni.sync.services import feeds
from omni.sync.services.feeds import feed_pull

pytestmark = pytest.mark.django_db


def iso(dt) -> str:
    return dt.isoformat()


@pytest.fixture
def t0():
    return timezone.now() - timedelta(hours=1)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def on_hand(variant, location) -> int:
    return Stock.objects.get(variant=variant, location=location).on_hand


def ledger(variant, location) -> int:
    return (
        StockMovement.objects.filter(stock__variant=variant, stock__location=location).aggregate(
            s=Sum("quantity")
        )["s"]
        or 0
    )


def test_mixed_feed_applies_good_rows_and_rejects_each_bad_one_with_line_and_reason(
    tmp_path, market, connector, warehouse, skus, t0
):
    path = write(
        tmp_path,
        "stock.csv",
        "sku,location,quantity,as_of\n"
        f"A-1,wh,5,{iso(t0)}\n"
        f"NOPE,wh,5,{iso(t0)}\n"
        f"B-2,wh,-3,{iso(t0)}\n"
        f"C-3,wh,7\n"
        f"C-3,nowhere,7,{iso(t0)}\n"
        f"B-2,wh,abc,{iso(t0)}\n"
        f"C-3,wh,4,yesterday\n"
        f"B-2,wh,9,{iso(t0)}\n",
    )

    run = feed_pull(channel=market, kinds=["stock"], source=path)

    assert run.status == RunStatus.PARTIAL
    assert (run.rows_read, run.rows_applied, run.rows_unchanged, run.rows_rejected) == (8, 2, 0, 6)
    rejections = {r.line: (r.code, r.raw) for r in SyncRejection.objects.filter(run=run)}
    assert rejections[3] == ("unknown_sku", f"NOPE,wh,5,{iso(t0)}")
    assert rejections[4][0] == "negative_quantity"
    assert rejections[5][0] == "malformed_row"
    assert rejections[6][0] == "unknown_location"
    assert rejections[7][0] == "invalid_quantity"
    assert rejections[8][0] == "invalid_time"
    assert on_hand(skus["A-1"], warehouse) == 5
    assert on_hand(skus["B-2"], warehouse) == 9
    assert not Stock.objects.filter(variant=skus["C-3"]).exists()
    assert ledger(skus["A-1"], warehouse) == 5
    drifts = {d.sku: d.drift for d in StockDrift.objects.filter(run=run)}
    assert drifts == {"A-1": 5, "B-2": 9}


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_row_with_a_nul_character_is_rejected_and_the_rest_applied(
    tmp_path, market, connector, warehouse, skus, t0, fmt
):
    if fmt == "csv":
        text = (
            "sku,location,quantity,as_of\n"
            f"A-1,wh,5,{iso(t0)}\n"
            f"B-\x002,wh,3,{iso(t0)}\n"
            f"C-3,wh\x00,4\n"
            f"C-3,wh,4,{iso(t0)}\n"
        )
    else:
        text = (
            f'{{"sku": "A-1", "location": "wh", "quantity": 5, "as_of": "{iso(t0)}"}}\n'
            f'{{"sku": "B-\\u00002", "location": "wh", "quantity": 3, "as_of": "{iso(t0)}"}}\n'
            f'{{"sku": "B-2\x00", "location": "wh", "quantity": 3, "as_of": "{iso(t0)}"}}\n'
            f'{{"sku": "C-3", "location": "wh", "quantity": 4, "as_of": "{iso(t0)}"}}\n'
        )
    path = write(tmp_path, f"stock.{fmt}", text)

    run = feed_pull(channel=market, kinds=["stock"], source=path)

    rejected = {r.line: (r.code, r.raw) for r in SyncRejection.objects.filter(run=run)}
    first_line = 2 if fmt == "csv" else 1
    assert set(rejected) == {first_line + 1, first_line + 2}
    assert {code for code, _ in rejected.values()} == {"malformed_row"}
    assert all("\x00" not in raw for _, raw in rejected.values())
    assert on_hand(skus["A-1"], warehouse) == 5
    assert on_hand(skus["C-3"], warehouse) == 4
    assert not Stock.objects.filter(variant=skus["B-2"]).exists()


def test_rerunning_the_same_feed_changes_nothing(tmp_path, market, connector, warehouse, skus, t0):
    path = write(tmp_path, "stock.csv", f"sku,quantity,as_of\nA-1,5,{iso(t0)}\nB-2,3,{iso(t0)}\n")
    first = feed_pull(channel=market, kinds=["stock"], source=path)
    movements = StockMovement.objects.count()

    second = feed_pull(channel=market, kinds=["stock"], source=path)

    assert first.rows_applied == 2
    assert (second.rows_applied, second.rows_unchanged, second.rows_rejected) == (0, 2, 0)
    assert StockMovement.objects.count() == movements
    assert on_hand(skus["A-1"], warehouse) == 5


def test_an_older_stock_feed_does_not_overwrite_a_newer_one(
    tmp_path, market, connector, warehouse, skus, t0
):
    newer = write(tmp_path, "new.csv", f"sku,quantity,as_of\nA-1,8,{iso(t0)}\n")
    older = write(
        tmp_path, "old.csv", f"sku,quantity,as_of\nA-1,2,{iso(t0 - timedelta(minutes=30))}\n"
    )
    feed_pull(channel=market, kinds=["stock"], source=newer)

    late = feed_pull(channel=market, kinds=["stock"], source=older)

    assert (late.rows_applied, late.rows_unchanged) == (0, 1)
    assert on_hand(skus["A-1"], warehouse) == 8


def test_count_adds_back_movements_booked_after_its_time(
    tmp_path, market, connector, warehouse, skus, t0
):
    stock = Stock.objects.create(variant=skus["A-1"], location=warehouse, on_hand=10, reserved=2)
    receipt = StockMovement.objects.create(stock=stock, reason=MovementReason.RECEIPT, quantity=12)
    StockMovement.objects.filter(pk=receipt.pk).update(created_at=t0 - timedelta(hours=1))
    # Sold after the count was taken: the count cannot know about it.
    StockMovement.objects.create(stock=stock, reason=MovementReason.SALE, quantity=-2)
    path = write(tmp_path, "stock.csv", f"sku,quantity,as_of\nA-1,9,{iso(t0)}\n")

    run = feed_pull(channel=market, kinds=["stock"], source=path)

    stock.refresh_from_db()
    assert stock.on_hand == 7  # 9 counted, 2 sold since
    assert stock.reserved == 2  # reservations are not counted again
    assert ledger(skus["A-1"], warehouse) == 7
    correction = StockMovement.objects.get(stock=stock, reason=MovementReason.COUNT_CORRECTION)
    assert correction.quantity == -3
    drift = StockDrift.objects.get(run=run)
    assert (drift.counted, drift.expected, drift.drift) == (9, 12, -3)


def test_a_later_snapshot_ignores_earlier_snapshot_corrections(
    tmp_path, market, connector, warehouse, skus, t0
):
    first = write(tmp_path, "a.csv", f"sku,quantity,as_of\nA-1,5,{iso(t0)}\n")
    feed_pull(channel=market, kinds=["stock"], source=first)
    second = write(
        tmp_path, "b.csv", f"sku,quantity,as_of\nA-1,6,{iso(t0 + timedelta(minutes=10))}\n"
    )

    feed_pull(channel=market, kinds=["stock"], source=second)

    assert on_hand(skus["A-1"], warehouse) == 6
    assert ledger(skus["A-1"], warehouse) == 6


def test_count_below_reserved_floors_at_reserved_and_flags_a_count(
    tmp_path, market, connector, warehouse, skus, t0
):
    stock = Stock.objects.create(variant=skus["A-1"], location=warehouse, on_hand=5, reserved=4)
    StockMovement.objects.filter(
        pk=StockMovement.objects.create(stock=stock, reason=MovementReason.RECEIPT, quantity=5).pk
    ).update(created_at=t0 - timedelta(hours=1))
    path = write(tmp_path, "stock.csv", f"sku,quantity,as_of\nA-1,1,{iso(t0)}\n")

    run = feed_pull(channel=market, kinds=["stock"], source=path)

    stock.refresh_from_db()
    assert (stock.on_hand, stock.needs_count) == (4, True)
    assert ledger(skus["A-1"], warehouse) == 4
    assert StockDrift.objects.get(run=run).drift == -4


def test_json_lines_feed_with_as_of_given_for_the_whole_run(
    tmp_path, market, connector, warehouse, skus, t0
):
    path = write(
        tmp_path,
        "stock.jsonl",
        '{"sku": "A-1", "quantity": 3}\n\nnot json\n[1]\n{"sku": "B-2", "quantity": 4}\n',
    )

    run = feed_pull(channel=market, kinds=["stock"], source=path, as_of=t0)

    assert (run.rows_applied, run.rows_rejected) == (2, 2)
    assert set(SyncRejection.objects.filter(run=run).values_list("line", flat=True)) == {3, 4}
    assert on_hand(skus["B-2"], warehouse) == 4


def test_feed_read_from_an_http_url(market, connector, warehouse, skus, t0, receiver):
    receiver.body_to_serve = f"sku,quantity,as_of\nA-1,11,{iso(t0)}\n".encode()

    run = feed_pull(channel=market, kinds=["stock"], source=f"{receiver.url}/stock.csv?token=x")

    assert run.rows_applied == 1
    assert run.source.endswith("/stock.csv")  # the query string (tokens) is not stored
    assert on_hand(skus["A-1"], warehouse) == 11


def test_missing_feed_file_fails_the_run_with_a_reason(market, connector):
    run = feed_pull(channel=market, kinds=["stock"], source="/nonexistent/stock.csv")

    assert run.status == RunStatus.FAILED
    assert "does not exist" in run.error


def test_unsupported_pull_kind_is_refused(market, connector):
    with pytest.raises(ConnectorError) as exc:
        feed_pull(channel=market, kinds=["customers"], source="x.csv")
    assert exc.value.code == "pull_unsupported"


class WorkerKilled(BaseException):
    """Stands in for the worker process dying: nothing in the service may catch it."""


def test_redelivered_run_resumes_after_the_last_committed_batch(
    tmp_path, market, connector, warehouse, skus, t0, monkeypatch
):
    rows = "".join(f"{sku},{n},{iso(t0)}\n" for n, sku in enumerate(["A-1", "B-2", "C-3"], 1))
    path = write(tmp_path, "stock.csv", "sku,quantity,as_of\n" + rows)
    real = feeds._process_batch
    calls = {"n": 0}

    def dying(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return real(**kwargs)

    monkeypatch.setattr(feeds, "_process_batch", dying)
    with pytest.raises(WorkerKilled):
        feed_pull(channel=market, kinds=["stock"], source=path, run_key="task-1", batch_size=1)
    run = SyncRun.objects.get(run_key="task-1")
    assert (run.status, run.lines_done, run.rows_applied) == (RunStatus.RUNNING, 2, 1)

    monkeypatch.setattr(feeds, "_process_batch", real)
    resumed = feed_pull(
        channel=market, kinds=["stock"], source=path, run_key="task-1", batch_size=1
    )

    assert resumed.pk == run.pk
    assert (resumed.status, resumed.rows_read, resumed.rows_applied) == ("succeeded", 3, 3)
    assert StockMovement.objects.filter(reason=MovementReason.COUNT_CORRECTION).count() == 3
    again = feed_pull(channel=market, kinds=["stock"], source=path, run_key="task-1")
    assert again.rows_applied == 3  # a finished run is returned, not re-run


def test_batch_query_count_does_not_grow_with_rows(
    tmp_path, market, connector, warehouse, t0, django_assert_max_num_queries
):
    from tests.catalog.factories import VariantFactory

    variants = [VariantFactory(sku=f"Q-{n}") for n in range(40)]

    def feed(name, chosen, quantity):
        text = "".join(f"{v.sku},{quantity},{iso(t0)}\n" for v in chosen)
        return write(tmp_path, name, "sku,quantity,as_of\n" + text)

    small, large = feed("s.csv", variants[:2], 3), feed("l.csv", variants[2:], 3)
    with django_assert_max_num_queries(30) as few:
        feed_pull(channel=market, kinds=["stock"], source=small)
    with django_assert_max_num_queries(30) as many:
        feed_pull(channel=market, kinds=["stock"], source=large)
    assert len(many.captured_queries) == len(few.captured_queries)
