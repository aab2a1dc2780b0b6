"""The seed's text blocks: COST ESTIMATE, BATCH COMPLETE, COMMAND COMPLETE, and --json.

Counting, as the summary prints it: *successful* items have their row
``complete`` in the plan; *failed* items are pending with no usable response
(the call failed, or the run stopped before them); *parse errors* are pending
items whose latest response failed PARSE/validation; *pending* items wait
for a stage (a validated response for ``parse``, a prompt for ``process``).
The four add up to the total.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.models import Usage
from orchestrator.pipeline.estimate import Estimate
from orchestrator.pipeline.view.progress import tree

#: the reason of an item whose validated response only needs PARSE
WAITING_FOR_PARSE = "validated response waiting for parse"


def usd(amount: float) -> str:
    """``$4.00``; four decimals below a dollar, so cheap runs don't all read $0.00."""
    return f"${amount:,.2f}" if amount >= 0.995 else f"${amount:.4f}"


def shown(path: Path, cwd: Path | None = None) -> str:
    """A path as the user would type it: relative to the current folder when inside it."""
    here = (cwd or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(here).as_posix() or "."
    except ValueError:
        return os.fspath(path)


def per_mtok(price: float) -> str:
    """``@ $0.10/MTok``: at least two decimals, more only when the price has them."""
    text = f"{price:.2f}" if round(price, 2) == price else f"{price:g}"
    return f"${text}/MTok"


def _title(text: str) -> list[str]:
    return [text, "=" * len(text)]


def estimate_text(est: Estimate) -> str:
    lines = [*_title(f"COST ESTIMATE: {est.batch_id}"), f"Items: {est.items}"]
    if est.reused:
        lines.append(f"Responses already received (no new call): {est.reused}")
    if est.not_acquired:
        lines.append(
            f"Pending rows not in the batch yet: {est.not_acquired} (not counted; `acquire` or `all` adds them)"
        )
    lines += [
        f"Estimated input tokens: {est.input_tokens:,} ({est.input_method})",
        f"Estimated output tokens: {est.output_tokens:,} ({est.output_method})",
        "Cost Breakdown:",
    ]
    parts: list[str] = []
    for m in est.models:
        u, info = m.usage, m.info
        rows = [f"Input tokens: {usd(m.part('input'))} ({u.input_tokens:,} @ {per_mtok(info.input)})"]
        if m.cached:
            rows.append(
                f"Cache writes: {usd(m.part('cache_write'))} "
                f"({u.cache_creation_input_tokens:,} @ {per_mtok(info.cache_write)})"
            )
            rows.append(
                f"Cache reads: {usd(m.part('cache_read'))} "
                f"({u.cache_read_input_tokens:,} @ {per_mtok(info.cache_read)})"
            )
        rows.append(f"Output tokens: {usd(m.part('output'))} ({u.output_tokens:,} @ {per_mtok(info.output)})")
        cache = (
            "shared prefix cached: written once per worker, then read"
            if m.cached
            else f"shared prefix {m.prefix_tokens:,} tokens: no caching assumed"
        )
        rows.append(cache)
        parts.append(
            f"{info.alias} ({info.id}): {m.items} item(s), {usd(m.cost)}" + (" at batch prices" if m.batch else "")
        )
        parts += [f"│   {line}" for line in tree(rows)]
    parts.append(f"Total: {usd(est.cost)}")
    lines += _tree_nested(parts)
    other = sum(m.info.cost(m.usage, batch=not m.batch) for m in est.models)  # the other way to send it
    if any(m.batch for m in est.models):
        lines.append(f"Online instead (--provider anthropic): {usd(other)}")
    elif est.models:
        lines.append(f"As Message Batches instead (--provider anthropic-batch): {usd(other)}, results within 24 h")
    lines += [
        f"Prices as of {est.prices_as_of} ({est.prices_source})",
        "Note: Add 20-30% buffer for retries.",
    ]
    return "\n".join(lines)


def _tree_nested(parts: list[str]) -> list[str]:
    """Top-level entries get ``├──``/``└──``; lines already indented are kept under them."""
    tops = [i for i, p in enumerate(parts) if not p.startswith("│   ")]
    out: list[str] = []
    for i, part in enumerate(parts):
        if i in tops:
            out.append(f"{'└──' if i == tops[-1] else '├──'} {part}")
        else:
            out.append(part)
    return out


@dataclass
class RowResult:
    """One item's line in the summary, the report and ``--json``."""

    item: str
    row_id: str
    title: str
    status: str  # the row's status in the plan now
    model: str
    attempts: int
    tokens: int
    cost_usd: float
    ok: bool
    kind: str  # complete | failed | parse_error | pending
    reason: str | None = None
    output: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "row": self.row_id,
            "title": self.title,
            "status": self.status,
            "model": self.model,
            "attempts": self.attempts,
            "tokens": self.tokens,
            "cost_usd": round(self.cost_usd, 6),
            "ok": self.ok,
            "result": self.kind,
            "reason": self.reason,
            "output": self.output,
        }


@dataclass
class RunSummary:
    batch_id: str
    phase: int
    stage: str
    data_dir: Path
    report_path: Path | None
    rows: list[RowResult]
    dispatched: int = 0
    completed_now: int = 0
    attempts: int = 0
    repairs: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    all_runs_usage: Usage = field(default_factory=Usage)
    all_runs_cost: float = 0.0
    estimate: Estimate | None = None
    stopped: str | None = None
    stop_message: str | None = None
    rerun_command: str = ""
    parse_command: str = ""

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if r.kind == kind)

    @property
    def pending(self) -> list[RowResult]:
        return [r for r in self.rows if r.kind != "complete"]

    def versus_estimate(self) -> str | None:
        if self.estimate is None or self.dispatched == 0:
            return None
        expected, actual = self.estimate.cost, self.cost_usd
        if expected <= 0:
            expected, actual = float(self.estimate.tokens), float(self.usage.total)
        if expected <= 0:
            return None
        delta = round(100 * (actual - expected) / expected)
        partial = f" (the run stopped: the estimate covers all {self.estimate.items} item(s))" if self.stopped else ""
        if delta == 0:
            return "Matches the estimate (within 1%)" + partial
        return f"{'Over' if delta > 0 else 'Under'} estimate by: {abs(delta)}%" + partial

    def text(self) -> str:
        head = (
            f"BATCH STOPPED ({self.stopped}): {self.batch_id}" if self.stopped else f"BATCH COMPLETE: {self.batch_id}"
        )
        lines = [
            *_title(head),
            f"Total items: {len(self.rows)}",
            f"Successful: {self.count('complete')}",
            f"Failed: {self.count('failed')}",
            f"Parse errors: {self.count('parse_error')}",
        ]
        if self.count("pending"):
            lines.append(f"Pending: {self.count('pending')}")
        if self.report_path is not None:
            lines.append(f"Output: {shown(self.report_path)}")
        if self.stop_message:
            lines.append(f"Stopped because: {self.stop_message}")
        pend = [f"{r.item} (row {r.row_id}): {r.reason or r.kind}" for r in self.pending]
        run = [
            f"Dispatched: {self.dispatched} row(s), {self.attempts} attempt(s), {self.repairs} repair(s)",
            f"Completed: {self.completed_now}",
            f"Still pending: {len(pend)}",
        ]
        lines += ["This Run:", *tree(run)]
        lines += [f"    {line}" for line in tree(pend)]
        u = self.usage
        cost = [
            f"Actual tokens: {u.total:,} (input {u.input_tokens:,}, cache write "
            f"{u.cache_creation_input_tokens:,}, cache read {u.cache_read_input_tokens:,}, "
            f"output {u.output_tokens:,})",
            f"Actual cost: {usd(self.cost_usd)} (this run; all runs of the batch: "
            f"{usd(self.all_runs_cost)}, {self.all_runs_usage.total:,} tokens)",
        ]
        versus = self.versus_estimate()
        if versus:
            cost.append(versus)
        lines += ["Cost Summary:", *tree(cost), "Next Steps:", *self.next_steps()]
        return "\n".join(lines)

    def next_steps(self) -> list[str]:
        steps = []
        if self.report_path is not None:
            steps.append(f"Review output at {shown(self.report_path)}")
        bad = [r for r in self.rows if r.kind in ("failed", "parse_error")]
        to_parse = [r for r in self.rows if r.kind == "pending" and r.reason == WAITING_FOR_PARSE]
        waiting = [r for r in self.rows if r.kind == "pending" and r.reason != WAITING_FOR_PARSE]
        if bad:
            names = ", ".join(r.item for r in bad[:5]) + (" ..." if len(bad) > 5 else "")
            steps.append(f"Check failed items in {shown(self.data_dir)}/ ({names})")
            steps.append(f"Re-run failures with: {self.rerun_command}")
        if to_parse:
            steps.append(f"Parse the {len(to_parse)} validated response(s) with: {self.parse_command}")
        if waiting:
            steps.append(f"Run the {len(waiting)} waiting item(s) with: {self.rerun_command}")
        if not self.pending:
            steps.append("Nothing left to run: every row of the batch is complete")
        return [f"{i}. {s}" for i, s in enumerate(steps, 1)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "phase": self.phase,
            "stage": self.stage,
            "dispatched": self.dispatched,
            "completed": self.completed_now,
            "pending": len(self.pending),
            "attempts": self.attempts,
            "repairs": self.repairs,
            "tokens": {**self.usage.as_dict(), "total": self.usage.total},
            "cost_usd": round(self.cost_usd, 6),
            "all_runs": {
                "tokens": {**self.all_runs_usage.as_dict(), "total": self.all_runs_usage.total},
                "cost_usd": round(self.all_runs_cost, 6),
            },
            "estimate": self.estimate.as_dict() if self.estimate else None,
            "stopped": self.stopped,
            "stop_message": self.stop_message,
            "report": str(self.report_path) if self.report_path else None,
            "data_dir": str(self.data_dir),
            "totals": {
                "items": len(self.rows),
                "successful": self.count("complete"),
                "failed": self.count("failed"),
                "parse_errors": self.count("parse_error"),
                "pending": self.count("pending"),
            },
            "rows": [r.as_dict() for r in self.rows],
        }


def command_complete(
    command: str,
    stage: str,
    batch_id: str,
    items: int,
    ok: int,
    cost: float | None,
    output: Path | None,
    failed: bool = False,
) -> str:
    """The seed's closing block (``✅ COMMAND COMPLETE`` or ``❌ COMMAND FAILED``)."""
    rate = f"{round(100 * ok / items)}%" if items else "-"
    lines = [
        f"{'❌ COMMAND FAILED' if failed else '✅ COMMAND COMPLETE'}: {command}",
        f"Stage: {stage}",
        f"Batch ID: {batch_id}",
        f"Items: {items} processed",
        f"Success Rate: {rate}",
    ]
    if cost is not None:
        lines.append(f"Cost: {usd(cost)}")
    if output is not None:
        lines.append(f"Output: {shown(output)}")
    return "\n".join(lines)
