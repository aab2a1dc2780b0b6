"""Per-item spend across runs, read once from the batch's ledger and kept current.

The ledger (``ledger.jsonl``) has one line per call attempt of every run.
:class:`UsageBook` sums it by item when a stage starts; during PROCESS the
dispatcher's ``response`` and ``retry`` events add this run's attempts, so a
row's tracking entry shows everything its output cost without re-reading the
ledger for each row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.ledger import Ledger
from orchestrator.models import Usage


@dataclass
class ItemSpend:
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    calls: int = 0
    latency_s: float = 0.0  # summed over answered calls
    answered: int = 0


@dataclass
class UsageBook:
    """Usage, cost and call counts by item key (all runs of the batch)."""

    items: dict[str, ItemSpend] = field(default_factory=dict)

    @classmethod
    def from_ledger(cls, ledger: Ledger) -> UsageBook:
        book = cls()
        for line in ledger.entries():
            spend = book.items.setdefault(str(line.get("key")), ItemSpend())
            spend.usage += Usage.from_dict(line.get("usage") or {})
            spend.cost += float(line.get("cost_usd") or 0.0)
            spend.calls += 1
            if line.get("stop_reason"):
                spend.latency_s += float(line.get("latency_s") or 0.0)
                spend.answered += 1
        return book

    def add_event(self, event: DispatchEvent) -> None:
        """Count this run's attempts as the dispatcher reports them."""
        if event.key is None or event.kind not in ("response", "retry"):
            return
        spend = self.items.setdefault(event.key, ItemSpend())
        spend.calls += 1
        if event.kind == "response" and event.usage is not None:
            spend.usage += event.usage
            spend.cost += event.cost_usd

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
