"""``dispatch_batches``: the batch path behind the online dispatcher's own signature.

A driver that runs PROCESS with :func:`orchestrator.dispatch.engine.dispatch`
switches to Message Batches by calling this instead, with the same jobs, the
same (synchronous) hooks and the same ledger, and gets a
:class:`~orchestrator.dispatch.jobs.DispatchReport` back:

* ``outcomes``: every row that finished in this call (completed, invalid,
  needs attention, errored, canceled, expired, rejected), as the hooks saw them;
* ``unfinished``: rows still in a batch (``--no-wait``, Ctrl-C while waiting):
  a rerun collects them and never submits them again;
* ``not_started``: rows never submitted (stopped first, or the POST was refused).

With ``repair_online`` the repair turns go to ``provider.online()`` through the
online dispatcher itself (its retries, rate limits and ledger).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from orchestrator.batches.adapter import SyncHooks
from orchestrator.batches.jobs import BatchJob, BatchProgress, BatchRunReport, BatchRunSettings
from orchestrator.batches.runner import run_batches
from orchestrator.dispatch.engine import dispatch
from orchestrator.dispatch.jobs import DispatchReport, DispatchSettings, Hooks, Job, JobOutcome, StopReason
from orchestrator.dispatch.ledger import Ledger
from orchestrator.providers.anthropic_batch import AnthropicBatchProvider


class _Collecting(SyncHooks):
    """The driver's hooks, keeping every outcome for the report."""

    def __init__(self, hooks: Hooks, on_progress: Callable[[BatchProgress], None] | None) -> None:
        super().__init__(hooks, on_progress)
        self.outcomes: list[JobOutcome] = []

    async def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.outcomes.append(outcome)
        await super().on_finished(job, outcome)


def batch_jobs(
    jobs: Sequence[Job], request_keys: dict[str, str] | None = None, rules: str | None = None
) -> list[BatchJob]:
    """Each job with the key of its request: ``request_keys[key]``, else the job's own ``request_key``.

    ``rules`` (see :func:`rules_digest`) joins each row's attempt-budget fingerprint, so
    editing a rule that is not in the prompt (a Validation Checklist line) also gives the row a new budget.
    """
    out = []
    for job in jobs:
        batch_job = BatchJob.from_job(job, (request_keys or {}).get(job.key))
        if rules is not None:
            batch_job = replace(batch_job, fingerprint=sha256_hex(f"{batch_job.request_hash}\0{rules}"))
        out.append(batch_job)
    return out


def rules_digest(lines: Iterable[str]) -> str:
    """A fingerprint of the rules outputs are judged by (the Content Rules and Validation Checklist lines)."""
    return sha256_hex("\n".join(lines))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def dispatch_batches(
    jobs: Sequence[Job],
    provider: AnthropicBatchProvider,
    hooks: Hooks,
    settings: DispatchSettings,
    *,
    batch_dir: Path,
    batch: BatchRunSettings,
    ledger: Ledger,
    stop: asyncio.Event | None = None,
    request_keys: dict[str, str] | None = None,
    on_progress: Callable[[BatchProgress], None] | None = None,
    rules: str | None = None,
) -> DispatchReport:
    """Run ``jobs`` through Message Batches; see the module docstring."""
    todo = batch_jobs(jobs, request_keys, rules)
    collecting = _Collecting(hooks, on_progress)
    batch_settings = BatchRunSettings(**{**vars(batch), "repair_attempts": settings.repair_attempts,
                                         "max_cost": settings.max_cost})
    report = await run_batches(todo, provider, collecting, batch_dir, batch_settings, ledger=ledger, stop=stop)
    online: DispatchReport | None = None
    if report.online_repairs and not (stop is not None and stop.is_set()) and report.fatal is None:
        online_provider = provider.online()
        try:
            online = await dispatch(report.online_repairs, online_provider, hooks, settings, ledger=ledger, stop=stop,
                                    spent_before=report.cost_usd)
        finally:
            await online_provider.aclose()
    return _dispatch_report(todo, report, collecting.outcomes, online)


def _dispatch_report(
    jobs: list[BatchJob], report: BatchRunReport, outcomes: list[JobOutcome], online: DispatchReport | None
) -> DispatchReport:
    order = {job.key: i for i, job in enumerate(jobs)}
    handed = {job.key for job in report.online_repairs}
    finished = [*outcomes, *(online.outcomes if online else [])]
    done = {o.key for o in finished}
    unfinished = [k for k in report.processing if k not in done and (k not in handed or online is None)]
    if online is not None:
        unfinished += [k for k in online.pending if k not in unfinished]
    stopped: StopReason | None = "fatal" if report.fatal else ("interrupted" if report.interrupted else None)
    return DispatchReport(
        outcomes=sorted(finished, key=lambda o: order.get(o.key, len(order))),
        not_started=[k for k in report.keys("not_submitted") if k not in done],
        stopped=online.stopped if online and online.stopped else stopped,
        fatal=report.fatal or (online.fatal if online else None),
        usage=report.usage + online.usage if online else report.usage,
        cost_usd=report.cost_usd + (online.cost_usd if online else 0.0),
        unfinished=sorted(unfinished, key=lambda k: order.get(k, len(order))),
    )
