"""What every stage works with: the batch, today's plan, and the items in scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.models import ModelInfo, ModelTable
from orchestrator.pipeline.store.batch import Batch, item_id
from orchestrator.pipeline.store.checkpoints import ItemFiles, ItemStore
from orchestrator.plan.check import require_phase
from orchestrator.plan.model import Phase, Plan, Row


@dataclass
class StageResult:
    """What one stage did, item by item."""

    stage: str
    done: list[str] = field(default_factory=list)  # items (re)written
    skipped: list[str] = field(default_factory=list)  # checkpoint already current
    blocked: list[tuple[str, str]] = field(default_factory=list)  # input stale: an earlier stage must rerun
    waiting: list[tuple[str, str]] = field(default_factory=list)  # input not made yet (not an error)
    failed: list[tuple[str, str]] = field(default_factory=list)  # item and reason
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.blocked

    def as_dict(self) -> dict[str, object]:
        return {
            "stage": self.stage,
            "done": self.done,
            "skipped": self.skipped,
            "blocked": [{"item": i, "reason": r} for i, r in self.blocked],
            "waiting": [{"item": i, "reason": r} for i, r in self.waiting],
            "failed": [{"item": i, "reason": r} for i, r in self.failed],
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Context:
    """A batch and the plan as it is now.

    ``limit`` caps how many items each stage (re)does: current checkpoints do
    not count, so ``--limit 2`` on a rerun takes the next two pending rows.
    """

    batch: Batch
    plan: Plan
    models: ModelTable
    limit: int | None = None
    model_override: str | None = None
    #: the items' checkpoints, read once per command and kept current in memory
    store: ItemStore = field(default_factory=ItemStore, compare=False, repr=False)

    def phase(self) -> Phase:
        return require_phase(self.plan, self.batch.phase)

    def rows_by_item(self) -> dict[str, Row]:
        return {item_id(row.id): row for row in self.phase().rows}

    def items(self) -> list[ItemFiles]:
        """The batch's items (those ACQUIRE created), in row order."""
        return [ItemFiles(i, self.batch.item_dir(i)) for i in self.store.item_ids(self.batch)]

    def room(self, done: int) -> bool:
        """Whether ``--limit`` lets a stage (re)do one more item after ``done``."""
        return self.limit is None or done < self.limit

    def model_for(self, row_model: str) -> ModelInfo:
        """The model an item runs on: ``--model`` (or the batch's) over the row's own."""
        return self.models.resolve(self.model_override or row_model)
