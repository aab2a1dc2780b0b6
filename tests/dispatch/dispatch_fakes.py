"""A scripted provider and recording hooks for the dispatcher's tests.

Like httpx's MockTransport, but one level up: :class:`ScriptedProvider` plays
a per-job list of :class:`Step`\\s (answer, or raise, after a delay) and logs
every call with its start and end times, so tests can measure concurrency,
cool-downs and retries without a network.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from orchestrator.dispatch import DispatchEvent, Job, JobOutcome, Verdict
from orchestrator.errors import ProviderError
from orchestrator.models import ModelInfo, Usage
from orchestrator.providers.base import CallRequest, CallResult, Provider, Turn

MODEL = ModelInfo(
    alias="haiku",
    id="claude-haiku-5-5",
    input=1.0,
    output=5.0,
    cache_write=1.25,
    cache_write_1h=2.0,
    cache_read=0.1,
)
#: 1,000 input + 200 output tokens at MODEL's prices: $0.002 per call.
USAGE = Usage(input_tokens=1000, output_tokens=200)
CALL_COST = MODEL.cost(USAGE)
GOOD = "good document"


@dataclass(frozen=True)
class Step:
    """What one call does: wait ``delay`` seconds, then raise ``error`` or answer ``text``."""

    text: str = GOOD
    stop_reason: str = "end_turn"
    error: ProviderError | None = None
    delay: float = 0.0
    usage: Usage = USAGE


@dataclass
class CallLog:
    key: str
    turns: tuple[Turn, ...]
    start: float
    end: float = 0.0
    outcome: str = "running"


class ScriptedProvider(Provider):
    """Plays ``script[key]`` one step per call (then ``default``); logs every call."""

    name = "scripted"

    def __init__(self, script: dict[str, Sequence[Step]] | None = None, default: Step = Step()):
        self.script = {key: list(steps) for key, steps in (script or {}).items()}
        self.default = default
        self.calls: list[CallLog] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.closed = False

    def calls_for(self, key: str) -> list[CallLog]:
        return [c for c in self.calls if c.key == key]

    async def call(self, request: CallRequest) -> CallResult:
        key = request.metadata["key"]
        steps = self.script.get(key)
        step = steps.pop(0) if steps else self.default
        log = CallLog(key, request.turns, time.monotonic())
        self.calls.append(log)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(step.delay)
        finally:
            self.in_flight -= 1
            log.end = time.monotonic()
        if step.error is not None:
            log.outcome = type(step.error).__name__
            raise step.error
        log.outcome = "ok"
        return CallResult(step.text, step.stop_reason, step.usage, request.model, step.delay)

    async def aclose(self) -> None:
        self.closed = True


def make_job(key: str, history: tuple[Turn, ...] = ()) -> Job:
    request = CallRequest(
        model=MODEL.id,
        system="You write one file.",
        shared="Format reference.",
        turns=(Turn("user", f"Produce output covering topic {key}."),),
        max_tokens=1000,
        metadata={"key": key},
    )
    return Job(key=key, row_id=f"row-{key}", model=MODEL, request=request, history=history)


def make_jobs(n: int) -> list[Job]:
    return [make_job(f"{i:04d}") for i in range(n)]


def default_check(job: Job, result: CallResult) -> Verdict:
    if GOOD in result.text:
        return Verdict(True, result.text, [], notes=["checked"])
    return Verdict(False, None, [f"bad output for {job.key}: category must be one of a, b"])


@dataclass
class RecordingHooks:
    """Records everything the dispatcher tells the pipeline."""

    checker: Callable[[Job, CallResult], Verdict] = default_check
    responses: list[tuple[str, tuple[Turn, ...], CallResult, int]] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)
    finished: dict[str, JobOutcome] = field(default_factory=dict)
    events: list[DispatchEvent] = field(default_factory=list)
    on_event_extra: Callable[[DispatchEvent], None] | None = None

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        self.responses.append((job.key, turns, result, attempt))

    async def check(self, job: Job, result: CallResult) -> Verdict:
        self.checked.append((job.key, result.text))
        return self.checker(job, result)

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        assert job.key not in self.finished, "on_finished called twice"
        self.finished[job.key] = outcome

    def on_event(self, event: DispatchEvent) -> None:
        self.events.append(event)
        if self.on_event_extra is not None:
            self.on_event_extra(event)

    def kinds(self, key: str | None = None) -> list[str]:
        return [e.kind for e in self.events if key is None or e.key == key]
