"""PROCESS: call the model for every pending item that has no usable response.

The only stage that spends money. Before dispatching, responses a killed run
paid for but never checkpointed are restored from the ledger, and responses
it checkpointed but never judged are judged now, so none is paid for twice.

During dispatch the event loop does no file I/O: the ledger line of each
response (which holds the response) is group-committed by the writer thread
and awaited before the response counts as received; checkpoints, outputs and
``parsed.json`` are handed to the same thread, and each response is judged
in the judge process (:mod:`orchestrator.pipeline.judge_helper`). In ``run``/``all``
(``record=True``) each finished item is recorded at once, with the judgement
PROCESS already made, so a Ctrl-C or a fatal error keeps every row that
finished.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace

from orchestrator.batches.dispatch import dispatch_batches, rules_digest
from orchestrator.batches.jobs import BatchProgress, BatchRunSettings
from orchestrator.dispatch.engine import dispatch
from orchestrator.dispatch.jobs import DispatchReport, DispatchSettings, JobOutcome
from orchestrator.dispatch.ledger import Ledger
from orchestrator.pipeline import collector
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.judge import Judge
from orchestrator.pipeline.judge_helper import JudgeHelper
from orchestrator.pipeline.stages.parse import RowRecorder, parse_item
from orchestrator.pipeline.stages.process_hooks import BatchHooks, ProgressSink, Received, verdict_record
from orchestrator.pipeline.stages.selection import Work, WorkItem, process_work, recover_responses
from orchestrator.pipeline.store.checkpoints import RESPONSE_META
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.providers.anthropic_batch import AnthropicBatchProvider
from orchestrator.providers.base import Provider

#: fewer items than this are judged in this process: starting the judge process would cost more
JUDGE_PROCESS_MIN_ITEMS = 32


@dataclass
class ProcessResult:
    work: Work
    report: DispatchReport
    parsed_ok: list[str]  # items recorded complete during the run (record mode)
    parsed: list[str]  # items parsed during the run, valid or not (record mode)
    judgements: int = 0  # responses judged during dispatch (each exactly once)
    attempts: int = 0  # ledger lines this run added (every call attempt)
    cost_is_estimate: bool = False  # some response's cost was the client's estimate (claude-code)


def select_work(ctx: Context, judge: Judge, book: UsageBook) -> Work:
    """Restore and judge what a killed run left behind, then choose what to dispatch."""
    recover_responses(ctx, book)
    judge_unjudged(ctx, judge)
    return process_work(ctx, judge)


def judge_unjudged(ctx: Context, judge: Judge) -> list[str]:
    """Judge, from disk, responses a killed run checkpointed but never checked."""
    judged: list[str] = []
    for files in ctx.items():
        state = ctx.store.load(files)
        meta = state.response_meta
        if meta is None or meta.verdict is not None or not state.response_current():
            continue
        assert state.raw is not None and state.response_text is not None
        verdict = judge.judge(judge.target(state.raw), state.response_text, meta.stop_reason).verdict
        ctx.store.put(files, RESPONSE_META, replace(meta, verdict=verdict_record(verdict)))
        judged.append(files.id)
    return judged


async def process(
    ctx: Context,
    work: Work,
    provider: Provider,
    settings: DispatchSettings,
    judge: Judge,
    recorder: RowRecorder,
    book: UsageBook,
    progress: ProgressSink,
    *,
    record: bool,
    stop: asyncio.Event | None = None,
    batch: BatchRunSettings | None = None,
    on_batch_progress: Callable[[BatchProgress], None] | None = None,
    abandon: asyncio.Event | None = None,
) -> ProcessResult:
    """Dispatch ``work.dispatch`` (from :func:`select_work`); see the module docstring.

    With the ``anthropic-batch`` provider the same jobs and hooks go through
    Message Batches (:func:`orchestrator.batches.dispatch.dispatch_batches`,
    configured by ``batch``) instead of the online dispatcher.
    """
    items = {w.key: w for w in work.dispatch}
    parsed_ok: list[str] = []
    recorded: list[str] = []

    def on_done(item: WorkItem, outcome: JobOutcome, received: Received | None) -> None:
        row = item.row
        state = ctx.store.load(item.files)
        if record and outcome.error is None and received is not None and state.response_current():
            result = parse_item(judge, recorder, book, ctx.store, state, row, received.judgement)
            if result.ok:
                parsed_ok.append(item.key)
            recorded.append(item.key)
        elif not outcome.ok:
            reason = outcome.error or "; ".join(outcome.failures) or "no valid response"
            recorder.note(row.phase, row.id, row.filename, reason)

    judging = JudgeHelper.start(judge) if len(items) >= JUDGE_PROCESS_MIN_ITEMS else JudgeHelper(judge, None)
    hooks = BatchHooks(items, judging, ctx.store, book, progress, on_done, provider=provider.name)
    with contextlib.closing(judging), ctx.store.writing() as writer, collector.quiet():
        ledger = Ledger(ctx.batch.ledger_path, writer=writer)
        jobs = [w.job() for w in work.dispatch]
        if isinstance(provider, AnthropicBatchProvider):
            report = await dispatch_batches(
                jobs, provider, hooks, settings, batch_dir=ctx.batch.dir, batch=batch or BatchRunSettings(),
                ledger=ledger, stop=stop, on_progress=on_batch_progress,
                rules=rules_digest(f"{r.section}: {r.item.text}" for r in judge.compiled.explain()),
            )
        else:
            report = await dispatch(jobs, provider, hooks, settings, ledger=ledger, stop=stop, abandon=abandon)
    return ProcessResult(
        work, report, parsed_ok, recorded, hooks.judgements, ledger.appended, hooks.cost_is_estimate
    )
