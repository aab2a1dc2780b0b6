"""Per-item spend across runs, and the last paid response of each item, read once from the ledger.

The ledger (``ledger.jsonl``) has one line per call attempt of every run; a
line for an answered call also holds the response itself (see
:class:`orchestrator.dispatch.ledger.LedgerEntry`). It is the one durable
record of what was paid for: :class:`UsageBook` reads it once per command,
line by line, checking each line's shape (a damaged line is refused, naming
the file and line), and keeps

* the usage, cost and call count of each item (the tracking entry and the
  report show everything an output cost without re-reading the ledger), and
* the newest response of each item, so a response whose checkpoint files a
  crash never wrote is taken from here instead of being paid for again.

During PROCESS the dispatcher's ``response`` and ``retry`` events add this
run's attempts.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.models import Usage
from orchestrator.pipeline.store.shapes import checked, damaged, load_json
from orchestrator.recorder.atomic import atomic_write

#: ``clean --clean-stage process`` voids the responses an item has so far: item -> ledger lines then
VOID_FILE = "voided.json"


def void_responses(batch_dir: Path, items: set[str], ledger_lines: int) -> None:
    """Mark the responses of ``items`` in the first ``ledger_lines`` ledger lines as not to be restored."""
    path = batch_dir / VOID_FILE
    marks = _void_marks(path)
    marks.update(dict.fromkeys(items, ledger_lines))
    atomic_write(path, (json.dumps(marks, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _void_marks(path: Path) -> dict[str, int]:
    try:
        data = checked(path, load_json(path))
    except FileNotFoundError:
        return {}
    return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


@dataclass(frozen=True)
class PaidResponse:
    """The newest answered call of an item, as the ledger holds it."""

    request_key: str
    model: str
    text: str
    stop_reason: str | None
    history: tuple[tuple[str, str], ...]
    attempt: int
    outcome: str
    usage: Usage
    latency_s: float
    request_id: str | None
    ts: str
    provider: str | None = None  # None: a line written before providers were recorded


@dataclass
class ItemSpend:
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    calls: int = 0
    latency_s: float = 0.0  # summed over answered calls
    answered: int = 0
    #: dollars by the provider the attempts went to (``sim``: simulated dollars)
    by_provider: dict[str, float] = field(default_factory=dict)


@dataclass
class UsageBook:
    """Usage, cost and call counts by item key (all runs of the batch), and each item's last response."""

    items: dict[str, ItemSpend] = field(default_factory=dict)
    responses: dict[str, PaidResponse] = field(default_factory=dict)
    lines: int = 0  # ledger lines read (every attempt of every run)
    provider: str | None = None  # this command's provider: the attempts :meth:`add_event` counts went to it

    @classmethod
    def from_ledger(cls, path: Path) -> UsageBook:
        """Read ``path`` once, line by line; a line cut off by a crash is skipped, a damaged one refused."""
        book = cls()
        void = _void_marks(path.parent / VOID_FILE)
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would hang the read; no size limit: it streams
                raise damaged(path, "not a regular file")
            handle = path.open("rb")
        except FileNotFoundError:
            return book
        except OSError as exc:
            raise damaged(path, f"cannot read it ({exc.strerror or exc})") from None
        with handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    data = json.loads(raw)
                except ValueError:
                    continue  # a partial last line after a crash: readers skip it
                if isinstance(data, dict):
                    restorable = book.lines >= void.get(str(data.get("key")), 0)
                    book.add_line(checked(path, data, line=number), restorable=restorable)
        return book

    def add_line(self, line: dict[str, Any], *, restorable: bool = True) -> None:
        key = str(line.get("key"))
        spend = self.items.setdefault(key, ItemSpend())
        usage = Usage.from_dict(line.get("usage") or {})
        spend.usage += usage
        spend.cost += float(line.get("cost_usd") or 0.0)
        spend.calls += 1
        self.lines += 1
        if isinstance(line.get("provider"), str):
            name = line["provider"]
            spend.by_provider[name] = spend.by_provider.get(name, 0.0) + float(line.get("cost_usd") or 0.0)
        if line.get("stop_reason"):
            spend.latency_s += float(line.get("latency_s") or 0.0)
            spend.answered += 1
        text, request = line.get("response"), line.get("request")
        if not restorable:
            self.responses.pop(key, None)
        elif isinstance(text, str) and isinstance(request, str):
            history = line.get("history") or []
            self.responses[key] = PaidResponse(
                request_key=request,
                model=str(line.get("model") or ""),
                text=text,
                stop_reason=str(line["stop_reason"]) if line.get("stop_reason") else None,
                history=tuple((str(t["role"]), str(t["text"])) for t in history),
                attempt=int(line.get("attempt") or 0),
                outcome=str(line.get("outcome") or ""),
                usage=usage,
                latency_s=float(line.get("latency_s") or 0.0),
                request_id=str(line["request_id"]) if line.get("request_id") else None,
                ts=str(line.get("ts") or ""),
                provider=line["provider"] if isinstance(line.get("provider"), str) else None,
            )

    def add_event(self, event: DispatchEvent) -> None:
        """Count this run's attempts as the dispatcher reports them."""
        if event.key is None or event.kind not in ("response", "retry"):
            return
        spend = self.items.setdefault(event.key, ItemSpend())
        spend.calls += 1
        self.lines += 1
        if event.kind == "response" and event.usage is not None:
            spend.usage += event.usage
            spend.cost += event.cost_usd
            if self.provider is not None:
                spend.by_provider[self.provider] = spend.by_provider.get(self.provider, 0.0) + event.cost_usd

    def for_key(self, key: str) -> tuple[Usage, float, int]:
        spend = self.items.get(key, ItemSpend())
        return spend.usage, spend.cost, spend.calls

    def totals(self) -> tuple[Usage, float, int]:
        usage, cost, calls = Usage(), 0.0, 0
        for spend in self.items.values():
            usage += spend.usage
            cost += spend.cost
            calls += spend.calls
        return usage, cost, calls

    def cost_from(self, provider: str) -> float:
        """Dollars of every attempt that went to ``provider`` (e.g. ``sim``: simulated dollars)."""
        return sum(spend.by_provider.get(provider, 0.0) for spend in self.items.values())

    def providers_of(self, key: str) -> list[str]:
        """The providers an item's attempts went to, in the order first seen."""
        return list(self.items.get(key, ItemSpend()).by_provider)
