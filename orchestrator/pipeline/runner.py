"""The cheap commands: acquire, prepare, parse, render, estimate and clean.

Each returns the exit code. Every stage except ``estimate`` holds the plan's
lock (through the recorder) so two runs never write one batch at once.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from orchestrator.dispatch.ledger import Ledger
from orchestrator.errors import EXIT_FAILED, EXIT_OK, BadInputError, ConfirmationRequired
from orchestrator.pipeline.checkpoints import write_json
from orchestrator.pipeline.clean import apply_clean, plan_clean
from orchestrator.pipeline.context import StageResult
from orchestrator.pipeline.estimate import Estimate, estimate
from orchestrator.pipeline.parse import Judge, parse, write_results
from orchestrator.pipeline.report import ESTIMATE_FILE, render
from orchestrator.pipeline.results import row_results
from orchestrator.pipeline.session import Session
from orchestrator.pipeline.stages import acquire, prepare, reference_text
from orchestrator.pipeline.summary import command_complete, estimate_text
from orchestrator.pipeline.work import WorkItem, planned_work
from orchestrator.providers.base import Provider
from orchestrator.providers.registry import create_provider, resolve_provider_name
from orchestrator.recorder import Recorder
from orchestrator.validators import compile_plan


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
        items = len(ctx.batch.item_ids())
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
    with Recorder(ctx.batch.plan_path, wait=sess.opts.wait) as rec:
        if stage == "acquire":
            result = acquire(ctx)
        elif stage == "prepare":
            result = prepare(ctx)
        elif stage == "parse":
            judge = Judge(compile_plan(ctx.plan, trust_plan=sess.opts.trust_plan), ctx.plan.base_dir)
            result = parse(ctx, judge, rec, sess.book())
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
        calls_before = sum(1 for _ in Ledger(ctx.batch.ledger_path).entries())
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
    batch_only = bool(sess.ctx.batch.item_ids())
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
        apply_clean(plan, rec)
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
