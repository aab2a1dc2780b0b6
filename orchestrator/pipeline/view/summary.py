"""The /batch-pipeline command's text blocks: COST ESTIMATE, BATCH COMPLETE, COMMAND COMPLETE, and --json.

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

from orchestrator.doctor import SkippedRule
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


def estimate_text(est: Estimate, *, simulated: bool = False) -> str:
    """The /batch-pipeline command's COST ESTIMATE block.

    ``simulated``: the dollars are what the run would cost for real.
    """
    title = f"COST ESTIMATE{' (SIMULATED RUN: nothing is billed)' if simulated else ''}: {est.batch_id}"
    lines = [*_title(title), f"Items: {est.items}"]
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
                f"({u.cache_creation_input_tokens:,} @ "
                f"{per_mtok(info.cache_write_1h if m.batch else info.cache_write)})"
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
    other = sum(m.price(m.usage, batch=not m.batch) for m in est.models)  # the other way to send it
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
    provider: str | None = None  # where its response came from (``sim``: simulated)

    @property
    def name(self) -> str:
        """``item-0002 (Quorum)``: how the summary, progress and report name a row."""
        return f"{self.item} ({self.title})" if self.title else self.item

    @property
    def simulated(self) -> bool:
        return self.provider == "sim"

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
            "provider": self.provider,
            "simulated": self.simulated,
        }


#: a line of a tree and the lines under it
Entry = tuple[str, list["Entry"]]


def nested(entries: list[Entry], indent: str = "") -> list[str]:
    """``├── a`` / ``│   └── a.1`` / ``└── b``: a tree of any depth."""
    out: list[str] = []
    for i, (text, children) in enumerate(entries):
        last = i == len(entries) - 1
        out.append(f"{indent}{'└──' if last else '├──'} {text}")
        out += nested(children, indent + ("    " if last else "│   "))
    return out


#: why a dispatched row's calls failed (see :class:`Tally`)
FAILURE_CAUSES = {
    "provider": "provider error (rate limit, overload, timeout or refusal, retries used up)",
    "connection": "connection (the API could not be reached)",
    "fatal": "fatal provider error (key, spend limit, bad request)",
    "environment": "environment (a check cannot run on this machine)",
}
#: why a row of the batch was not dispatched
NOT_DISPATCHED = {
    "stopped": "the run stopped before it",
    "blocked": "blocked (an earlier stage must rerun, or a Message Batch holds it)",
    "waiting": "waiting for an earlier stage",
    "limit": "beyond --limit",
}


@dataclass
class Tally:
    """What one command did with each row of the batch: the parts add up to ``items``.

    ``items`` = ``dispatched`` + ``reused`` + ``not_dispatched`` + ``already_complete``;
    ``dispatched`` = ``completed`` + ``invalid`` + ``failed`` + ``unfinished``.
    """

    items: int = 0
    dispatched: int = 0  # rows sent at least one call by this command
    completed: int = 0  # ... whose last response passed validation
    invalid: int = 0  # ... whose last response still failed validation after the repairs
    failed: dict[str, int] = field(default_factory=dict)  # ... whose calls failed, by cause
    unfinished: int = 0  # ... left without a verdict when the run stopped
    abandoned: int = 0  # of ``unfinished``: calls cancelled by a second Ctrl-C
    reused: int = 0  # rows whose response was already received: no new call
    not_dispatched: dict[str, int] = field(default_factory=dict)  # pending rows not sent, by reason
    already_complete: int = 0  # rows not pending when the command started
    attempts: int = 0  # call attempts (retries and repairs included)
    repairs: int = 0  # repair turns sent

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def not_dispatched_total(self) -> int:
        return sum(self.not_dispatched.values())

    @property
    def all_completed(self) -> bool:
        """Every dispatched row completed, and nothing was left out for a reason to fix."""
        blocked = self.not_dispatched.get("blocked", 0) + self.not_dispatched.get("stopped", 0)
        return self.completed == self.dispatched and not blocked

    def lines(self) -> list[str]:
        """The "This Run" tree: every count labelled, each part under its whole."""
        failed: list[Entry] = [(f"{FAILURE_CAUSES[c]}: {n}", []) for c, n in self.failed.items() if n]
        sent: list[Entry] = [
            (f"Completed (valid response): {self.completed}", []),
            (f"Invalid after repairs: {self.invalid}", []),
            (f"Failed: {self.failed_total}", failed),
        ]
        if self.unfinished:
            why = f"{self.abandoned} abandoned by a second Ctrl-C" if self.abandoned else "a rerun resumes them"
            sent.append((f"Unfinished (the run stopped mid-way; {why}): {self.unfinished}", []))
        reasons: list[Entry] = [(f"{NOT_DISPATCHED[r]}: {n}", []) for r, n in self.not_dispatched.items() if n]
        return nested(
            [
                (
                    f"Dispatched: {self.dispatched} row(s), {self.attempts} call attempt(s), "
                    f"{self.repairs} repair turn(s)",
                    sent,
                ),
                (f"Responses already received (no new call): {self.reused}", []),
                (f"Not dispatched: {self.not_dispatched_total}", reasons),
                (f"Already complete before this command: {self.already_complete}", []),
            ]
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "dispatched": self.dispatched,
            "completed": self.completed,
            "invalid_after_repairs": self.invalid,
            "failed": {**dict.fromkeys(FAILURE_CAUSES, 0), **self.failed},
            "unfinished": self.unfinished,
            "abandoned": self.abandoned,
            "reused_responses": self.reused,
            "not_dispatched": {**dict.fromkeys(NOT_DISPATCHED, 0), **self.not_dispatched},
            "already_complete": self.already_complete,
            "attempts": self.attempts,
            "repairs": self.repairs,
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
    completed_now: int = 0  # rows this command recorded complete
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
    tally: Tally | None = None  # what this command did (None: it dispatched nothing, e.g. parse)
    provider: str | None = None  # this command's provider
    header: dict[str, Any] | None = None  # the run header (provider, endpoint, models)
    simulated_cost_all_runs: float = 0.0  # of ``all_runs_cost``: what the simulator "charged"
    cost_is_estimate: bool = False  # the cost is the client's own estimate (claude-code)
    skipped: list[SkippedRule] = field(default_factory=list)  # rules this run did not machine-check
    clean_command: str = ""  # starts the batch's responses over (after a rehearsal)

    def count(self, kind: str) -> int:
        return sum(1 for r in self.rows if r.kind == kind)

    @property
    def pending(self) -> list[RowResult]:
        return [r for r in self.rows if r.kind != "complete"]

    @property
    def simulated(self) -> bool:
        return self.provider == "sim"

    def standing(self) -> list[tuple[str, int]]:
        """The /batch-pipeline command's counts of the batch's rows.

        The summary, the ``--json`` totals and the report all show these.
        """
        counts = [
            ("Total items", len(self.rows)),
            ("Successful", self.count("complete")),
            ("Failed", self.count("failed")),
            ("Parse errors", self.count("parse_error")),
        ]
        return [*counts, ("Pending", self.count("pending"))]

    def heading(self) -> str:
        if self.stopped:
            return f"BATCH STOPPED ({self.stopped}): {self.batch_id}"
        done = self.tally.all_completed if self.tally is not None else not self.pending
        word = "COMPLETE" if done else "INCOMPLETE"
        return f"BATCH {word}{' (SIMULATED)' if self.simulated else ''}: {self.batch_id}"

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

    def cost_note(self) -> str:
        """What the dollars of this run are: simulated, the client's estimate, or billed."""
        if self.simulated:
            return "SIMULATED: the simulator's tokens at real prices; nothing was billed"
        if self.cost_is_estimate:
            return "the client's estimate (claude-code): not what is billed"
        return "this run"

    def text(self) -> str:
        lines = [*_title(self.heading())]
        if self.provider is not None:
            rehearsal = " (the local simulator: a rehearsal)" if self.simulated else ""
            lines.append(f"Provider: {self.provider}{rehearsal}")
        lines += [f"{label}: {n}" for label, n in self.standing() if n or label != "Pending"]
        simulated = [r for r in self.rows if r.simulated and r.kind == "complete"]
        if simulated and not self.simulated:
            lines.append(f"Simulated outputs among them: {len(simulated)} (written by --provider sim)")
        if self.report_path is not None:
            lines.append(f"Output: {shown(self.report_path)}")
        if self.stop_message:
            lines.append(f"Stopped because: {self.stop_message}")
        pend = [f"{r.name} (row {r.row_id}): {r.reason or r.kind}" for r in self.pending]
        if self.tally is not None:
            lines += [f"This Run (orchestrate {self.stage}):", *self.tally.lines()]
        if pend:
            lines.append(f"Rows not complete ({len(pend)}):")
            lines += [f"    {line}" for line in tree(pend)]
        lines += ["Cost Summary:", *tree(self.cost_lines())]
        if self.skipped:
            lines.append(f"Not machine-checked ({len(self.skipped)} rule(s)):")
            lines += [f"- {r.where}: {r.text} ({r.reason}; to check it: {r.enable})" for r in self.skipped]
        lines += ["Next Steps:", *self.next_steps()]
        return "\n".join(lines)

    def cost_lines(self) -> list[str]:
        u = self.usage
        cost = [
            f"Actual tokens: {u.total:,} this run (input {u.input_tokens:,}, cache write "
            f"{u.cache_creation_input_tokens:,}, cache read {u.cache_read_input_tokens:,}, "
            f"output {u.output_tokens:,})",
            f"Actual cost: {usd(self.cost_usd)} ({self.cost_note()})",
        ]
        every = f"All runs of the batch: {usd(self.all_runs_cost)}, {self.all_runs_usage.total:,} tokens"
        if self.simulated_cost_all_runs > 0:
            every += f" ({usd(self.simulated_cost_all_runs)} of it simulated)"
        cost.append(every)
        versus = self.versus_estimate()
        if versus:
            cost.append(versus)
        return cost

    def next_steps(self) -> list[str]:
        steps = []
        if self.report_path is not None:
            steps.append(f"Review output at {shown(self.report_path)}")
        bad = [r for r in self.rows if r.kind in ("failed", "parse_error")]
        to_parse = [r for r in self.rows if r.kind == "pending" and r.reason == WAITING_FOR_PARSE]
        waiting = [r for r in self.rows if r.kind == "pending" and r.reason != WAITING_FOR_PARSE]
        if bad:
            names = ", ".join(r.name for r in bad[:5]) + (" ..." if len(bad) > 5 else "")
            steps.append(f"Check failed items in {shown(self.data_dir)}/ ({names})")
            steps.append(f"Re-run failures with: {self.rerun_command}")
        if to_parse:
            steps.append(f"Parse the {len(to_parse)} validated response(s) with: {self.parse_command}")
        if waiting:
            steps.append(f"Run the {len(waiting)} waiting item(s) with: {self.rerun_command}")
        if not self.pending:
            steps.append("Nothing left to run: every row of the batch is complete")
        if self.simulated and self.clean_command:
            steps.append(
                f"This was a rehearsal: to generate the rows for real, `{self.clean_command}`, then run again "
                "without --provider sim (with ANTHROPIC_API_KEY set)"
            )
        return [f"{i}. {s}" for i, s in enumerate(steps, 1)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "phase": self.phase,
            "stage": self.stage,
            "heading": self.heading(),
            "provider": self.header or ({"name": self.provider} if self.provider else None),
            "simulated": self.simulated,
            "dispatched": self.dispatched,
            "completed": self.completed_now,
            "pending": len(self.pending),
            "attempts": self.attempts,
            "repairs": self.repairs,
            "this_run": self.tally.as_dict() if self.tally is not None else None,
            "tokens": {**self.usage.as_dict(), "total": self.usage.total},
            "cost_usd": round(self.cost_usd, 6),
            "cost_is": "simulated" if self.simulated else "client_estimate" if self.cost_is_estimate else "billed",
            "all_runs": {
                "tokens": {**self.all_runs_usage.as_dict(), "total": self.all_runs_usage.total},
                "cost_usd": round(self.all_runs_cost, 6),
                "simulated_cost_usd": round(self.simulated_cost_all_runs, 6),
            },
            "estimate": self.estimate.as_dict() if self.estimate else None,
            "stopped": self.stopped,
            "stop_message": self.stop_message,
            "report": str(self.report_path) if self.report_path else None,
            "data_dir": str(self.data_dir),
            "skipped_rules": [r.as_dict() for r in self.skipped],
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
    *,
    dispatched: int | None = None,
    cost_note: str | None = None,
) -> str:
    """The /batch-pipeline command's closing block (``✅ COMMAND COMPLETE`` or ``❌ COMMAND FAILED``).

    ``items`` are the batch's rows, ``ok`` those that count as done for this
    command, ``dispatched`` the rows this command sent to the model (None: a
    stage that sends nothing).
    """
    rate = f"{round(100 * ok / items)}% ({ok} of {items} row(s))" if items else "-"
    sent = f", {dispatched} dispatched by this command" if dispatched is not None else ""
    lines = [
        f"{'❌ COMMAND FAILED' if failed else '✅ COMMAND COMPLETE'}: {command}",
        f"Stage: {stage}",
        f"Batch ID: {batch_id}",
        f"Items: {items} in the batch{sent}",
        f"Success Rate: {rate}",
    ]
    if cost is not None:
        lines.append(f"Cost: {usd(cost)}" + (f" ({cost_note})" if cost_note else ""))
    if output is not None:
        lines.append(f"Output: {shown(output)}")
    return "\n".join(lines)
