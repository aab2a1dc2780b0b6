"""Each item's standing after a stage: complete, failed, parse error, or pending.

*failed*: its calls failed (error.json); *parse error*: its latest response
failed validation; *pending*: waiting for a stage, or not finished because
the run stopped (never counted as failed: nothing was tried and lost).

Read from the plan (re-read after the recorder's flush), the checkpoints and
the usage book, so the summary, ``--json`` and the report agree.
"""

from __future__ import annotations

from orchestrator.dispatch.jobs import DispatchReport
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.store.checkpoints import ItemState
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.pipeline.view.summary import WAITING_FOR_PARSE, RowResult
from orchestrator.plan.model import Row


def _classify(state: ItemState, row: Row | None, stopped: set[str], stop: str | None) -> tuple[str, str | None]:
    """(kind, reason) for an item whose row is not complete."""
    if row is None:
        return "failed", "the row is no longer in the plan"
    if state.id in stopped:  # never sent, or left without a verdict: nothing failed, a rerun sends it
        return "pending", f"not finished: the run stopped ({stop}); a rerun sends it"
    parsed = state.parsed
    if parsed is not None and state.parsed_current() and not parsed.ok:
        return "parse_error", "; ".join(parsed.failures) or "invalid output"
    meta = state.response_meta
    verdict = meta.verdict if meta is not None else None
    if verdict is not None and state.response_current():
        if not verdict.ok:
            return "parse_error", "; ".join(verdict.failures) or "invalid output"
        return "pending", WAITING_FOR_PARSE
    error = state.error
    if error is not None and error.outcome.error:
        return "failed", error.outcome.error
    if not row.is_pending:
        return "pending", f"row status is {row.status!r}"
    if state.prompt_meta is None:
        return "pending", "waiting for prepare"
    return "pending", "waiting for process"


def row_results(ctx: Context, book: UsageBook, report: DispatchReport | None = None) -> list[RowResult]:
    """One :class:`RowResult` per item in scope."""
    rows = ctx.rows_by_item()
    stopped = set(report.pending) if report is not None and report.stopped else set()
    fatal_key = report.fatal_key if report is not None and report.fatal is not None else None
    stopped.discard(fatal_key or "")
    stop = report.stopped if report is not None else None
    results: list[RowResult] = []
    for files in ctx.items():
        state = ctx.store.load(files)
        row = rows.get(files.id)
        usage, cost, calls = book.for_key(files.id)
        raw, meta = state.raw, state.response_meta
        model = (meta.model if meta else "") or (row.model if row else (raw.model if raw else ""))
        complete = row is not None and row.status == "complete"
        kind, reason = ("complete", None) if complete else _classify(state, row, stopped, stop)
        if not complete and files.id == fatal_key and report is not None and report.fatal is not None:
            kind, reason = "failed", report.fatal.render().splitlines()[0]
        output = state.parsed.output if complete and state.parsed else None
        used = book.providers_of(files.id)
        provider = (meta.provider if meta else None) or (used[-1] if used else None)
        results.append(
            RowResult(
                item=files.id,
                row_id=row.id if row else (raw.row_id if raw else "?"),
                title=row.title if row else (raw.title if raw else ""),
                status=row.status if row else "missing",
                model=model,
                attempts=calls,
                tokens=usage.total,
                cost_usd=cost,
                ok=complete,
                kind=kind,
                reason=reason,
                output=output,
                provider=str(provider) if provider else None,
            )
        )
    return results
