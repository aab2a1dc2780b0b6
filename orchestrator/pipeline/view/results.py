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
    if parsed is not None and state.parsed_current() and not parsed.get("ok"):
        return "parse_error", "; ".join(parsed.get("failures") or []) or "invalid output"
    meta = state.response_meta
    verdict = (meta or {}).get("verdict")
    if meta is not None and state.response_current() and isinstance(verdict, dict):
        if not verdict.get("ok"):
            return "parse_error", "; ".join(verdict.get("failures") or []) or "invalid output"
        return "pending", WAITING_FOR_PARSE
    error = state.error
    if error is not None and error.get("error"):
        return "failed", str(error["error"])
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
        raw_row = (state.raw or {}).get("inputs", {}).get("row", {})
        model = str((state.response_meta or {}).get("model") or (row.model if row else raw_row.get("model", "")))
        complete = row is not None and row.status == "complete"
        kind, reason = ("complete", None) if complete else _classify(state, row, stopped, stop)
        if not complete and files.id == fatal_key and report is not None and report.fatal is not None:
            kind, reason = "failed", report.fatal.render().splitlines()[0]
        output = (state.parsed or {}).get("output") if complete else None
        used = book.providers_of(files.id)
        provider = (state.response_meta or {}).get("provider") or (used[-1] if used else None)
        results.append(
            RowResult(
                item=files.id,
                row_id=row.id if row else str(raw_row.get("id", "?")),
                title=row.title if row else str(raw_row.get("title", "")),
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
