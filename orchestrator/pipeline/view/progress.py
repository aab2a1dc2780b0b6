"""The /batch-pipeline command's progress block: a bar, the items completed, and live metrics.

On a terminal it is a rich live display redrawn in place; otherwise (a pipe,
a log, CI) it prints one plain line per event, each starting with the bar, and
the metrics once at the end. While an event loop runs, plain lines are written
together at most every :data:`FLUSH_EVERY_S` (one write, not one per row, on
the loop that reads the responses)::

    [████████████░░░░░░░░] 3/5 (60%) item-0004 (Quorum): Done (1,245 chars)
    [████████████░░░░░░░░] 3/5 (60%) item-0005 (Backpressure): Error - Rate limited, queued for retry

Rows are named by item id and title. ``in_flight`` (started, not finished)
is what the first Ctrl-C reports.
"""

from __future__ import annotations

import asyncio
import textwrap
import time
from collections import deque
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.text import Text

from orchestrator.dispatch.events import DispatchEvent

BAR_WIDTH = 20
RECENT = 10
#: seconds plain lines may wait to be written together while an event loop runs
FLUSH_EVERY_S = 0.1
_REASONS = {
    "rate_limited": "Rate limited",
    "overloaded": "Overloaded",
    "timeout": "Timed out",
    "error": "Server error",
}
_STOPS = {
    "fatal": "Stopped: fatal provider error",
    "cost_limit": "Stopped: --max-cost reached, no new calls",
    "interrupted": "Stopping: interrupted, waiting for calls in flight",
}


def bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    """``[████████░░░░] 60/100 (60%)``."""
    filled = round(width * done / total) if total else width
    pct = round(100 * done / total) if total else 100
    return f"[{'█' * filled}{'░' * (width - filled)}] {done}/{total} ({pct}%)"


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} seconds" if seconds >= 10 else f"{seconds:.1f}s"
    return f"{seconds / 60:.0f} minutes"


def tree(lines: list[str], indent: str = "") -> list[str]:
    """``├── a`` ... ``└── z``: the /batch-pipeline command's way of listing things."""
    return [f"{indent}{'└──' if i == len(lines) - 1 else '├──'} {line}" for i, line in enumerate(lines)]


class Progress:
    """Progress of one PROCESS run; feed it dispatcher events and finished items."""

    def __init__(
        self,
        batch_id: str,
        *,
        workers: int,
        models: str,
        total: int,
        estimated_tokens: int | None,
        stream: TextIO,
        live: bool,
        titles: dict[str, str] | None = None,
    ) -> None:
        self.batch_id, self.workers, self.models = batch_id, workers, models
        self.titles = titles or {}
        self.total, self.estimated_tokens = total, estimated_tokens
        self.stream, self.live = stream, live
        self.done = self.ok = self.tokens = 0
        self.recent: deque[str] = deque(maxlen=RECENT)
        self.started_at: dict[str, float] = {}
        self.durations: list[float] = []
        self.t0 = time.monotonic()
        self._live: Live | None = None
        self._unwritten: list[str] = []  # plain lines waiting for the next write
        self._flush_due: asyncio.TimerHandle | None = None

    # --- text ---------------------------------------------------------------------

    def header(self) -> list[str]:
        title = f"PROCESSING: {self.batch_id}"
        return [title, "=" * len(title), f"Workers: {self.workers}", f"Model: {self.models}"]

    def metrics(self) -> list[str]:
        rate = f"{round(100 * self.ok / self.done)}%" if self.done else "-"
        avg = duration(sum(self.durations) / len(self.durations)) if self.durations else "-"
        est = f"{self.estimated_tokens:,} estimated" if self.estimated_tokens else "no estimate"
        left = self.total - self.done
        elapsed = time.monotonic() - self.t0
        remaining = duration(elapsed / self.done * left) if self.done and left else "-"
        return tree(
            [
                f"Success rate: {rate}",
                f"Avg response time: {avg}",
                f"Tokens used: {self.tokens:,} (of {est})",
                f"Estimated remaining: {remaining}",
            ]
        )

    def block(self) -> str:
        lines = [*self.header(), "Progress:", bar(self.done, self.total), "Completed:"]
        lines += tree(list(self.recent)) or ["(none yet)"]
        lines += ["Metrics:", *self.metrics()]
        return "\n".join(lines)

    # --- input ------------------------------------------------------------------

    def name(self, key: str) -> str:
        """``item-0002 (Quorum)``: the item id and the row's title."""
        title = self.titles.get(key)
        return f"{key} ({title})" if title else key

    @property
    def in_flight(self) -> int:
        """Rows started and not finished (a call, a retry wait or a repair under way)."""
        return len(self.started_at)

    def event(self, event: DispatchEvent) -> None:
        key = event.key or ""
        name = self.name(key)
        if event.kind == "started":
            self.started_at.setdefault(key, event.at)
        elif event.kind == "response" and event.usage is not None:
            self.tokens += event.usage.total
            self._refresh()
        elif event.kind == "retry":
            reason = _REASONS.get(event.reason or "", event.reason or "error")
            self._line(f"{name}: Error - {reason}, queued for retry")
        elif event.kind == "repaired":
            first = textwrap.shorten((event.message or "").split("; ")[0], 90, placeholder=" ...")
            self._line(f"{name}: Invalid draft, repair {event.attempt} sent ({first})")
        elif event.kind in _STOPS:
            self._line(f"{_STOPS[event.kind]}" + (f" - {event.message}" if event.message else ""))

    def item_finished(self, key: str, ok: bool, chars: int, message: str | None) -> None:
        self.done += 1
        self.ok += int(ok)
        if key in self.started_at:
            self.durations.append(time.monotonic() - self.started_at.pop(key))
        failure = textwrap.shorten(message or "invalid", 120, placeholder=" ...")
        name = self.name(key)
        text = f"{name}: Done ({chars:,} chars)" if ok else f"{name}: Failed - {failure}"
        self._line(text)

    # --- output -----------------------------------------------------------------

    def _line(self, text: str) -> None:
        self.recent.append(text)
        if self.live:
            self._refresh()
            return
        self._unwritten.append(f"{bar(self.done, self.total)} {text}\n")
        if self._flush_due is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside a loop: nothing to wait for
            self.flush()
            return
        self._flush_due = loop.call_later(FLUSH_EVERY_S, self.flush)

    def flush(self) -> None:
        """Write the plain lines that wait (at once)."""
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None
        if self._unwritten:
            lines, self._unwritten = "".join(self._unwritten), []
            self.stream.write(lines)
            self.stream.flush()

    def _refresh(self) -> None:
        if self._live is not None:
            self._live.update(Text(self.block()))

    def __enter__(self) -> Progress:
        if self.live:
            console = Console(file=self.stream, force_terminal=True)
            self._live = Live(Text(self.block()), console=console, refresh_per_second=8)
            self._live.__enter__()
        else:
            print("\n".join(self.header()), file=self.stream, flush=True)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.update(Text(self.block()))
            self._live.__exit__(exc_type, exc, tb)
            self._live = None
        else:
            self.flush()
            print("\n".join(["Metrics:", *self.metrics()]), file=self.stream, flush=True)
