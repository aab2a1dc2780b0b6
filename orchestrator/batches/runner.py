"""Run rows through Message Batches: submit once, poll, collect, salvage, repair.

:func:`run_batches` is what the pipeline driver calls instead of the online
dispatcher. In order:

1. **Resume.** Read the journal. A submission with an intent but no batch id
   (the crash fell after the POST) is looked up by its ``custom_id``\\s
   (:mod:`orchestrator.batches.recover`) before anything is submitted. A row
   whose current request is in a submission that is still open is not
   submitted again: that submission is polled.
2. **Hold back** rows whose request the API rejected as ``invalid_request_error``
   (resubmitting it unchanged cannot help) and rows whose attempt budget is spent.
3. **Submit** the rest, split under the request and byte limits; each
   submission's intent is durable before its POST and its id right after.
4. **Poll** with backoff (progress from ``request_counts`` and ``expires_at``);
   without ``wait``, return now (a later call collects). Ctrl-C (``stop``)
   also returns: the batches keep running and a rerun collects them.
5. **Collect** each ended batch: results in any order, matched by
   ``custom_id``; each becomes a ledger line at the batch price; succeeded ones
   are checkpointed and judged; valid rows finish, invalid ones get a repair
   turn in a follow-up batch (or are handed back for online repair), errored,
   canceled and expired ones finish pending with the reason. A row is
   submitted at most once per call, plus its repairs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.batches.api import BatchAPI, BatchInfo, BatchResultLine
from orchestrator.batches.budget import BUDGET_FILE, AttemptBudget
from orchestrator.batches.crash import crash_point
from orchestrator.batches.ids import custom_id
from orchestrator.batches.jobs import BatchHooks, BatchJob, BatchProgress, BatchRunReport, BatchRunSettings, RowState
from orchestrator.batches.journal import FailedResult, Journal, JournalRequest, Submission
from orchestrator.batches.pricing import batch_cost
from orchestrator.batches.recover import recover
from orchestrator.batches.split import fits, request_bytes, split
from orchestrator.dispatch.events import DispatchEvent, EventKind
from orchestrator.dispatch.jobs import TRUNCATED_FAILURE, JobOutcome, Verdict
from orchestrator.dispatch.ledger import Ledger, LedgerEntry, Outcome
from orchestrator.errors import ConnectionFailed, FatalProviderError, ProviderError, ProviderTimeout
from orchestrator.models import ModelInfo, Usage
from orchestrator.prompts import repair_message
from orchestrator.providers.base import CallResult, Turn

_CHUNK = 500  # results handled per ledger group commit
INVALID_REQUEST = "invalid_request_error"


@dataclass(frozen=True)
class _Planned:
    """One request about to be submitted."""

    job: BatchJob
    repair: int
    extra: tuple[Turn, ...]  # turns after the row's request: history, or (draft, repair message)

    @property
    def custom_id(self) -> str:
        return custom_id(self.job.key, self.job.request_hash, self.repair)


@dataclass
class _Spent:
    usage: Usage
    cost: float = 0.0
    calls: int = 0
    last: CallResult | None = None


async def run_batches(
    jobs: Sequence[BatchJob],
    api: BatchAPI,
    hooks: BatchHooks,
    batch_dir: Path,
    settings: BatchRunSettings,
    *,
    ledger: Ledger,
    stop: asyncio.Event | None = None,
) -> BatchRunReport:
    """Send ``jobs`` through Message Batches; see the module docstring."""
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError("job keys must be unique within a batch run")
    run = _BatchRun(jobs, api, hooks, batch_dir, settings, ledger, stop or asyncio.Event())
    await run.run()
    return run.report


class _BatchRun:
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
        self.spent: dict[str, _Spent] = {}
        self.repairs: list[_Planned] = []

    # --- the steps ---------------------------------------------------------------------

    async def run(self) -> None:
        subs = await asyncio.to_thread(self.journal.submissions)
        self.budget = await asyncio.to_thread(AttemptBudget.load, self.budget_path)
        await self.resolve_orphans(subs)
        planned = await self.classify(subs)
        await self.submit(planned)
        await self.poll()
        for sub in self.open:
            self.hold(sub)
        await asyncio.to_thread(self.budget.save)

    async def resolve_orphans(self, subs: list[Submission]) -> None:
        orphans = [s for s in subs if s.state == "intent"]
        claimed = {s.batch_id for s in subs if s.batch_id}
        try:
            found = await recover(self.api, orphans, claimed, self.settings.recover_window_s)
        except ProviderError as exc:  # cannot look: hold their rows back (never submit them blind)
            if isinstance(exc, FatalProviderError | ConnectionFailed):
                self.report.fatal = exc
            self.report.unresolved.extend(s.local for s in orphans)
            return
        for sub, info in found.adopted:
            await asyncio.to_thread(self.journal.write_submitted, sub, info)
            self.report.recovered.append(info.id)
        for sub in found.abandoned:
            await asyncio.to_thread(self.journal.abandon, sub, "no batch holding these requests was found")
        self.report.unresolved.extend(s.local for s in found.unresolved)

    async def classify(self, subs: list[Submission]) -> list[_Planned]:
        """Hold rows already in flight, finish rejected and exhausted ones, plan the rest."""
        in_flight: dict[str, str] = {}  # key -> request hash in an open submission
        rejected: dict[tuple[str, str], str] = {}
        for sub in subs:
            if sub.open:
                in_flight.update((r.key, r.request_hash) for r in sub.requests)
                if sub.batch_id:
                    self.open.append(sub)
                    self.report.resumed.append(sub.batch_id)
            for r in sub.requests:
                failed = sub.failed.get(r.custom_id)
                if failed is not None and failed.error_type == INVALID_REQUEST and r.repair == 0:
                    rejected[(r.key, r.request_hash)] = failed.error or INVALID_REQUEST
        planned: list[_Planned] = []
        for job in self.jobs.values():
            if in_flight.get(job.key) == job.request_hash:
                self.report.states[job.key] = "processing"
                self.report.reasons[job.key] = "already submitted in an earlier run; not submitted again"
            elif (reason := rejected.get((job.key, job.request_hash))) is not None:
                await self.finish(job, "rejected", _rejected_text(reason))
            elif self.exhausted(job):
                await self.finish(job, "exhausted", self.exhausted_text(job))
            else:
                planned.append(_Planned(job, job.job().repairs_used, job.history))
        return planned

    def exhausted(self, job: BatchJob) -> bool:
        if self.budget.failures(job.key, job.budget_key) < self.settings.max_attempts:
            return False
        if self.settings.retry_exhausted:
            self.budget.clear(job.key)
            return False
        return True

    def exhausted_text(self, job: BatchJob) -> str:
        n = self.budget.failures(job.key, job.budget_key)
        return (
            f"needs attention: failed validation {n} times over all runs (--max-attempts "
            f"{self.settings.max_attempts}); not dispatched again until the row, the reference or the rules "
            "change, or --retry-exhausted is passed"
        )

    # --- submitting ----------------------------------------------------------------------

    async def submit(self, planned: list[_Planned]) -> None:
        sized: list[tuple[tuple[_Planned, dict[str, Any]], int]] = []
        for p in planned:
            params = dict(self.api.batch_params(replace(p.job.request, turns=(*p.job.request.turns, *p.extra))))
            n = request_bytes(p.custom_id, params)
            if not fits(n, self.settings.max_bytes):
                await self.finish(p.job, "rejected", f"the request is {n:,} bytes, more than a whole batch may hold "
                                  f"({self.settings.max_bytes:,}); shorten the prompt or raise the byte limit")
                continue
            sized.append(((p, params), n))
        for group in split(sized, self.settings.max_requests, self.settings.max_bytes):
            why = self.stopping()
            if why is not None:
                for p, _ in group:
                    await self.finish(p.job, "not_submitted", f"not submitted: {why}")
                continue
            await self.submit_one(group)

    def stopping(self) -> str | None:
        """Why no further submission may be made now, if one may not."""
        cap = self.settings.max_cost
        if cap is not None and self.report.cost_usd >= cap:
            return f"this run has spent ${self.report.cost_usd:.6g} of --max-cost ${cap:.6g}"
        if self.stop.is_set():
            return "the run was stopped first"
        return "a fatal error stopped the run" if self.report.fatal is not None else None

    async def submit_one(self, group: list[tuple[_Planned, dict[str, Any]]]) -> None:
        entries = [
            JournalRequest(p.custom_id, p.job.key, p.job.row_id, p.job.request_hash, p.repair, p.job.model.alias,
                           tuple((t.role, t.text) for t in p.extra) if p.repair else ())
            for p, _ in group
        ]
        models = {p.job.model.alias: p.job.model for p, _ in group}
        sub = await asyncio.to_thread(self.journal.write_intent, entries, models)
        crash_point("after_intent")
        try:
            info = await self.create(sub, [(p.custom_id, params) for p, params in group])
        except ProviderError as exc:
            await self.refused(sub, [p for p, _ in group], exc)
            return
        crash_point("after_post")
        await asyncio.to_thread(self.journal.write_submitted, sub, info)
        crash_point("after_id")
        self.report.submitted.append(info.id)
        self.open.append(sub)
        for p, _ in group:
            self.report.states[p.job.key] = "processing"
        self.hooks.on_progress(BatchProgress(sub.local, info, len(group), self.settings.poll_initial_s))

    async def create(self, sub: Submission, requests: list[tuple[str, dict[str, Any]]]) -> BatchInfo:
        """POST the batch, retrying only answers that prove nothing was created (429, 5xx)."""
        tries = 0
        while True:
            try:
                return await self.api.create_batch(requests)
            except ProviderError as exc:
                certain = exc.status is not None or isinstance(exc, ConnectionFailed)
                tries += 1
                if not (certain and exc.retryable) or tries > self.settings.submit_retries:
                    raise
                if await self.sleep(min(exc.retry_after or 2.0**tries, 60.0)):
                    raise  # stopped while waiting: nothing was created

    async def refused(self, sub: Submission, group: list[_Planned], exc: ProviderError) -> None:
        """The POST failed: certainly (abandon the intent) or maybe (leave it for the rerun to look up)."""
        uncertain = isinstance(exc, ProviderTimeout) and not isinstance(exc, ConnectionFailed) and exc.status is None
        if uncertain:
            self.report.unresolved.append(sub.local)
            for p in group:
                self.report.states[p.job.key] = "processing"
                self.report.reasons[p.job.key] = (
                    f"submission {sub.local} may or may not have been created ({exc.message}); "
                    "the next run looks it up before submitting anything"
                )
            return
        await asyncio.to_thread(self.journal.abandon, sub, exc.render())
        if isinstance(exc, FatalProviderError | ConnectionFailed):
            self.report.fatal = exc
        for p in group:
            await self.finish(p.job, "not_submitted", f"batch submission refused: {exc.render()}")

    # --- polling ---------------------------------------------------------------------------

    async def poll(self) -> None:
        delay = self.settings.poll_initial_s
        while self.open and self.report.fatal is None:
            for sub in list(self.open):
                info = await self.retrieve(sub)
                if info is None:
                    continue
                ended = info.ended
                self.hooks.on_progress(BatchProgress(sub.local, info, len(sub.requests), None if ended else delay))
                if ended:
                    await self.collect_or_retry(sub, info)
            crash_point("polling")
            if self.repairs and self.report.fatal is None:
                repairs, self.repairs = self.repairs, []
                await self.submit(repairs)
                delay = self.settings.poll_initial_s
                continue
            if not self.open or not self.settings.wait:
                return
            if await self.sleep(delay):
                self.report.interrupted = True
                return
            delay = min(delay * self.settings.poll_factor, self.settings.poll_max_s)

    async def retrieve(self, sub: Submission) -> BatchInfo | None:
        assert sub.batch_id is not None
        try:
            return await self.api.retrieve_batch(sub.batch_id)
        except ProviderError as exc:
            await self.api_failed(sub, exc)
            return None

    async def api_failed(self, sub: Submission, exc: ProviderError) -> None:
        """A poll or a results download failed: gone (404), fatal, or try again at the next poll."""
        if exc.status == 404:  # deleted, or its results are past their 29 days: nothing will come
            self.open.remove(sub)
            await asyncio.to_thread(self.journal.abandon, sub, f"the API no longer has batch {sub.batch_id}")
            for r in sub.requests:
                if (job := self.live(r)) is not None:
                    await self.finish(job, "errored", f"batch {sub.batch_id} is gone ({exc.message}); "
                                      "a rerun submits the row again")
        elif isinstance(exc, FatalProviderError | ConnectionFailed):
            self.report.fatal = exc

    async def sleep(self, seconds: float) -> bool:
        """Wait ``seconds``; True when ``stop`` was set (now or during the wait)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        return self.stop.is_set()

    def hold(self, sub: Submission) -> None:
        """Rows of a submission still running when the run returns: pending, in flight."""
        for r in sub.requests:
            job = self.jobs.get(r.key)
            if job is not None and job.request_hash == r.request_hash:
                self.report.states[r.key] = "processing"
                self.report.reasons[r.key] = f"in batch {sub.batch_id} (still processing): a later run collects it"

    # --- collecting --------------------------------------------------------------------------

    async def collect_or_retry(self, sub: Submission, info: BatchInfo) -> None:
        """Collect an ended batch; if its results cannot be read now, try again at the next poll."""
        try:
            await self.collect(sub, info)
        except ProviderError as exc:
            await self.api_failed(sub, exc)
            return
        self.open.remove(sub)

    async def collect(self, sub: Submission, info: BatchInfo) -> None:
        assert sub.batch_id is not None
        again = sub.collecting
        await asyncio.to_thread(self.journal.mark_collecting, sub)
        ledgered = await asyncio.to_thread(_ledgered, self.ledger, sub.batch_id) if again else set()
        entries = {r.custom_id: r for r in sub.requests}
        failed: dict[str, FailedResult] = {}
        seen: set[str] = set()
        chunk: list[tuple[JournalRequest, BatchResultLine]] = []
        async for line in self.api.batch_results(sub.batch_id):
            entry = entries.get(line.custom_id)
            if entry is None or line.custom_id in seen:
                continue  # not ours (a mis-adopted batch) or a repeat
            seen.add(line.custom_id)
            chunk.append((entry, line))
            if len(chunk) >= _CHUNK:
                await self.handle(sub, chunk, ledgered, failed)
                chunk = []
        await self.handle(sub, chunk, ledgered, failed)
        missing = [(e, BatchResultLine(cid, "errored", error_type="missing", error="no result for this request"))
                   for cid, e in entries.items() if cid not in seen]
        await self.handle(sub, missing, ledgered, failed)
        await asyncio.to_thread(self.journal.mark_collected, sub, info.counts, failed)
        await asyncio.to_thread(self.budget.save)

    async def handle(
        self,
        sub: Submission,
        chunk: list[tuple[JournalRequest, BatchResultLine]],
        ledgered: set[str],
        failed: dict[str, FailedResult],
    ) -> None:
        """One group of results: checkpoint and judge, one ledger commit, then each row's next step."""
        assert sub.batch_id is not None
        lines: list[LedgerEntry] = []
        decided: list[tuple[BatchJob, JournalRequest, BatchResultLine, Verdict | None]] = []
        for entry, line in chunk:
            job = self.live(entry)
            model = sub.models[entry.model]
            verdict: Verdict | None = None
            outcome: Outcome = _failed_outcome(line)
            if line.type == "succeeded" and line.result is not None:
                if job is not None:
                    verdict = await self.judge(job, entry, line.result)
                    outcome = "truncated" if line.result.truncated else ("ok" if verdict.ok else "invalid")
                else:
                    outcome = "unchecked"
            else:
                failed[line.custom_id] = FailedResult(line.type, line.error_type, line.error)
            if line.custom_id not in ledgered:
                lines.append(_ledger_line(sub.batch_id, entry, line, model, outcome))
            if job is not None:
                decided.append((job, entry, line, verdict))
        await asyncio.to_thread(self.ledger.record_many, lines)
        ledgered.update(str(written.custom_id) for written in lines)
        for written in lines:
            self.report.usage += written.usage
            self.report.cost_usd += written.cost_usd
        if lines:
            crash_point("collecting")
        for job, entry, line, verdict in decided:
            await self.decide(sub, job, entry, line, verdict)

    def live(self, entry: JournalRequest) -> BatchJob | None:
        """The job a result answers, if this run is waiting for it."""
        job = self.jobs.get(entry.key)
        if job is None or job.request_hash != entry.request_hash or self.report.states.get(job.key) != "processing":
            return None
        return job

    async def judge(self, job: BatchJob, entry: JournalRequest, result: CallResult) -> Verdict:
        turns = (*job.request.turns, *(Turn("assistant" if r == "assistant" else "user", t) for r, t in entry.turns))
        spent = self.spent.setdefault(job.key, _Spent(Usage()))
        spent.usage += result.usage
        spent.cost += batch_cost(job.model, result.usage)
        spent.calls += 1
        spent.last = result
        self.emit("response", job, attempt=entry.repair + 1, usage=result.usage,
                  cost_usd=batch_cost(job.model, result.usage))
        await self.hooks.on_response(job.job(), turns, result, entry.repair + 1)
        if result.truncated:
            return Verdict(False, None, [TRUNCATED_FAILURE])
        return await self.hooks.judge(job.job(), result)

    async def decide(
        self, sub: Submission, job: BatchJob, entry: JournalRequest, line: BatchResultLine, verdict: Verdict | None
    ) -> None:
        if verdict is None:
            state, reason = _failure_state(line, sub)
            await self.finish(job, state, reason)
            return
        if verdict.ok:
            self.budget.clear(job.key)
            await self.finish(job, "completed", None, verdict)
            return
        failures = self.budget.add_failure(job.key, job.budget_key, f"{sub.batch_id}/{entry.custom_id}")
        if failures >= self.settings.max_attempts:
            await self.finish(job, "exhausted", self.exhausted_text(job), verdict)
            return
        if entry.repair >= self.settings.repair_attempts:
            await self.finish(job, "invalid", "; ".join(verdict.failures) or "invalid output", verdict)
            return
        assert line.result is not None
        extra = (Turn("assistant", line.result.text), Turn("user", repair_message(verdict.failures)))
        self.emit("repaired", job, attempt=entry.repair + 1, message="; ".join(verdict.failures))
        if self.settings.repair_online:
            self.report.online_repairs.append(job.job(history=extra))
            self.report.states[job.key] = "processing"
            self.report.reasons[job.key] = "handed to the online provider for its repair turn"
        else:
            self.repairs.append(_Planned(job, entry.repair + 1, extra))

    async def finish(self, job: BatchJob, state: RowState, reason: str | None, verdict: Verdict | None = None) -> None:
        """The row's last word in this run, handed to the driver to write, record or note."""
        self.report.states[job.key] = state
        if reason is not None:
            self.report.reasons[job.key] = reason
        spent = self.spent.get(job.key) or _Spent(Usage())
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


def _rejected_text(error: str) -> str:
    return (
        f"the API rejected this request ({INVALID_REQUEST}: {error}); it is not resubmitted unchanged: "
        "fix the row or the model settings"
    )


def _failure_state(line: BatchResultLine, sub: Submission) -> tuple[RowState, str]:
    where = f"batch {sub.batch_id}"
    if line.type == "errored" and line.error_type == INVALID_REQUEST:
        return "rejected", _rejected_text(line.error or "")
    if line.type == "errored":
        detail = f"{line.error_type}: {line.error}"
        return "errored", f"batch request errored in {where} ({detail}); a rerun submits it again"
    if line.type == "canceled":
        return "canceled", f"batch request canceled in {where}; a rerun submits it again"
    return "expired", f"batch request expired in {where} before it was processed; a rerun submits it again"


def _failed_outcome(line: BatchResultLine) -> Outcome:
    return "cancelled" if line.type == "canceled" else "error"


def _ledger_line(
    batch_id: str, entry: JournalRequest, line: BatchResultLine, model: ModelInfo, outcome: Outcome
) -> LedgerEntry:
    result = line.result
    usage = result.usage if result is not None else Usage()
    error = None
    if line.type == "errored":
        error = f"errored: {line.error_type}: {line.error}"
    elif line.type in ("canceled", "expired"):
        error = line.type
    return LedgerEntry(
        key=entry.key,
        row_id=entry.row_id,
        model=model.id,
        attempt=entry.repair + 1,
        kind="repair" if entry.repair else "call",
        outcome=outcome,
        usage=usage,
        cost_usd=batch_cost(model, usage),
        error=error,
        request_id=result.request_id if result is not None else None,
        stop_reason=result.stop_reason if result is not None else None,
        batch_id=batch_id,
        custom_id=entry.custom_id,
        provider="anthropic-batch",
        # the paid response itself, as the online dispatcher keeps it: the ledger is its durable record
        request_key=entry.request_hash,
        response=result.text if result is not None else None,
        history=entry.turns if result is not None else None,
    )


def _ledgered(ledger: Ledger, batch_id: str) -> set[str]:
    """custom_ids of ``batch_id`` the ledger already has (collection was interrupted)."""
    return {str(d.get("custom_id")) for d in ledger.entries() if d.get("batch_id") == batch_id}
