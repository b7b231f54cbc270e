"""The connector interface: what a channel kind can pull and push, and how it reads and sends."""

from __future__ import annotations

import csv
import io
import json
from abc import ABC
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import requests

from omni.sync.errors import ConnectorError, FeedUnavailable, PushFailed

if TYPE_CHECKING:
    from omni.sync.models import ConnectorSettings, OutboundMessage


class FeedRow(NamedTuple):
    """One record of a feed: its line number, its raw text, and either a dict or why not.
    (A named tuple: feeds make hundreds of thousands of them, and it is the cheapest
    immutable record to build.)"""

    line: int
    raw: str
    data: dict[str, Any] | None
    error: str = ""


@dataclass(frozen=True)
class PushResult:
    ok: bool
    status_code: int | None
    error: str = ""


def _csv_raw(values: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(values)
    return buffer.getvalue()


def _raw_of(values: list[str], width: int) -> str:
    """The raw text of a row as `_csv_raw` writes it: plain fields (no delimiter, quote or
    line break in any of them, so none needs quoting) are simply joined, which is what the
    writer would produce; anything else goes through the writer."""
    joined = ",".join(values)
    if (
        not joined
        or joined.count(",") != width - 1
        or '"' in joined
        or "\n" in joined
        or "\r" in joined
    ):
        return _csv_raw(values)
    return joined


NUL_ERROR = "NUL character in the row (text may not contain NUL)"


def _printable(raw: str) -> str:
    """A raw row as it can be stored: NUL shown as an escape (PostgreSQL text refuses it)."""
    return raw.replace("\x00", "\\x00")


def iter_csv(stream: io.TextIOBase) -> Iterator[FeedRow]:
    """CSV with a header line; a row with the wrong number of fields is a bad row, not a crash."""
    reader = csv.reader(stream)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return
    width = len(header)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield FeedRow(reader.line_num, "", None, f"unreadable CSV: {exc}")
            continue
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if len(values) != width:
            yield FeedRow(
                reader.line_num,
                _printable(_csv_raw(values)),
                None,
                f"expected {width} fields, found {len(values)}",
            )
            continue
        raw = _raw_of(values, width)
        if "\x00" in raw:
            yield FeedRow(reader.line_num, _printable(raw), None, NUL_ERROR)
            continue
        yield FeedRow(reader.line_num, raw, dict(zip(header, values, strict=True)))


def iter_jsonl(stream: io.TextIOBase) -> Iterator[FeedRow]:
    """JSON lines: one object per line; blank lines are skipped."""
    for number, text in enumerate(stream, start=1):
        line = text.strip()
        if not line:
            continue
        if "\x00" in line or "\\u0000" in line:
            yield FeedRow(number, _printable(line), None, NUL_ERROR)
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            yield FeedRow(number, line, None, f"malformed JSON: {exc.msg}")
            continue
        if not isinstance(value, dict):
            yield FeedRow(number, line, None, "each line must be a JSON object")
            continue
        yield FeedRow(number, line, value)


def feed_format(source: str, first_char: str) -> str:
    lowered = source.lower().split("?", 1)[0]
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if lowered.endswith(".csv"):
        return "csv"
    return "jsonl" if first_char == "{" else "csv"


class Connector(ABC):
    """One kind of channel integration. Subclasses declare what they can pull and push; the
    sync services call only the methods below, so adding a kind is one module and a
    `register()` call."""

    kind: ClassVar[str]
    label: ClassVar[str]
    pulls: ClassVar[frozenset[str]] = frozenset()
    pushes: ClassVar[frozenset[str]] = frozenset()
    receives_webhooks: ClassVar[bool] = False

    def __init__(self, settings: ConnectorSettings):
        self.settings = settings

    # -- pulling ------------------------------------------------------------------------------

    def source_for(self, pull_kind: str) -> str:
        return getattr(self.settings, f"{pull_kind}_source", "") or ""

    def open_feed(self, source: str) -> Iterator[FeedRow]:
        """Stream the feed at `source` (a local path or an http(s) URL) row by row; the file
        is never read whole, so memory stays flat whatever its size."""
        if not source:
            raise FeedUnavailable("No feed source is configured.", code="no_source")
        if source.startswith(("http://", "https://")):
            yield from self._open_url(source)
        else:
            yield from self._open_path(source)

    def _rows(self, stream: io.TextIOBase, source: str) -> Iterator[FeedRow]:
        first = stream.read(1)
        fmt = feed_format(source, first)
        rest = _Prepend(first, stream)
        yield from (iter_jsonl(rest) if fmt == "jsonl" else iter_csv(rest))

    def _open_path(self, source: str) -> Iterator[FeedRow]:
        path = Path(source)
        if not path.is_file():
            raise FeedUnavailable(f"Feed file {source} does not exist.", code="source_missing")
        with path.open("r", encoding="utf-8-sig", newline="") as stream:
            fmt = feed_format(source, stream.read(1))
            stream.seek(0)
            yield from (iter_jsonl(stream) if fmt == "jsonl" else iter_csv(stream))

    def _open_url(self, source: str) -> Iterator[FeedRow]:
        headers = {}
        token = self.settings.credential()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            response = requests.get(
                source, headers=headers, stream=True, timeout=self.settings.timeout_seconds
            )
        except requests.RequestException as exc:
            raise FeedUnavailable(
                f"Feed fetch failed: {exc.__class__.__name__}", code="source_unreachable"
            ) from exc
        with response:
            if response.status_code != 200:
                raise FeedUnavailable(
                    f"Feed fetch answered HTTP {response.status_code}.", code="source_http_error"
                )
            response.raw.decode_content = True
            stream = io.TextIOWrapper(response.raw, encoding="utf-8-sig", newline="")
            yield from self._rows(stream, source)

    def channel_view(self) -> Iterator[FeedRow]:
        """The channel's own idea of available-to-sell per SKU (rows with sku, available)."""
        return self.open_feed(self.settings.view_source)

    # -- pushing ------------------------------------------------------------------------------

    def push(self, message: OutboundMessage) -> PushResult:
        raise PushFailed(f"Connector kind {self.kind} cannot push.", code="push_unsupported")


class _Prepend(io.TextIOBase):
    """A text stream with one already-read character put back in front."""

    def __init__(self, head: str, stream: io.TextIOBase):
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        head, self._head = self._head, ""
        if size is None or size < 0:
            return head + self._stream.read()
        return head + self._stream.read(max(0, size - len(head)))

    def readline(self, size: int | None = -1) -> str:
        head, self._head = self._head, ""
        if head in ("\n", ""):
            return head or self._stream.readline()
        return head + self._stream.readline()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


_registry: dict[str, type[Connector]] = {}


def register(connector: type[Connector]) -> type[Connector]:
    """Class decorator: make a connector kind selectable in connector settings."""
    _registry[connector.kind] = connector
    return connector


def connector_kinds() -> dict[str, type[Connector]]:
    return dict(_registry)


def connector_for(settings: ConnectorSettings) -> Connector:
    try:
        return _registry[settings.kind](settings)
    except KeyError:
        raise ConnectorError(
            f"Unknown connector kind {settings.kind!r}.", code="unknown_connector_kind"
        ) from None
