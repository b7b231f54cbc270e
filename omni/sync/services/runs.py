"""Sync run bookkeeping: start or resume a run, record each batch, finish it."""

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from django.db.models import F
from django.utils import timezone

from omni.models import Channel
from omni.sync.models import RunStatus, StockDrift, SyncRejection, SyncRun
from omni.sync.services.bulk import insert_rows

RAW_LIMIT = 2000


@dataclass(frozen=True)
class Rejection:
    line: int
    raw: str
    code: str
    reason: str


@dataclass(frozen=True)
class Drift:
    sku: str
    location: str
    counted: int
    expected: int
    drift: int


@dataclass
class BatchOutcome:
    read: int = 0
    applied: int = 0
    unchanged: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    drifts: list[Drift] = field(default_factory=list)


def redact_source(source: str) -> str:
    """A source as it may be shown and stored: no user:password, no query string (tokens
    travel there)."""
    if "://" not in source:
        return source[:500]
    parts = urlsplit(source)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))[:500]


def run_start(
    *, channel: Channel, kind: str, direction: str, source: str = "", run_key: str | None = None
) -> tuple[SyncRun, bool]:
    """Open a run, or return the run already opened under `run_key` (a redelivered task).
    Returns (run, resumed)."""
    if run_key:
        run, created = SyncRun.objects.get_or_create(
            run_key=run_key,
            defaults={
                "channel": channel,
                "kind": kind,
                "direction": direction,
                "source": redact_source(source),
            },
        )
        return run, not created
    run = SyncRun.objects.create(
        channel=channel, kind=kind, direction=direction, source=redact_source(source)
    )
    return run, False


def run_record_batch(*, run: SyncRun, outcome: BatchOutcome, last_line: int) -> None:
    """Write a batch's rejected rows and drifts and advance the run's counters and resume
    point. Call inside the transaction that applied the batch, so progress and effect commit
    together."""
    insert_rows(
        SyncRejection,
        ["run", "line", "raw", "code", "reason"],
        [(run.pk, r.line, r.raw[:RAW_LIMIT], r.code, r.reason[:500]) for r in outcome.rejections],
    )
    insert_rows(
        StockDrift,
        ["run", "sku", "location", "counted", "expected", "drift"],
        [(run.pk, d.sku, d.location, d.counted, d.expected, d.drift) for d in outcome.drifts],
    )
    run_record_progress(
        run=run,
        read=outcome.read,
        applied=outcome.applied,
        unchanged=outcome.unchanged,
        rejected=len(outcome.rejections),
        last_line=last_line,
    )


def run_record_progress(
    *, run: SyncRun, read: int, applied: int, unchanged: int, rejected: int, last_line: int
) -> None:
    """Advance the run's counters and resume point (the rejected rows and drifts themselves
    already written by the caller, in the same transaction)."""
    SyncRun.objects.filter(pk=run.pk).update(
        rows_read=F("rows_read") + read,
        rows_applied=F("rows_applied") + applied,
        rows_unchanged=F("rows_unchanged") + unchanged,
        rows_rejected=F("rows_rejected") + rejected,
        lines_done=last_line,
    )


def run_finish(*, run: SyncRun, error: str = "") -> SyncRun:
    run.refresh_from_db()
    if error:
        run.status = RunStatus.FAILED
        run.error = error[:2000]
    else:
        run.status = RunStatus.PARTIAL if run.rows_rejected else RunStatus.SUCCEEDED
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    return run
