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
from orchestrator.doctor import SkippedRule, skipped_rules
from orchestrator.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BadInputError,
    ConfirmationRequired,
    ConnectionFailed,
    EnvironmentFailure,
)
from orchestrator.pipeline.clean import apply_clean, plan_clean
from orchestrator.pipeline.context import StageResult
from orchestrator.pipeline.estimate import Estimate, estimate
from orchestrator.pipeline.judge import Judge
from orchestrator.pipeline.provenance import provider_hint, refuse_mixed_providers, simulated
from orchestrator.pipeline.session import Session
from orchestrator.pipeline.stages.acquire import acquire, reference_text
from orchestrator.pipeline.stages.parse import RowRecorder, parse, write_results
from orchestrator.pipeline.stages.prepare import prepare
from orchestrator.pipeline.stages.process import ProcessResult, process, select_work
from orchestrator.pipeline.stages.selection import Work, WorkItem, planned_work
from orchestrator.pipeline.store.checkpoints import write_json
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.pipeline.store.writer import Writer
from orchestrator.pipeline.view.header import RunHeader, endpoint, model_groups, provider_line
from orchestrator.pipeline.view.progress import Progress
from orchestrator.pipeline.view.report import ESTIMATE_FILE, render
from orchestrator.pipeline.view.results import row_results
from orchestrator.pipeline.view.summary import RunSummary, Tally, command_complete, estimate_text, shown
from orchestrator.pipeline.view.timing import Timings
from orchestrator.providers.base import Provider
from orchestrator.providers.registry import create_provider, resolve_provider_name
from orchestrator.recorder import Recorder
from orchestrator.request_size import check_request
from orchestrator.validators.lint import lint_preflight


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
        rows = row_results(ctx, sess.book())
        notes = RunSummary(ctx.batch.id, ctx.batch.phase, "render", ctx.batch.dir, None, rows, skipped=_skipped(sess))
        result = render(ctx, rows, notes)
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
    provider = optional_provider(sess.opts.provider)

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
        if provider is not None:  # the provider that counted the tokens, and that a run with these options uses
            sess.say(provider_line(provider.name, sess.provider_why))
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


#: how an :class:`EnvironmentFailure`'s message starts (a job's error that is the machine's, not the model's)
_ENVIRONMENT = "a check cannot run on this machine"


@dataclass
class RunState:
    """What the stages of one command produced, for the summary."""

    stages: list[StageResult] = field(default_factory=list)
    processed: ProcessResult | None = None
    estimate: Estimate | None = None
    declined: bool = False
    calls_before: int = 0  # ledger lines before this command
    work: Work | None = None  # what PROCESS chose to do with each item
    header: RunHeader | None = None
    abandoned: int = 0  # calls in flight when a second Ctrl-C abandoned them
    clock: Timings = field(default_factory=Timings)  # ORCHESTRATE_TIMINGS=1: where the time went


def _stopping(sess: Session, progress: Progress, *, online: bool) -> None:
    """The first Ctrl-C: what is in flight, and what a second press does."""
    progress.flush()  # the rows finished so far come before the message
    if not online:
        print("Stopping: the Message Batches already submitted keep running on the API's side; "
              f"`{sess.rerun_command('process')} --provider anthropic-batch` collects them",
              file=sess.term.err, flush=True)
        return
    grace = DispatchSettings().grace_s
    print(
        f"Stopping: no new calls; {progress.in_flight} call(s) in flight are finishing (up to {grace:g} s). "
        "Press Ctrl-C again to abandon them: responses already received are kept and the summary is printed.",
        file=sess.term.err,
        flush=True,
    )


def _abandoning(sess: Session, progress: Progress, abandon: asyncio.Event, state: RunState) -> None:
    progress.flush()
    state.abandoned = progress.in_flight
    print(
        f"Abandoning {state.abandoned} call(s) in flight (their answers, if any, are lost; "
        "a rerun sends those rows again). Writing what was received...",
        file=sess.term.err,
        flush=True,
    )
    abandon.set()


def _confirm(sess: Session) -> bool:
    """``--yes``, or the ``[y/N]`` question (``n`` raises NotConfirmed: exit 2; Ctrl-C: exit 130)."""
    if sess.opts.yes:
        return True
    if not sess.term.interactive:
        raise ConfirmationRequired(
            "processing spends money and was not confirmed: nothing was dispatched",
            hint="review the estimate above, then pass --yes to process without asking",
        )
    return sess.term.ask("Proceed with processing?")


def _skipped(sess: Session) -> list[SkippedRule]:
    """Rules this command will not machine-check (untrusted linter, placeholders, free text)."""
    compiled = sess.judge().compiled
    return skipped_rules(compiled, trusted=compiled.trust_plan)


def _create_provider(sess: Session, name: str) -> Provider:
    if sess.opts.keep_sessions:  # claude-code only (checked by bound_provider)
        return create_provider(name, keep_sessions=True)
    return create_provider(name)


async def _first_estimate(sess: Session, work: list[WorkItem], provider: Provider, reused: int) -> Estimate:
    """The estimate, whose token count is also the run's connection check (nothing is sent if it fails)."""
    try:
        return await make_estimate(sess, work, provider, reused)
    except ConnectionFailed as exc:
        raise ConnectionFailed(
            f"{exc.message} (the estimate's free token count, tried twice): nothing was dispatched",
            url=exc.url,
            hint=exc.hint,
        ) from exc


async def _process(sess: Session, rec: RowRecorder, book: UsageBook, state: RunState, *, record: bool) -> None:
    ctx = sess.ctx
    judge = sess.judge()
    work = state.work = select_work(ctx, judge, book)
    name = sess.provider_name()
    batch = _batch_settings(sess) if name == "anthropic-batch" else None
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
        sess.say(provider_line(name, sess.provider_why) + ": nothing to send")
        state.stages.append(StageResult("process", skipped=work.reuse, blocked=work.blocked, waiting=work.waiting))
        return
    for sending in work.dispatch:  # a request that cannot fit its model's window is bad input, never sent
        check_request(sending.request, sending.model, sending.row, ctx.plan.path)
    with state.clock.span("provider"):
        provider = _create_provider(sess, name)
    if provider.runs_agents:
        work.dispatch = [item.for_agent(ctx.plan) for item in work.dispatch]
    try:
        state.header = RunHeader(name, sess.provider_why, endpoint(provider), model_groups(work.dispatch),
                                 _skipped(sess))
        sess.say(state.header.text())
        new = [w for w in work.dispatch if w.key not in held]
        if held:
            sess.say(f"{len(held)} row(s) already submitted in Message Batches: collected, not sent again")
        if new:
            with state.clock.span("estimate"):
                state.estimate = await _first_estimate(sess, new, provider, len(work.reuse))
            sess.say(estimate_text(state.estimate, simulated=simulated(name)))
        if new and not _confirm(sess):
            state.declined = True
            sess.say("Cancelled: nothing was dispatched.")
            return
        with state.clock.span("dispatch"):
            await _dispatch(sess, work, provider, judge, rec, book, state, record=record, batch=batch)
    finally:
        await provider.aclose()
    assert state.processed is not None
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


async def _dispatch(
    sess: Session,
    work: Work,
    provider: Provider,
    judge: Judge,
    rec: RowRecorder,
    book: UsageBook,
    state: RunState,
    *,
    record: bool,
    batch: BatchRunSettings | None,
) -> None:
    """PROCESS under the progress display; Ctrl-C once stops, twice abandons the calls in flight."""
    ctx = sess.ctx
    models = ", ".join(sorted({w.model.id for w in work.dispatch}))
    settings = DispatchSettings(workers=sess.workers, repair_attempts=sess.repair_attempts, max_cost=sess.opts.max_cost)
    stop, abandon = asyncio.Event(), asyncio.Event()
    sess.say()
    with Progress(
        ctx.batch.id,
        workers=sess.workers,
        models=models,
        total=len(work.dispatch),
        estimated_tokens=state.estimate.tokens if state.estimate else 0,
        stream=sess.text_stream,
        live=sess.term.live and not sess.opts.as_json,
        titles={w.key: w.row.title for w in work.dispatch},
    ) as progress, stop_on_signals(
        stop,
        on_first=lambda: _stopping(sess, progress, online=batch is None),
        # Message Batches run on Anthropic's side: a second Ctrl-C there is Python's own interrupt
        on_second=(lambda: _abandoning(sess, progress, abandon, state)) if batch is None else None,
    ):
        state.processed = await process(
            ctx, work, provider, settings, judge, rec, book, progress, record=record, stop=stop,
            batch=batch, on_batch_progress=lambda p: _batch_line(sess, p), abandon=abandon,
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


def _clean_command(sess: Session) -> str:
    return f"{sess.rerun_command('clean')} --clean-stage process --yes"


def bound_provider(sess: Session, book: UsageBook) -> str:
    """This command's provider, checked against the batch's responses before anything is written.

    Bad input (exit 2, nothing written) when none can be chosen (the hint names
    the provider the batch's responses came from), when the batch holds
    responses from another provider (see :mod:`orchestrator.pipeline.provenance`),
    or when ``--keep-sessions`` is given to a provider that has no sessions.
    """
    ctx, rerun = sess.ctx, sess.rerun_command(sess.command)
    try:
        name = sess.provider_name()
    except BadInputError as exc:
        known = provider_hint(ctx, book, rerun)
        if known is None:
            raise
        raise BadInputError(exc.message, hint=f"{known};\n    {exc.hint or ''}".rstrip()) from None
    refuse_mixed_providers(ctx, book, name, rerun, _clean_command(sess))
    if sess.opts.keep_sessions and name != "claude-code":
        raise BadInputError(
            f"--keep-sessions applies to --provider claude-code, not {name}",
            hint="drop --keep-sessions, or add --provider claude-code",
        )
    return name


def lint_preflight_check(sess: Session) -> None:
    """A trusted plan whose linter is not installed stops here: before any call, nothing written."""
    compiled = sess.judge().compiled
    if not compiled.trust_plan:
        return
    problems = lint_preflight(compiled.expectations, compiled.plan.base_dir)
    if problems:
        hints = "; ".join(dict.fromkeys(p.hint for p in problems))
        raise EnvironmentFailure(
            [p.render() for p in problems],
            hint=f"{hints}; `orchestrate doctor {shown(sess.ctx.batch.plan_path)} --trust-plan` checks them all "
            "(nothing was dispatched)",
        )


def run_process(sess: Session, *, everything: bool) -> int:
    """``process`` (``everything=False``) or ``all``/``run`` (every stage)."""
    ctx, state = sess.ctx, RunState()
    if not everything and not ctx.batch.batch_file.exists():
        raise BadInputError(
            f"batch {ctx.batch.id!r} has no items yet",
            hint=f"run `{sess.rerun_command('acquire')}` and prepare first, or `orchestrate all` for every stage",
        )
    book = sess.book()
    book.provider = bound_provider(sess, book)  # bad input before anything is written
    lint_preflight_check(sess)
    state.calls_before = book.totals()[2]
    clock = state.clock
    with ctx.store.writing() as writer:  # one writer for the command: its end waits for every checkpoint
        code = _run_stages(sess, state, clock, writer, everything=everything)
        with clock.span("checkpoints"):
            writer.drain()
    clock.report()
    return code


def _run_stages(sess: Session, state: RunState, clock: Timings, writer: Writer, *, everything: bool) -> int:
    ctx, book = sess.ctx, sess.book()
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
    writer.release_deferred()
    if state.declined:
        return EXIT_FAILED
    with clock.span("reload"):
        ctx = sess.reload()
    if everything:
        with clock.span("results"):
            write_results(ctx)
    with clock.span("summary"):
        summary, code = _summarise(sess, state, book)
    if everything and not interrupted:
        with clock.span("render"):
            state.stages.append(render(ctx, summary.rows, summary))
        sess.stage_lines(state.stages[-1])
        summary.report_path = ctx.batch.report_path
    return _print_summary(sess, state, summary, code, everything=everything)


def _stopped(state: RunState) -> str | None:
    return state.processed.report.stopped if state.processed else None


def _tally(state: RunState, items: int) -> Tally | None:
    """What PROCESS did with each row: one computation for the text, ``--json`` and the report."""
    work = state.work
    if work is None:
        return None
    tally = Tally(items=items, reused=len(work.reuse), already_complete=len(work.not_pending))
    tally.not_dispatched = {"stopped": 0, "blocked": len(work.blocked), "waiting": len(work.waiting)}
    processed = state.processed
    if processed is not None:
        report = processed.report
        tally.dispatched = len(report.outcomes) + len(report.unfinished)
        tally.attempts, tally.repairs = processed.attempts, sum(o.repairs for o in report.outcomes)
        for outcome in report.outcomes:
            if outcome.ok:
                tally.completed += 1
            elif outcome.error is None:
                tally.invalid += 1
            else:
                environment = report.environment is not None and outcome.error.startswith(_ENVIRONMENT)
                cause = "environment" if environment else "provider"
                tally.failed[cause] = tally.failed.get(cause, 0) + 1
        for key in report.unfinished:
            if key == report.fatal_key and report.fatal is not None:
                cause = "connection" if isinstance(report.fatal, ConnectionFailed) else "fatal"
                tally.failed[cause] = tally.failed.get(cause, 0) + 1
            else:
                tally.unfinished += 1
        tally.abandoned = min(state.abandoned, tally.unfinished)
        tally.not_dispatched["stopped"] = len(report.not_started)
    counted = tally.dispatched + tally.reused + tally.not_dispatched_total + tally.already_complete
    tally.not_dispatched["limit"] = max(0, items - counted)
    return tally


def _summarise(sess: Session, state: RunState, book: UsageBook) -> tuple[RunSummary, int]:
    """The summary of this command (the one computation behind the text, ``--json`` and the report)."""
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
        rerun_command=sess.rerun_command(sess.command),
        parse_command=sess.rerun_command("parse"),
        tally=_tally(state, len(rows)),
        provider=book.provider,
        header=state.header.as_dict() if state.header else None,
        simulated_cost_all_runs=book.cost_from("sim"),
        cost_is_estimate=bool(state.processed and state.processed.cost_is_estimate),
        skipped=_skipped(sess),
        clean_command=_clean_command(sess),
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
    return summary, code


def _print_summary(sess: Session, state: RunState, summary: RunSummary, code: int, *, everything: bool) -> int:
    report = state.processed.report if state.processed else None
    if report is not None and report.fatal is not None:
        print(f"error: {report.fatal.render()}", file=sess.term.err, flush=True)
    if sess.opts.as_json:
        sess.emit_json({**summary.as_dict(), "stages": [s.as_dict() for s in state.stages]})
        return code
    sess.say()
    sess.say(summary.text())
    sess.say()
    ok = summary.count("complete") + (0 if everything else summary.count("pending"))
    note = "simulated" if summary.simulated else "the client's estimate" if summary.cost_is_estimate else None
    sess.say(
        command_complete(
            f"orchestrate {sess.command}",
            sess.command,
            sess.ctx.batch.id,
            len(summary.rows),
            ok,
            summary.cost_usd,
            summary.report_path or sess.ctx.batch.dir,
            failed=code != EXIT_OK,
            dispatched=summary.dispatched,
            cost_note=note,
        )
    )
    return code
