"""The batch runner's vocabulary: jobs in, hooks the driver plugs in, a report out.

The pipeline driver calls :func:`orchestrator.batches.runner.run_batches` where
it would call :func:`orchestrator.dispatch.engine.dispatch` online: the same
:class:`~orchestrator.dispatch.jobs.Job`\\s (plus each one's request hash), the
same verdicts and outcomes, so parsing, writing and recording a row is the
same code whichever way its answer came.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from orchestrator.batches.api import BatchInfo, RequestCounts
from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import Job, JobOutcome, Verdict
from orchestrator.errors import ProviderError
from orchestrator.models import ModelInfo, Usage
from orchestrator.providers.base import CallRequest, CallResult, Turn

#: How a row ended in this run (``processing``: still in a batch when the runner returned).
RowState = Literal[
    "completed", "invalid", "exhausted", "errored", "canceled", "expired", "rejected", "processing", "not_submitted"
]


@dataclass(frozen=True)
class BatchJob:
    """One row to send in a batch.

    ``request_hash`` names what is asked (the driver's hash of the prompt and
    model): a rerun recognises a request already in flight by it.
    ``fingerprint`` keys the attempt budget (default: ``request_hash``); give
    one that also covers the validation rules if they are not in the prompt.
    ``history`` continues a repair conversation, as in :class:`Job`.
    """

    key: str
    row_id: str
    model: ModelInfo
    request: CallRequest
    request_hash: str
    history: tuple[Turn, ...] = ()
    fingerprint: str | None = None

    @classmethod
    def from_job(cls, job: Job, request_hash: str | None = None, fingerprint: str | None = None) -> BatchJob:
        """The batch job of a dispatcher :class:`Job` (its ``request_key`` is the request hash)."""
        key = request_hash or job.request_key
        if not key:
            raise ValueError(f"job {job.key}: a batch request needs its request key (prompt and model hash)")
        return cls(job.key, job.row_id, job.model, job.request, key, job.history, fingerprint)

    @property
    def budget_key(self) -> str:
        return self.fingerprint or self.request_hash

    def job(self, history: tuple[Turn, ...] | None = None) -> Job:
        """The online :class:`Job` for this row (``history``: continue from there)."""
        return Job(self.key, self.row_id, self.model, self.request, self.history if history is None else history,
                   request_key=self.request_hash)


@dataclass(frozen=True)
class BatchRunSettings:
    """How :func:`run_batches` submits, waits and repairs.

    The request and byte limits are the API's documented per-batch limits
    (100,000 requests, 256 MB); both have changed before, so both are settings.
    """

    max_requests: int = 100_000
    max_bytes: int = 256 * 1000 * 1000
    wait: bool = True  # False: submit (and collect what has ended), then return
    repair_attempts: int = 2  # repair turns per row in one run
    repair_online: bool = False  # hand repairs back as online Jobs instead of a follow-up batch
    max_attempts: int = 5  # validation failures per row over all runs, then "needs attention"
    retry_exhausted: bool = False
    poll_initial_s: float = 5.0
    poll_max_s: float = 60.0
    poll_factor: float = 1.5
    #: how far back (seconds) to look for a batch whose id was never written (clock skew margin)
    recover_window_s: float = 900.0
    submit_retries: int = 3  # a POST the API refused with 429/5xx (certainly not created)
    #: no further submission (a repair round, the next split) once this call has spent this much (USD);
    #: a batch already submitted runs on (``orchestrate batches cancel`` stops it)
    max_cost: float | None = None


@dataclass(frozen=True)
class BatchProgress:
    """One poll of one submission."""

    local: str
    batch: BatchInfo
    requests: int
    next_poll_s: float | None  # None: ended

    @property
    def counts(self) -> RequestCounts:
        return self.batch.counts

    @property
    def expires_at(self) -> datetime:
        return self.batch.expires_at


class BatchHooks(Protocol):
    """What the driver plugs into the runner (async: the driver does its I/O off the loop)."""

    async def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        """Checkpoint a paid response before it is judged (so it is never paid twice)."""

    async def judge(self, job: Job, result: CallResult) -> Verdict:
        """Parse and validate a complete (not truncated) response."""

    async def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        """Write the output and record the row (ok), or note why it stays pending."""

    def on_progress(self, progress: BatchProgress) -> None:
        """A submission was polled (counts, expiry) or submitted."""

    def on_event(self, event: DispatchEvent) -> None:
        """The dispatcher's events for rows: ``response`` (usage, cost), ``repaired``, ``finished``."""


@dataclass
class BatchRunReport:
    """What :func:`run_batches` did. A job in no list but ``processing`` was finished."""

    states: dict[str, RowState] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # why a row did not complete
    submitted: list[str] = field(default_factory=list)  # batch ids created by this call
    resumed: list[str] = field(default_factory=list)  # batch ids from earlier runs, polled here
    recovered: list[str] = field(default_factory=list)  # ids found by custom_id after a lost id write
    unresolved: list[str] = field(default_factory=list)  # submissions whose batch could not be told apart yet
    online_repairs: list[Job] = field(default_factory=list)  # --repair-online: dispatch these
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    interrupted: bool = False
    fatal: ProviderError | None = None  # a refused key, a spend limit, no connection: nothing more was sent

    def keys(self, state: RowState) -> list[str]:
        return [key for key, s in self.states.items() if s == state]

    @property
    def completed(self) -> list[str]:
        return self.keys("completed")

    @property
    def processing(self) -> list[str]:
        return self.keys("processing")

    @property
    def pending(self) -> list[str]:
        """Rows left pending (everything but completed)."""
        return [key for key, s in self.states.items() if s != "completed"]
