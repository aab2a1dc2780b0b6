"""PROCESS: call the model for every pending item that has no usable response.

The only stage that spends money. Before dispatching, responses a killed run
received but never judged are judged from disk, so none is paid for twice.
In ``run``/``all`` (``record=True``) each finished item is parsed and recorded
at once, so a Ctrl-C or a fatal error keeps every row that finished.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from orchestrator.dispatch.engine import dispatch
from orchestrator.dispatch.jobs import DispatchReport, DispatchSettings, JobOutcome
from orchestrator.dispatch.ledger import Ledger
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.stages.parse import Judge, RowRecorder, parse_item
from orchestrator.pipeline.stages.process_hooks import BatchHooks, ProgressSink, verdict_dict
from orchestrator.pipeline.stages.selection import Work, WorkItem, process_work
from orchestrator.pipeline.store.checkpoints import write_json
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.providers.base import Provider


@dataclass
class ProcessResult:
    work: Work
    report: DispatchReport
    parsed_ok: list[str]  # items recorded complete during the run (record mode)
    parsed: list[str]  # items parsed during the run, valid or not (record mode)


def select_work(ctx: Context, judge: Judge) -> Work:
    """Judge what a killed run left unjudged, then choose what to dispatch."""
    judge_unjudged(ctx, judge)
    return process_work(ctx)


def judge_unjudged(ctx: Context, judge: Judge) -> list[str]:
    """Judge, from disk, responses a killed run checkpointed but never checked."""
    judged: list[str] = []
    for files in ctx.items():
        state = files.load()
        meta = state.response_meta
        if meta is None or meta.get("verdict") is not None or not state.response_current():
            continue
        assert state.raw is not None and state.response_text is not None
        verdict = judge.judge(state.raw, state.response_text, meta.get("stop_reason")).verdict
        meta["verdict"] = verdict_dict(verdict)
        write_json(files.response_meta, meta)
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
) -> ProcessResult:
    """Dispatch ``work.dispatch`` (from :func:`select_work`); see the module docstring."""
    items = {w.key: w for w in work.dispatch}
    raws = {key: w.files.load().raw or {} for key, w in items.items()}
    parsed_ok: list[str] = []
    recorded: list[str] = []

    def on_done(item: WorkItem, outcome: JobOutcome) -> None:
        row = item.row
        state = item.files.load()
        if record and outcome.error is None and state.response_current():
            result = parse_item(judge, recorder, book, state, row)  # records, or notes why not
            if result.ok:
                parsed_ok.append(item.key)
            recorded.append(item.key)
        elif not outcome.ok:
            reason = outcome.error or "; ".join(outcome.failures) or "no valid response"
            recorder.note(row.phase, row.id, row.filename, reason)

    hooks = BatchHooks(items, judge, raws, book, progress, on_done)
    report = await dispatch(
        [w.job() for w in work.dispatch],
        provider,
        hooks,
        settings,
        ledger=Ledger(ctx.batch.ledger_path),
        stop=stop,
    )
    return ProcessResult(work, report, parsed_ok, recorded)
