"""The one pipeline driver: every command that runs stages goes through here.

``run``/``all`` run ACQUIRE → PREPARE → PROCESS → PARSE → RENDER in order;
``acquire``, ``prepare``, ``process``, ``parse`` and ``render`` run one stage;
``estimate`` and ``clean`` look at (or remove) a stage's checkpoints. Before any
call: the estimate, then ``Proceed with processing? [y/N]`` (or ``--yes``;
without a terminal and without ``--yes`` nothing is dispatched and the exit
code is 2). During: progress. After: the BATCH COMPLETE summary, or one JSON
object with ``--json``. Exit 0 when every dispatched row completed, 1
otherwise (a fatal provider error included), 130 after Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from orchestrator.batches.control import in_flight, progress_text
from orchestrator.batches.jobs import BatchProgress, BatchRunSettings
from orchestrator.dispatch.jobs import DispatchSettings
from orchestrator.dispatch.signals import stop_on_signals
from orchestrator.errors import EXIT_FAILED, EXIT_OK, BadInputError, ConfirmationRequired
from orchestrator.pipeline.clean import apply_clean, plan_clean
from orchestrator.pipeline.context import StageResult
from orchestrator.pipeline.estimate import Estimate, estimate
from orchestrator.pipeline.session import Session
from orchestrator.pipeline.stages.acquire import acquire, reference_text
from orchestrator.pipeline.stages.parse import RowRecorder, parse, write_results
from orchestrator.pipeline.stages.prepare import prepare
from orchestrator.pipeline.stages.process import ProcessResult, process, select_work
from orchestrator.pipeline.stages.selection import WorkItem, planned_work
from orchestrator.pipeline.store.checkpoints import write_json
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.pipeline.view.progress import Progress
from orchestrator.pipeline.view.report import ESTIMATE_FILE, render
from orchestrator.pipeline.view.results import row_results
from orchestrator.pipeline.view.summary import RunSummary, command_complete, estimate_text
from orchestrator.pipeline.view.timing import Timings
from orchestrator.providers.base import Provider
from orchestrator.providers.registry import create_provider, resolve_provider_name
from orchestrator.recorder import Recorder


def _finish(sess: Session, results: list[StageResult], output: Path | None) -> int:
    """Print the COMMAND COMPLETE block (or --json) and return the exit code."""
    failed = any(not r.ok for r in results)
    ctx = sess.ctx
    if sess.opts.as_json:
        sess.emit_json(
            {
                "batch_id": ctx.batch.id,
                "phase": ctx.batch.phase,
                "ok": not failed,
                "stages": [r.as_dict() for r in results],
            }
        )
    else:
        items = len(ctx.store.item_ids(ctx.batch))
        bad = {i for r in results for i, _ in (*r.blocked, *r.failed)}
        sess.say()
        sess.say(
            command_complete(
                f"orchestrate {sess.command}",
                sess.command,
                ctx.batch.id,
                items,
                items - len(bad),
                None,
                output,
                failed=failed,
            )
        )
    return EXIT_FAILED if failed else EXIT_OK


def run_simple(sess: Session, stage: str) -> int:
    """ACQUIRE, PREPARE, PARSE or RENDER on its own."""
    ctx = sess.ctx
    if stage != "acquire" and not ctx.batch.batch_file.exists():
        raise BadInputError(
            f"batch {ctx.batch.id!r} has no items yet",
            hint=f"run `orchestrate acquire` first (e.g. {sess.rerun_command('acquire')})",
        )
    with sess.recorder() as rec, ctx.store.writing():
        if stage == "acquire":
            result = acquire(ctx)
        elif stage == "prepare":
            result = prepare(ctx)
        elif stage == "parse":
            result = parse(ctx, sess.judge(), rec, sess.book())
        else:
            result = StageResult("render")
    if stage == "parse":
        write_results(sess.reload())
    if stage == "render":
        ctx = sess.reload()
        result = render(ctx, row_results(ctx, sess.book()))
    sess.stage_lines(result)
    output = ctx.batch.report_path if stage == "render" else ctx.batch.dir
    return _finish(sess, [result], output)


def optional_provider(name: str | None) -> Provider | None:
    """The provider for counting tokens, or None when none is configured (local estimate).

    A provider that is named but wrong (unknown, or badly configured) is still bad input.
    """
    if name is None:
        try:
            resolve_provider_name(None)
        except BadInputError:
            return None
    return create_provider(name)


async def make_estimate(
    sess: Session, work: list[WorkItem], provider: Provider | None, reused: int, *, save: bool = True
) -> Estimate:
    """The estimate for ``work``; with ``save``, kept in ``estimate.json`` with the ledger's length now."""
    ctx = sess.ctx
    est = await estimate(
        ctx.batch.id,
        work,
        ctx.items(),
        reference_text(ctx.plan),
        ctx.models,
        provider,
        workers=sess.workers,
        reused=reused,
    )
    if save and ctx.batch.dir.exists():
        calls_before = sess.book().lines
        write_json(ctx.batch.dir / ESTIMATE_FILE, {**est.as_dict(), "ledger_calls_before": calls_before})
    return est


def run_estimate(sess: Session) -> int:
    """``estimate``: what PROCESS would spend if the stages before it ran now.

    For a batch that already has items, the items in it (what ``process
    --batch-id`` sends after ``prepare``); pending rows not acquired yet are
    named but not counted. For a new batch, every pending row (what ``all``
    sends). Nothing is written: ``estimate.json`` keeps the estimate shown
    before the last PROCESS, which the report compares with what it spent.
    """
    batch_only = bool(sess.ctx.store.item_ids(sess.ctx.batch))
    work = planned_work(sess.ctx, batch_only=batch_only)
    provider = optional_provider(sess.ctx.batch.settings.provider)

    async def go() -> Estimate:
        try:
            est = await make_estimate(sess, work.dispatch, provider, len(work.reuse), save=False)
        finally:
            if provider is not None:
                await provider.aclose()
        est.not_acquired = len(work.not_acquired)
        return est

    est = asyncio.run(go())
    if sess.opts.as_json:
        sess.emit_json(est.as_dict())
    else:
        sess.say(estimate_text(est))
    return EXIT_OK


def run_clean(sess: Session, stage: str) -> int:
    """``clean``: list what goes, ask (or ``--yes``), delete, set rows back to pending."""
    ctx = sess.ctx
    plan = plan_clean(ctx, stage)
    sess.say(plan.describe())
    if plan.empty:
        return EXIT_OK
    if not sess.opts.yes:
        if not sess.term.interactive:
            raise ConfirmationRequired(
                "not confirmed: nothing was deleted", hint="pass --yes to delete the files listed above"
            )
        if not sess.term.ask("Delete these files?"):
            sess.say("Cancelled: nothing was deleted.")
            return EXIT_FAILED
    with Recorder(ctx.batch.plan_path, wait=sess.opts.wait) as rec:
        apply_clean(plan, rec, ledger_lines=sess.book().lines)
    sess.say(f"Cleaned {len(plan.files) + len(plan.outputs)} file(s); {len(plan.outputs)} row(s) set back to pending.")
    if sess.opts.as_json:
        sess.emit_json(
            {
                "batch_id": ctx.batch.id,
                "stage": stage,
                "deleted": [str(p) for p in plan.files] + [str(p) for p, _ in plan.outputs],
                "pending_again": [row.id for _, row in plan.outputs],
                "kept": [str(p) for p, _ in plan.kept],
            }
        )
    return EXIT_OK



EXIT_INTERRUPTED = 130


@dataclass
class RunState:
    """What the stages of one command produced, for the summary."""

    stages: list[StageResult] = field(default_factory=list)
    processed: ProcessResult | None = None
    estimate: Estimate | None = None
    declined: bool = False
    calls_before: int = 0  # ledger lines before this command


def _stopping(sess: Session) -> None:
    print(
        "Stopping: no new calls; finishing the calls in flight (Ctrl-C again to abort)", file=sess.term.err, flush=True
    )


def _confirm(sess: Session) -> bool:
    if sess.opts.yes:
        return True
    if not sess.term.interactive:
        raise ConfirmationRequired(
            "processing spends money and was not confirmed: nothing was dispatched",
            hint="review the estimate above, then pass --yes to process without asking",
        )
    return sess.term.ask("Proceed with processing?")


async def _process(sess: Session, rec: RowRecorder, book: UsageBook, state: RunState, *, record: bool) -> None:
    ctx = sess.ctx
    judge = sess.judge()
    work = select_work(ctx, judge, book)
    batch = _batch_settings(sess) if resolve_provider_name(ctx.batch.settings.provider) == "anthropic-batch" else None
    held = in_flight(ctx.batch.dir, [(w.key, w.request_key) for w in work.dispatch])
    if held and batch is None:  # an online run must not pay again for what a batch still holds
        why = "in a Message Batch still processing: collect it with --provider anthropic-batch (or cancel it)"
        work.blocked += [(w.key, why) for w in work.dispatch if w.key in held]
        work.dispatch = [w for w in work.dispatch if w.key not in held]
    head = (
        f"PROCESS: {len(work.dispatch)} to dispatch, {len(work.reuse)} response(s) already received, "
        f"{len(work.not_pending)} row(s) not pending"
    )
    head += f", {len(work.blocked)} blocked" if work.blocked else ""
    sess.say(head + (f", {len(work.waiting)} waiting" if work.waiting else ""))
    for item, why in [*work.blocked, *work.waiting]:
        sess.say(f"  {item}: {why}")
    if not work.dispatch:
        state.stages.append(StageResult("process", skipped=work.reuse, blocked=work.blocked, waiting=work.waiting))
        return
    settings = ctx.batch.settings
    provider = create_provider(settings.provider)
    if provider.runs_agents:
        work.dispatch = [item.for_agent(ctx.plan) for item in work.dispatch]
    try:
        new = [w for w in work.dispatch if w.key not in held]
        if held:
            sess.say(f"{len(held)} row(s) already submitted in Message Batches: collected, not sent again")
        if new:
            state.estimate = await make_estimate(sess, new, provider, len(work.reuse))
            sess.say(estimate_text(state.estimate))
        if new and not _confirm(sess):
            state.declined = True
            sess.say("Cancelled: nothing was dispatched.")
            return
        models = ", ".join(sorted({w.model.id for w in work.dispatch}))
        dispatch_settings = DispatchSettings(
            workers=sess.workers, repair_attempts=sess.repair_attempts, max_cost=sess.opts.max_cost
        )
        stop = asyncio.Event()
        sess.say()
        with (
            stop_on_signals(stop, on_first=lambda: _stopping(sess)),
            Progress(
                ctx.batch.id,
                workers=sess.workers,
                models=models,
                total=len(work.dispatch),
                estimated_tokens=state.estimate.tokens if state.estimate else 0,
                stream=sess.text_stream,
                live=sess.term.live and not sess.opts.as_json,
            ) as progress,
        ):
            state.processed = await process(
                ctx, work, provider, dispatch_settings, judge, rec, book, progress, record=record, stop=stop,
                batch=batch, on_batch_progress=lambda p: _batch_line(sess, p),
            )
    finally:
        await provider.aclose()
    report = state.processed.report
    if batch is not None and report.unfinished:
        sess.say(f"{len(report.unfinished)} row(s) still in Message Batches: `{sess.rerun_command('process')}` "
                 "collects them (`orchestrate batches status` shows their progress)")
    state.stages.append(
        StageResult(
            "process",
            done=[o.key for o in report.outcomes],
            skipped=work.reuse,
            blocked=work.blocked,
            waiting=work.waiting,
            failed=[(o.key, o.error or "; ".join(o.failures)) for o in report.outcomes if not o.ok],
        )
    )


#: Seconds before the first poll of a Message Batch (then x1.5, up to a minute); tests set it low.
POLL_VARIABLE = "ORCHESTRATE_BATCH_POLL_S"


def _batch_settings(sess: Session) -> BatchRunSettings:
    """The Message Batches settings of this command (``--provider anthropic-batch``)."""
    o, base = sess.opts, BatchRunSettings()
    poll = float(os.environ.get(POLL_VARIABLE) or base.poll_initial_s)
    return replace(
        base,
        wait=not o.no_wait,
        repair_online=o.repair_online,
        retry_exhausted=o.retry_exhausted,
        max_attempts=o.max_attempts or base.max_attempts,
        max_requests=o.batch_max_requests or base.max_requests,
        max_bytes=o.batch_max_bytes or base.max_bytes,
        poll_initial_s=poll,
        poll_max_s=max(poll, min(base.poll_max_s, poll * 12)),
    )


def _batch_line(sess: Session, progress: BatchProgress) -> None:
    print(progress_text(progress), file=sess.term.err, flush=True)


def run_process(sess: Session, *, everything: bool) -> int:
    """``process`` (``everything=False``) or ``all``/``run`` (every stage)."""
    ctx, state = sess.ctx, RunState()
    if not everything and not ctx.batch.batch_file.exists():
        raise BadInputError(
            f"batch {ctx.batch.id!r} has no items yet",
            hint=f"run `{sess.rerun_command('acquire')}` and prepare first, or `orchestrate all` for every stage",
        )
    resolve_provider_name(ctx.batch.settings.provider)  # bad input before anything is written
    book = sess.book()
    state.calls_before = book.totals()[2]
    clock = Timings()
    with sess.recorder() as rec, clock.span("record"), ctx.store.writing():
        if everything:
            for stage in (acquire, prepare):
                with clock.span(stage.__name__):
                    state.stages.append(stage(ctx))
                sess.stage_lines(state.stages[-1])
        with clock.span("process"):
            asyncio.run(_process(sess, rec, book, state, record=everything))
        interrupted = _stopped(state) == "interrupted"
        if everything and not interrupted and not state.declined:
            judge = sess.judge()
            done = frozenset(state.processed.parsed if state.processed else ())
            with clock.span("parse"):
                state.stages.append(parse(ctx, judge, rec, book, done))
            sess.stage_lines(state.stages[-1])
    if state.declined:
        return EXIT_FAILED
    with clock.span("reload"):
        ctx = sess.reload()
    if everything:
        with clock.span("results"):
            write_results(ctx)
    if everything and not interrupted:
        with clock.span("render"):
            state.stages.append(render(ctx, row_results(ctx, book)))
        sess.stage_lines(state.stages[-1])
    code = _summarise(sess, state, book, everything=everything)
    clock.report()
    return code


def _stopped(state: RunState) -> str | None:
    return state.processed.report.stopped if state.processed else None


def _summarise(sess: Session, state: RunState, book: UsageBook, *, everything: bool) -> int:
    ctx = sess.ctx
    report = state.processed.report if state.processed else None
    rows = row_results(ctx, book, report)
    all_usage, all_cost, _ = book.totals()
    summary = RunSummary(
        batch_id=ctx.batch.id,
        phase=ctx.batch.phase,
        stage=sess.command,
        data_dir=ctx.batch.dir,
        report_path=ctx.batch.report_path if ctx.batch.report_path.exists() else None,
        rows=rows,
        all_runs_usage=all_usage,
        all_runs_cost=all_cost,
        estimate=state.estimate,
        rerun_command=sess.rerun_command("all" if everything else "process"),
        parse_command=sess.rerun_command("parse"),
    )
    if report is not None:
        summary.dispatched = len(report.outcomes) + len(report.unfinished)
        summary.attempts = state.processed.attempts if state.processed else 0
        summary.repairs = sum(o.repairs for o in report.outcomes)
        summary.usage, summary.cost_usd = report.usage, report.cost_usd
        summary.stopped = report.stopped
        summary.stop_message = report.fatal.render() if report.fatal else None
        summary.completed_now = len(state.processed.parsed_ok) if state.processed else 0
    parsed = [s for s in state.stages if s.stage == "parse"]
    if parsed:
        summary.completed_now = len(
            {
                *(state.processed.parsed_ok if state.processed else []),
                *(i for i in parsed[0].done if i not in dict(parsed[0].failed)),
            }
        )
    touched = {key for s in state.stages if s.stage in ("process", "parse") for key in (*s.done, *dict(s.failed))}
    bad = [r for r in rows if r.kind in ("failed", "parse_error") and r.item in touched]
    blocked = any(s.blocked for s in state.stages)
    code = EXIT_OK
    if summary.stopped == "interrupted":
        code = EXIT_INTERRUPTED
    elif summary.stopped or bad or blocked:
        code = EXIT_FAILED
    if report is not None and report.fatal is not None:
        print(f"error: {report.fatal.render()}", file=sess.term.err, flush=True)
    if sess.opts.as_json:
        sess.emit_json({**summary.as_dict(), "stages": [s.as_dict() for s in state.stages]})
        return code
    sess.say()
    sess.say(summary.text())
    sess.say()
    ok = summary.count("complete") + (0 if everything else summary.count("pending"))
    sess.say(
        command_complete(
            f"orchestrate {sess.command}",
            sess.command,
            ctx.batch.id,
            len(rows),
            ok,
            summary.cost_usd,
            summary.report_path or ctx.batch.dir,
            failed=code != EXIT_OK,
        )
    )
    return code
