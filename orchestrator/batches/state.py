"""The state one batch run shares between submitting and collecting, and a row's last word.

:class:`RunState` holds the run's jobs, journal, budget, report and spend;
:meth:`RunState.finish` hands a row's outcome to the driver's hooks (which
write, record or note it) and is the only way a row ends in a run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.batches.api import BatchAPI
from orchestrator.batches.budget import BUDGET_FILE, AttemptBudget
from orchestrator.batches.ids import custom_id
from orchestrator.batches.jobs import BatchHooks, BatchJob, BatchRunReport, BatchRunSettings, RowState
from orchestrator.batches.journal import Journal, JournalRequest, Submission
from orchestrator.dispatch.events import DispatchEvent, EventKind
from orchestrator.dispatch.jobs import JobOutcome, Verdict
from orchestrator.dispatch.ledger import Ledger
from orchestrator.models import Usage
from orchestrator.providers.base import CallResult, Turn

INVALID_REQUEST = "invalid_request_error"


@dataclass(frozen=True)
class Planned:
    """One request about to be submitted."""

    job: BatchJob
    repair: int
    extra: tuple[Turn, ...]  # turns after the row's request: history, or (draft, repair message)

    @property
    def custom_id(self) -> str:
        return custom_id(self.job.key, self.job.request_hash, self.repair)


@dataclass
class Spent:
    usage: Usage
    cost: float = 0.0
    calls: int = 0
    last: CallResult | None = None


class RunState:
    """What every step of one :func:`~orchestrator.batches.runner.run_batches` call reads and writes."""

    def __init__(
        self,
        jobs: Sequence[BatchJob],
        api: BatchAPI,
        hooks: BatchHooks,
        batch_dir: Path,
        settings: BatchRunSettings,
        ledger: Ledger,
        stop: asyncio.Event,
    ) -> None:
        self.jobs = {job.key: job for job in jobs}
        self.api, self.hooks, self.settings, self.ledger, self.stop = api, hooks, settings, ledger, stop
        self.journal = Journal(batch_dir)
        self.budget_path = self.journal.root / BUDGET_FILE
        self.budget = AttemptBudget(self.budget_path)
        self.report = BatchRunReport()
        self.open: list[Submission] = []  # submitted, not collected: polled
        self.spent: dict[str, Spent] = {}
        self.repairs: list[Planned] = []

    def exhausted_text(self, job: BatchJob) -> str:
        n = self.budget.failures(job.key, job.budget_key)
        return (
            f"needs attention: failed validation {n} times over all runs (--max-attempts "
            f"{self.settings.max_attempts}); not dispatched again until the row, the reference or the rules "
            "change, or --retry-exhausted is passed"
        )

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when ``stop`` was set (now or during the wait)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stop.is_set()

    def live(self, entry: JournalRequest) -> BatchJob | None:
        """The job a result answers, if this run is waiting for it."""
        job = self.jobs.get(entry.key)
        if job is None or job.request_hash != entry.request_hash or self.report.states.get(job.key) != "processing":
            return None
        return job

    async def finish(self, job: BatchJob, state: RowState, reason: str | None, verdict: Verdict | None = None) -> None:
        """The row's last word in this run, handed to the driver to write, record or note."""
        self.report.states[job.key] = state
        if reason is not None:
            self.report.reasons[job.key] = reason
        spent = self.spent.get(job.key) or Spent(Usage())
        ok = state == "completed" and verdict is not None
        outcome = JobOutcome(
            key=job.key,
            row_id=job.row_id,
            ok=ok,
            content=verdict.content if ok and verdict else None,
            failures=list(verdict.failures) if verdict and not verdict.ok else [],
            calls=spent.calls,
            repairs=max(0, spent.calls - 1),
            usage=spent.usage,
            cost_usd=spent.cost,
            error=None if verdict is not None and state in ("completed", "invalid") else reason,
            last_text=spent.last.text if spent.last else None,
            stop_reason=spent.last.stop_reason if spent.last else None,
            notes=list(verdict.notes) if verdict else [],
        )
        await self.hooks.on_finished(job.job(), outcome)
        self.emit("finished", job, ok=ok, attempt=spent.calls, message=reason)

    def emit(self, kind: EventKind, job: BatchJob, **fields: Any) -> None:
        event = DispatchEvent(kind, key=job.key, row_id=job.row_id, spent_usd=self.report.cost_usd, **fields)
        self.hooks.on_event(event)


def rejected_text(error: str) -> str:
    return (
        f"the API rejected this request ({INVALID_REQUEST}: {error}); it is not resubmitted unchanged: "
        "fix the row or the model settings"
    )
