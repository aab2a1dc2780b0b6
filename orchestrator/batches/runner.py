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

Steps 3 and 5 live in :mod:`orchestrator.batches.submit` and
:mod:`orchestrator.batches.collect`; the state they share (and
:meth:`~orchestrator.batches.state.RunState.finish`, the one way a row ends)
in :mod:`orchestrator.batches.state`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from orchestrator.batches.api import BatchAPI, BatchInfo
from orchestrator.batches.budget import AttemptBudget
from orchestrator.batches.collect import Collecting
from orchestrator.batches.crash import crash_point
from orchestrator.batches.jobs import BatchHooks, BatchJob, BatchProgress, BatchRunReport, BatchRunSettings
from orchestrator.batches.journal import Submission
from orchestrator.batches.recover import recover
from orchestrator.batches.state import INVALID_REQUEST, Planned, rejected_text
from orchestrator.batches.submit import Submitting
from orchestrator.dispatch.ledger import Ledger
from orchestrator.errors import ConnectionFailed, FatalProviderError, ProviderError


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


class _BatchRun(Submitting, Collecting):
    """One call's steps, in order: see the module docstring."""

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

    async def classify(self, subs: list[Submission]) -> list[Planned]:
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
        planned: list[Planned] = []
        for job in self.jobs.values():
            if in_flight.get(job.key) == job.request_hash:
                self.report.states[job.key] = "processing"
                self.report.reasons[job.key] = "already submitted in an earlier run; not submitted again"
            elif (reason := rejected.get((job.key, job.request_hash))) is not None:
                await self.finish(job, "rejected", rejected_text(reason))
            elif self.exhausted(job):
                await self.finish(job, "exhausted", self.exhausted_text(job))
            else:
                planned.append(Planned(job, job.job().repairs_used, job.history))
        return planned

    def exhausted(self, job: BatchJob) -> bool:
        if self.budget.failures(job.key, job.budget_key) < self.settings.max_attempts:
            return False
        if self.settings.retry_exhausted:
            self.budget.clear(job.key)
            return False
        return True

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

    def hold(self, sub: Submission) -> None:
        """Rows of a submission still running when the run returns: pending, in flight."""
        for r in sub.requests:
            job = self.jobs.get(r.key)
            if job is not None and job.request_hash == r.request_hash:
                self.report.states[r.key] = "processing"
                self.report.reasons[r.key] = f"in batch {sub.batch_id} (still processing): a later run collects it"
