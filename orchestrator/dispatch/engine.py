"""The dispatcher: a fixed number of calls in flight, each for one job's conversation.

A job is one row: call the model, hand the response to the pipeline
(``on_response`` checkpoints it, ``check`` validates it) and, while it fails,
continue the same conversation with the validator's messages, up to
``repair_attempts`` times. Around every call sit the limits that keep a large
batch polite and cheap: per-model rate limits, a shared cool-down after a 429,
bounded retries with backoff, and the spend cap.

A response's ledger line is queued as it arrives and awaited only before its
job counts as finished (``on_finished``, the ``finished`` event): the worker
makes its next call (a repair, or the next job) while the line waits for its
group's ``fsync``, yet nothing counts as received before it is on disk.

``workers`` bounds the calls in flight, not the conversations: twice as many
conversations run, each holding one of the ``workers`` call slots only while
it calls (with its retries). While a response is judged (in the judge
process, a linter, a plugin's check), its conversation holds no slot and
another one calls: measured with 1,000 rows at 200 ms, a judgement kept a
worker's call slot idle 20 ms per row on average (10% of the calls' time), and
95 ms at 50 ms per call with 100 workers. A repair turn waits for a slot like
any call; a job whose first call never got a slot is reported ``not_started``.

Stopping is graceful and loses nothing paid for. After a fatal error, the
spend cap, or the ``stop`` event (Ctrl-C), or a check that cannot run on this machine (an
environment failure: no repair turn could fix it), no new call starts (no new job, no
retry, no repair); calls already in flight finish and are checked (after
``stop``, they get ``grace_s`` and are then cancelled). Jobs left without a
verdict are reported as ``unfinished``; jobs never taken as ``not_started``.
The ``abandon`` event (a second Ctrl-C) ends the grace period at once.

A connection that cannot be made at all (:class:`ConnectionFailed`) is
retried ``connection_retries`` times, quickly, and is then fatal.

Only the project's own :class:`ProviderError`\\s are handled here: any other
exception is a bug, stops the dispatch and propagates unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.dispatch.backoff import Backoff
from orchestrator.dispatch.cooldown import CoolDown
from orchestrator.dispatch.events import DispatchEvent, EventKind
from orchestrator.dispatch.jobs import (
    TRUNCATED_FAILURE,
    DispatchReport,
    DispatchSettings,
    Hooks,
    Job,
    JobOutcome,
    StopReason,
    Verdict,
)
from orchestrator.dispatch.ledger import AttemptKind, Ledger, LedgerEntry, Outcome
from orchestrator.dispatch.ratelimit import ModelLimits, RateLimiter
from orchestrator.errors import (
    ConnectionFailed,
    EnvironmentFailure,
    FatalProviderError,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)
from orchestrator.models import Usage
from orchestrator.prompts import repair_message
from orchestrator.providers.base import CallRequest, CallResult, Provider, Turn

_HALT_EVENTS: dict[StopReason, EventKind] = {
    "fatal": "fatal",
    "max_cost": "cost_limit",
    "interrupted": "interrupted",
    "environment": "environment",
}


class _Unfinished(Exception):
    """Internal: the job stops without a verdict because dispatch is halting."""


#: conversations per call slot (see the module docstring): one calls while another's response is judged
CONVERSATIONS_PER_SLOT = 2


@dataclass
class _Conversation:
    """One job's state while it runs."""

    job: Job
    turns: tuple[Turn, ...]
    repairs: int
    calls: int = 0
    started: bool = False  # its first call had a slot (the ``started`` event)
    usage: Usage = field(default_factory=Usage)
    cost: float = 0.0
    last: CallResult | None = None
    durable: list[Awaitable[None]] = field(default_factory=list)  # ledger lines of its responses, until on disk

    @property
    def kind(self) -> AttemptKind:
        return "repair" if len(self.turns) > len(self.job.request.turns) else "call"


def _error_outcome(exc: ProviderError) -> Outcome:
    if isinstance(exc, RateLimited):
        return "rate_limited"
    if isinstance(exc, Overloaded):
        return "overloaded"
    if isinstance(exc, ProviderTimeout):
        return "timeout"
    if isinstance(exc, ConnectionFailed):
        return "connection"
    return "fatal" if isinstance(exc, FatalProviderError) else "error"


class _Run:
    """The shared state of one :func:`dispatch` call."""

    def __init__(
        self,
        jobs: Sequence[Job],
        provider: Provider,
        hooks: Hooks,
        settings: DispatchSettings,
        ledger: Ledger | None,
        spent_before: float,
    ) -> None:
        self.queue: deque[Job] = deque(jobs)
        self.provider, self.hooks, self.settings, self.ledger = provider, hooks, settings, ledger
        self.spent_before = spent_before
        self.cooldown = CoolDown()
        self.limits = RateLimiter(settings.rpm, settings.input_tpm)
        self.backoff = Backoff(
            settings.backoff_base_s,
            settings.backoff_max_s,
            retry_after_max_s=settings.retry_after_max_s,
        )
        self.halted = asyncio.Event()
        self.slots = asyncio.Semaphore(max(1, settings.workers))  # calls in flight, with their retries
        self.stopped: StopReason | None = None
        self.fatal: ProviderError | None = None
        self.fatal_key: str | None = None
        self.environment: EnvironmentFailure | None = None
        self.outcomes: list[JobOutcome] = []
        self.unfinished: list[str] = []
        # jobs done, waiting for their ledger lines: at most ``workers`` (each holds its response and judgement)
        self.finishing: set[asyncio.Task[None]] = set()
        self.usage = Usage()
        self.cost = 0.0

    # --- run-wide state ---------------------------------------------------------

    def emit(self, kind: EventKind, job: Job | None = None, **fields: Any) -> None:
        event = DispatchEvent(
            kind,
            key=job.key if job else None,
            row_id=job.row_id if job else None,
            spent_usd=self.spent_before + self.cost,
            **fields,
        )
        self.hooks.on_event(event)

    def halt(self, reason: StopReason, message: str | None = None) -> None:
        if self.stopped is None:
            self.stopped = reason
            self.halted.set()
            self.emit(_HALT_EVENTS[reason], message=message)

    def over_budget(self) -> bool:
        cap = self.settings.max_cost
        return cap is not None and self.spent_before + self.cost >= cap

    def check_budget(self) -> None:
        if self.over_budget():
            self.halt(
                "max_cost",
                f"spent ${self.spent_before + self.cost:.6g} of max_cost ${self.settings.max_cost:.6g}",
            )

    def on_fatal(self, job: Job, exc: ProviderError) -> None:
        """Keep the first fatal error for the report; say so even if already stopping."""
        first = self.fatal is None
        if first:
            self.fatal, self.fatal_key = exc, job.key
        if self.stopped is None:
            self.halt("fatal", exc.render())
        elif first:
            self.emit("fatal", job, message=exc.render())

    def on_environment(self, job: Job, problems: list[str]) -> EnvironmentFailure:
        """A check cannot run here: keep the first such failure and stop dispatching."""
        failure = EnvironmentFailure(problems)
        if self.environment is None:
            self.environment = failure
        self.halt("environment", failure.render())
        return failure

    async def record(self, conv: _Conversation, outcome: Outcome, **fields: Any) -> None:
        """One ledger line for the attempt just made (in a thread: fsync must not block)."""
        if self.ledger is not None:
            entry = self._entry(conv, outcome, **fields)
            await self.ledger.append(entry)

    def record_response(self, conv: _Conversation, outcome: Outcome, **fields: Any) -> None:
        """The ledger line of a response: queued now, awaited before the job counts as finished.

        The worker goes on with the conversation (a repair) or the next job
        while the line waits for its group's ``fsync``: at 50 ms per call, a
        worker that waited for the disk after every response lost a fifth of
        its time. Nothing counts as received before it is durable all the
        same: :meth:`run_job` finishes the job only once every line is.
        """
        if self.ledger is not None:
            conv.durable.append(self.ledger.appending(self._entry(conv, outcome, **fields)))

    def _entry(self, conv: _Conversation, outcome: Outcome, **fields: Any) -> LedgerEntry:
        job = conv.job
        return LedgerEntry(
            request_key=job.request_key,
            key=job.key,
            row_id=job.row_id,
            model=job.model.id,
            attempt=conv.calls,
            kind=conv.kind,
            outcome=outcome,
            provider=self.provider.name,
            **fields,
        )

    # --- workers ----------------------------------------------------------------

    async def worker(self) -> None:
        while not self.halted.is_set() and self.queue:
            await self.run_job(self.queue.popleft())

    async def watch(
        self, stop: asyncio.Event, workers: list[asyncio.Task[None]], abandon: asyncio.Event | None = None
    ) -> None:
        """On ``stop``: halt, give in-flight calls ``grace_s`` (or until ``abandon``), then cancel what is left."""
        await stop.wait()
        self.halt("interrupted", "stop requested")
        finishing = asyncio.ensure_future(asyncio.wait(workers, timeout=self.settings.grace_s))
        waits: list[asyncio.Future[Any]] = [finishing]
        if abandon is not None:
            waits.append(asyncio.ensure_future(abandon.wait()))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        for task in workers:
            if not task.done():
                task.cancel()

    async def run_job(self, job: Job) -> None:
        conv = _Conversation(job, (*job.request.turns, *job.history), job.repairs_used)
        try:
            outcome = await self.converse(conv)
        except _Unfinished:
            self._left(conv)
            return
        except asyncio.CancelledError:
            self._left(conv)
            raise
        if not conv.durable:
            self.finished(job, outcome)
            return
        if len(self.finishing) >= max(1, self.settings.workers):  # the disk is behind: wait for it here
            await self._finish_when_durable(job, outcome, conv.durable)
            return
        task = asyncio.ensure_future(self._finish_when_durable(job, outcome, conv.durable))
        self.finishing.add(task)
        task.add_done_callback(self.finishing.discard)

    def _left(self, conv: _Conversation) -> None:
        """A job that stops without a verdict: ``unfinished``, or back in the queue if it never called."""
        if conv.started:
            self.unfinished.append(conv.job.key)
        else:
            self.queue.appendleft(conv.job)  # reported ``not_started``, as if never taken

    async def _finish_when_durable(self, job: Job, outcome: JobOutcome, lines: list[Awaitable[None]]) -> None:
        for line in lines:
            await line
        self.finished(job, outcome)

    def finished(self, job: Job, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)
        self.hooks.on_finished(job, outcome)
        message = outcome.error or (outcome.failures[0] if outcome.failures else None)
        self.emit("finished", job, ok=outcome.ok, attempt=outcome.calls, message=message)

    async def converse(self, conv: _Conversation) -> JobOutcome:
        """Call, judge, and repair in the same conversation until ok or out of repairs."""
        while True:
            try:
                result = await self.call(conv)
            except ProviderError as exc:  # retries exhausted, or not retryable (fatal raised above)
                return _outcome(conv, None, error=exc.render())
            verdict = await self.judge(conv, result)
            if verdict.environment:  # not the model's fault: a repair turn would be paid for nothing
                failure = self.on_environment(conv.job, verdict.environment)
                return _outcome(conv, replace(verdict, ok=False), error=failure.render())
            if verdict.ok or conv.repairs >= self.settings.repair_attempts:
                return _outcome(conv, verdict)
            if self.halted.is_set():
                raise _Unfinished
            conv.turns += (
                Turn("assistant", result.text),
                Turn("user", repair_message(verdict.failures)),
            )
            conv.repairs += 1
            self.emit("repaired", conv.job, attempt=conv.repairs, message="; ".join(verdict.failures))

    # --- one call, with retries ------------------------------------------------------

    async def gate(self, limits: ModelLimits, request: CallRequest) -> int:
        """Wait until this call may start; raise :class:`_Unfinished` when halting.

        The waits (a shared cool-down of up to ``retry_after_max_s``, a slow
        rate limit) end as soon as dispatch halts: a worker that has no call
        in flight must not hold up a fatal stop or Ctrl-C until the grace
        period cancels it.
        """
        self.check_budget()
        if self.halted.is_set():
            raise _Unfinished

        async def admitted() -> int:
            await self.cooldown.wait()
            charged = await limits.acquire(request)
            await self.cooldown.wait()  # a 429 may have arrived while we queued for the limiter
            return charged

        waiting = asyncio.ensure_future(admitted())
        halting = asyncio.ensure_future(self.halted.wait())
        try:
            await asyncio.wait((waiting, halting), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waiting, halting):
                task.cancel()
            await asyncio.gather(waiting, halting, return_exceptions=True)
        if waiting.done() and not waiting.cancelled():
            charged = waiting.result()  # an exception here is a bug: raise it as is
            if not self.halted.is_set():
                return charged
        raise _Unfinished

    async def call(self, conv: _Conversation) -> CallResult:
        """One successful response for the conversation so far, in one of the call slots."""
        async with self.slots:
            if not conv.started:
                if self.halted.is_set():
                    raise _Unfinished
                conv.started = True
                self.emit("started", conv.job)
            return await self.call_in_slot(conv)

    async def call_in_slot(self, conv: _Conversation) -> CallResult:
        """One successful response for the conversation so far, retrying what may be retried."""
        request = replace(conv.job.request, turns=conv.turns)
        limits = self.limits.for_model(conv.job.model)
        tries = {"timeout": 0, "connection": 0, "other": 0}
        while True:
            charged = await self.gate(limits, request)
            conv.calls += 1
            started = time.perf_counter()
            try:
                result = await self.provider.call(request)
            except ProviderError as exc:
                await self.record(
                    conv,
                    _error_outcome(exc),
                    error=exc.render(),
                    latency_s=time.perf_counter() - started,
                    request_id=exc.request_id,
                )
                await self.before_retry(conv, exc, tries)
                continue
            except asyncio.CancelledError:
                if self.ledger is not None:  # no awaiting while cancelled: write synchronously
                    self.ledger.record(
                        self._entry(
                            conv,
                            "cancelled",
                            error="cancelled after grace period",
                            latency_s=time.perf_counter() - started,
                        )
                    )
                raise
            limits.settle(charged, result.usage)
            limits.observe(result.rate_limits)
            return result

    async def before_retry(self, conv: _Conversation, exc: ProviderError, tries: dict[str, int]) -> None:
        """Re-raise what may not be retried; otherwise wait (sharing a 429's wait with everyone)."""
        if isinstance(exc, FatalProviderError):
            self.on_fatal(conv.job, exc)
            raise _Unfinished from exc
        if not exc.retryable:
            raise exc
        kind = _retry_kind(exc)
        tries[kind] += 1
        if tries[kind] > self._retry_limit(kind):
            if kind == "connection":  # every other call would fail the same way
                self.on_fatal(conv.job, exc)
                raise _Unfinished from exc
            raise exc
        delay = self.backoff.delay(tries[kind], exc.retry_after)
        if isinstance(exc, RateLimited) or (isinstance(exc, Overloaded) and exc.retry_after):
            self.cooldown.extend(delay)
        self.emit(
            "retry",
            conv.job,
            attempt=conv.calls,
            reason=_error_outcome(exc),
            delay_s=delay,
            message=exc.message,
        )
        with contextlib.suppress(TimeoutError):  # wake early when halting
            await asyncio.wait_for(self.halted.wait(), delay)

    def _retry_limit(self, kind: str) -> int:
        settings = self.settings
        limits = {"timeout": settings.timeout_retries, "connection": settings.connection_retries}
        return limits.get(kind, settings.max_retries)

    # --- one response ----------------------------------------------------------------

    async def judge(self, conv: _Conversation, result: CallResult) -> Verdict:
        """Count the cost, checkpoint, validate; the ledger line is written whatever happens."""
        job = conv.job
        cost = job.model.cost(result.usage, batch=self.provider.batch_pricing)
        conv.usage += result.usage
        conv.cost += cost
        self.usage += result.usage
        self.cost += cost
        conv.last = result
        self.emit("response", job, attempt=conv.calls, usage=result.usage, cost_usd=cost)
        outcome: Outcome = "unchecked"
        try:
            self.hooks.on_response(job, conv.turns, result, conv.calls)
            if result.truncated:
                outcome, verdict = "truncated", Verdict(False, None, [TRUNCATED_FAILURE])
            else:
                verdict = await self.hooks.check(job, result)
                outcome = "ok" if verdict.ok else "invalid"
        finally:
            self.record_response(
                conv,
                outcome,
                usage=result.usage,
                cost_usd=cost,
                latency_s=result.latency_s,
                request_id=result.request_id,
                stop_reason=result.stop_reason,
                response=result.text,
                history=tuple((t.role, t.text) for t in conv.turns[len(job.request.turns) :]),
                client_cost_usd=result.client_cost_usd,
                num_turns=result.num_turns,
                startup_s=result.startup_s,
                cost_is_estimate=result.cost_is_estimate,
            )
            self.check_budget()
        return verdict

    def report(self, jobs: Sequence[Job]) -> DispatchReport:
        order = {job.key: i for i, job in enumerate(jobs)}
        return DispatchReport(
            outcomes=sorted(self.outcomes, key=lambda o: order[o.key]),
            not_started=sorted((job.key for job in self.queue), key=order.__getitem__),
            stopped=self.stopped,
            fatal=self.fatal,
            usage=self.usage,
            cost_usd=self.cost,
            unfinished=sorted(self.unfinished, key=order.__getitem__),
            fatal_key=self.fatal_key,
            environment=self.environment,
        )


def _retry_kind(exc: ProviderError) -> str:
    if isinstance(exc, ConnectionFailed):
        return "connection"
    return "timeout" if isinstance(exc, ProviderTimeout) else "other"


def _outcome(conv: _Conversation, verdict: Verdict | None, *, error: str | None = None) -> JobOutcome:
    last = conv.last
    return JobOutcome(
        key=conv.job.key,
        row_id=conv.job.row_id,
        ok=bool(verdict and verdict.ok),
        content=verdict.content if verdict and verdict.ok else None,
        failures=list(verdict.failures) if verdict and not verdict.ok else [],
        calls=conv.calls,
        repairs=conv.repairs,
        usage=conv.usage,
        cost_usd=conv.cost,
        error=error,
        last_text=last.text if last else None,
        stop_reason=last.stop_reason if last else None,
        notes=list(verdict.notes) if verdict else [],
    )


async def _join(workers: list[asyncio.Task[None]], finishing: set[asyncio.Task[None]]) -> None:
    """Wait for every worker, then every job still finishing; if one raised (a bug), re-raise it as is.

    A job whose ledger line cannot be written fails the next one queued (the
    writer thread's error is raised to every later caller), so a worker stops
    the dispatch without waiting for the finishing jobs.
    """
    for tasks in (set(workers), finishing):
        pending = set(tasks)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if not task.cancelled() and (exc := task.exception()) is not None:
                    raise exc
            pending |= {task for task in tasks if not task.done()}


async def dispatch(
    jobs: Sequence[Job],
    provider: Provider,
    hooks: Hooks,
    settings: DispatchSettings,
    *,
    ledger: Ledger | None = None,
    stop: asyncio.Event | None = None,
    spent_before: float = 0.0,
    abandon: asyncio.Event | None = None,
) -> DispatchReport:
    """Run ``jobs`` with at most ``settings.workers`` in flight; see the module docstring.

    ``abandon`` (a second Ctrl-C) ends the grace period after ``stop`` at once:
    the calls still in flight are cancelled and reported ``unfinished``.
    """
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique within a dispatch")
    run = _Run(jobs, provider, hooks, settings, ledger, spent_before)
    run.check_budget()
    if stop is not None and stop.is_set():
        run.halt("interrupted", "stop requested")
    workers = [
        asyncio.create_task(run.worker(), name=f"dispatch-conversation-{i}")
        for i in range(min(max(1, settings.workers) * CONVERSATIONS_PER_SLOT, len(jobs)))
    ]
    watcher = asyncio.create_task(run.watch(stop, workers, abandon)) if stop is not None and workers else None
    try:
        await _join(workers, run.finishing)
    finally:
        others = (*workers, *run.finishing, *([watcher] if watcher else []))
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)
    return run.report(jobs)
