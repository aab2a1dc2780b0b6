"""Each item's standing after a stage: complete, failed, parse error, or waiting.

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
    if state.id in stopped:
        return "failed", f"not dispatched: the run stopped ({stop})"
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
        output = (state.parsed or {}).get("output") if complete else None
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
            )
        )
    return results
