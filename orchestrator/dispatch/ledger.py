"""The usage ledger: one JSON line per call attempt, written as it happens.

Money is spent per attempt, not per row: a retried 529 costs nothing, but a
response that fails validation and is repaired costs twice. Every attempt is
appended the moment it ends, with one ``write()`` of a complete line followed
by ``fsync``, so a crash or Ctrl-C never loses spend that happened and never
leaves half a line (a reader skips a trailing partial line all the same).
Because the file is only ever appended to, :meth:`Ledger.totals` on a rerun
includes every earlier run's spend.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol

from orchestrator.models import Usage

AttemptKind = Literal["call", "repair"]
#: ok / invalid / truncated: a response came back; the rest: the call failed.
Outcome = Literal[
    "ok",
    "invalid",
    "truncated",
    "unchecked",
    "rate_limited",
    "overloaded",
    "timeout",
    "connection",
    "fatal",
    "error",
    "cancelled",
]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class LedgerEntry:
    """One attempt: who, which model, what it cost, and how it ended."""

    key: str
    row_id: str
    model: str
    attempt: int
    kind: AttemptKind
    outcome: Outcome
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None
    request_id: str | None = None
    stop_reason: str | None = None
    ts: str = field(default_factory=_now)
    #: set for a Message Batches result: the batch and the request's custom_id (priced at the batch discount)
    batch_id: str | None = None
    custom_id: str | None = None
    #: for an answered call: the request it answers (prompt text + model hash), the turns sent
    #: after the row's first message, and the response text itself. The ledger is the one durable
    #: record of a paid response; a batch folder's response files are derived from it.
    request_key: str | None = None
    history: tuple[tuple[str, str], ...] | None = None
    response: str | None = None
    #: the provider that made the call (``sim`` marks a rehearsal: simulated text, simulated cost)
    provider: str | None = None
    #: agent runtimes (``claude-code``): the client's own cost figure, its turns and start-up time;
    #: ``cost_is_estimate`` when that figure is the client's estimate rather than what is billed
    client_cost_usd: float | None = None
    num_turns: int | None = None
    startup_s: float | None = None
    cost_is_estimate: bool = False

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "ts": self.ts,
            "key": self.key,
            "row_id": self.row_id,
            "model": self.model,
            "attempt": self.attempt,
            "kind": self.kind,
            "outcome": self.outcome,
            "usage": self.usage.as_dict(),
            "cost_usd": round(self.cost_usd, 8),
            "latency_s": round(self.latency_s, 4),
            "error": self.error,
            "request_id": self.request_id,
            "stop_reason": self.stop_reason,
        }
        if self.provider is not None:
            data["provider"] = self.provider
        if self.batch_id is not None:
            data.update(batch=True, batch_id=self.batch_id, custom_id=self.custom_id)
        agent = {"client_cost_usd": self.client_cost_usd, "num_turns": self.num_turns, "startup_s": self.startup_s}
        data.update({k: v for k, v in agent.items() if v is not None})
        if self.cost_is_estimate:
            data["cost_is_estimate"] = True
        if self.response is not None:
            data.update(
                request=self.request_key,
                history=[{"role": role, "text": text} for role, text in self.history or ()],
                response=self.response,
            )
        return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


class GroupWriter(Protocol):
    """What :class:`Ledger` needs of a writer thread (:class:`orchestrator.pipeline.store.writer.Writer`)."""

    def append(self, path: Path, data: bytes) -> Future[None]: ...


class Ledger:
    """An append-only JSONL file of :class:`LedgerEntry` lines (safe to call from threads)."""

    def __init__(self, path: Path | str, writer: GroupWriter | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._writer = writer
        self.appended = 0  # lines this object added (this run's attempts)
        self._tail: asyncio.Future[None] | None = None  # the last line queued without a writer thread

    async def append(self, entry: LedgerEntry) -> None:
        """Append ``entry`` without blocking the event loop; returns once it is on disk.

        With a ``writer`` (the pipeline's writer thread), lines arriving together
        share one ``fsync`` (group commit); without one, each line is written in
        a worker thread.
        """
        await self.appending(entry)

    def appending(self, entry: LedgerEntry) -> Awaitable[None]:
        """Queue ``entry`` now; the returned awaitable completes once it is on disk.

        Lines keep the order they were queued in (the writer thread's queue,
        or, without one, each worker-thread write waiting for the one before).
        """
        if self._writer is None:
            previous = self._tail

            async def write() -> None:
                if previous is not None:
                    await asyncio.wait([previous])  # its own error is its awaiter's to see
                await asyncio.to_thread(self.record, entry)

            self._tail = asyncio.ensure_future(write())
            return self._tail
        data = (entry.to_json() + "\n").encode("utf-8")
        self.appended += 1
        return asyncio.wrap_future(self._writer.append(self.path, data))

    def record(self, entry: LedgerEntry) -> None:
        """Append one complete line with a single ``write``, then flush it to disk."""
        data = (entry.to_json() + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with self._lock:
                self._start_on_new_line(fd)
                os.write(fd, data)
                self.appended += 1
            os.fsync(fd)
        finally:
            os.close(fd)

    def record_many(self, entries: list[LedgerEntry]) -> None:
        """Append several complete lines with one ``write`` and one ``fsync`` (a group commit)."""
        if not entries:
            return
        data = "".join(entry.to_json() + "\n" for entry in entries).encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            with self._lock:
                self._start_on_new_line(fd)
                view = memoryview(data)
                while view:  # a large write may be partial
                    view = view[os.write(fd, view) :]
                self.appended += len(entries)
            os.fsync(fd)
        finally:
            os.close(fd)

    def _start_on_new_line(self, fd: int) -> None:
        """After a crash mid-line, end the partial line so the next entry stays readable."""
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            os.write(fd, b"\n")

    def entries(self) -> Iterator[dict[str, Any]]:
        """Every complete, readable line (partial or corrupt lines are skipped)."""
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        with handle:  # line by line: a ledger holding 10,000 responses is never read whole
            yield from _parsed_lines(handle)

    def totals(self) -> tuple[Usage, float]:
        """Usage and dollars of every attempt ever recorded in this ledger."""
        usage, cost = Usage(), 0.0
        for data in self.entries():
            usage += Usage.from_dict(data.get("usage") or {})
            cost += float(data.get("cost_usd") or 0.0)
        return usage, cost


def _parsed_lines(handle: BinaryIO) -> Iterator[dict[str, Any]]:
    for line in handle:
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(data, dict):
            yield data
