"""The dispatcher's vocabulary: jobs in, verdicts from the pipeline, outcomes and a report out.

Kept apart from the engine so the pipeline can import these small types
without the async machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.errors import EnvironmentFailure, ProviderError
from orchestrator.models import ModelInfo, Usage
from orchestrator.providers.base import CallRequest, CallResult, Turn

#: ``environment``: a check could not run on this machine (see :attr:`Verdict.environment`)
StopReason = Literal["fatal", "interrupted", "max_cost", "environment"]

TRUNCATED_FAILURE = "output was truncated at max_tokens; return a shorter complete file"


@dataclass(frozen=True)
class Job:
    """One row to generate.

    ``history`` resumes a repair conversation from an earlier run: the turns
    after the row's first message, ending with a user turn (a repair message)
    that has not been answered yet. Each user turn in it counts as a repair
    already used.
    """

    key: str  # item id, unique in the batch (e.g. "0002")
    row_id: str
    model: ModelInfo
    request: CallRequest  # turns = (the row's user message,)
    history: tuple[Turn, ...] = ()
    #: what the response answers (prompt text + model), kept with it in the ledger
    request_key: str | None = None

    def __post_init__(self) -> None:
        if self.history and self.history[-1].role != "user":
            raise ValueError(f"job {self.key}: history must end with a user turn (a repair message)")

    @property
    def repairs_used(self) -> int:
        return sum(1 for turn in self.history if turn.role == "user")


@dataclass(frozen=True)
class Verdict:
    """The pipeline's judgement of one response."""

    ok: bool
    content: str | None  # document to write when ok
    failures: list[str]  # validator messages, sent back in the repair turn
    notes: list[str] = field(default_factory=list)  # e.g. "stripped a ```markdown fence"
    #: checks that could not run here (missing linter...): never repair material; the run stops
    environment: list[str] = field(default_factory=list)


@dataclass
class JobOutcome:
    """How a finished job ended: ``ok`` with content, or failures / an error."""

    key: str
    row_id: str
    ok: bool
    content: str | None
    failures: list[str]
    calls: int  # attempts made, retries included
    repairs: int  # repair turns sent (this run and, via history, earlier ones)
    usage: Usage
    cost_usd: float
    error: str | None
    last_text: str | None
    stop_reason: str | None  # the model's stop_reason of the last response
    notes: list[str] = field(default_factory=list)


@dataclass
class DispatchReport:
    """What a dispatch did. Keys absent from ``outcomes`` are still pending.

    ``not_started``: never taken from the queue. ``unfinished``: started but
    left without a verdict when dispatch stopped (halted between attempts, or
    cancelled after the grace period); their responses so far were passed to
    ``on_response``, so a rerun can resume them.
    """

    outcomes: list[JobOutcome]
    not_started: list[str]
    stopped: StopReason | None
    fatal: ProviderError | None
    usage: Usage
    cost_usd: float
    unfinished: list[str] = field(default_factory=list)
    fatal_key: str | None = None  # the job whose call raised ``fatal``
    #: set when ``stopped == "environment"``: what this machine could not run, and the fix
    environment: EnvironmentFailure | None = None

    @property
    def pending(self) -> list[str]:
        """Keys to run again: unfinished first, then never started."""
        return [*self.unfinished, *self.not_started]


@dataclass
class DispatchSettings:
    workers: int = 5
    repair_attempts: int = 2
    max_retries: int = 8  # 429 / 529 / 5xx, per call
    timeout_retries: int = 3  # timeouts and dropped connections, per call
    connection_retries: int = 2  # no connection at all (refused, DNS, TLS): then the run stops
    rpm: int | None = None
    input_tpm: int | None = None
    max_cost: float | None = None
    grace_s: float = 10.0
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    retry_after_max_s: float = 300.0


class Hooks(Protocol):
    """What the pipeline plugs into the dispatcher (synchronous but for :meth:`check`)."""

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        """Called before :meth:`check`: checkpoint the raw response (so it is never paid twice)."""

    async def check(self, job: Job, result: CallResult) -> Verdict:
        """Parse and validate a complete (not truncated) response (awaited: it may judge in another process)."""

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        """Write the output, record status and notes."""

    def on_event(self, event: DispatchEvent) -> None:
        """Progress: see :data:`orchestrator.dispatch.events.EventKind`."""
