"""PARSE: extract each response's document, validate it, and record the row.

The same :class:`Judge` gives the dispatcher its verdict during PROCESS (to
drive repairs) and gives PARSE its verdict from the response on disk, so a
response received by a run that then died is judged exactly as it would have
been live. A valid document of a pending row is written to the plan's Output
Directory (atomically, after checking the path stays inside it), the row is
recorded ``complete`` and registered in the tracking file; an invalid one
leaves the row pending with a Run Notes line saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from orchestrator.dispatch.jobs import TRUNCATED_FAILURE, Verdict
from orchestrator.errors import BadInputError
from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.store.batch import now_iso
from orchestrator.pipeline.store.checkpoints import ItemFiles, ItemState, read_json, sha256_text, write_json
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.plan.model import Row
from orchestrator.recorder.atomic import atomic_write
from orchestrator.recorder.tracking import TrackingEntry
from orchestrator.validators import CompiledPlan, FileReport, extract_document
from orchestrator.validators.document import parse_document

#: stop reasons whose text is cut off: never an output
TRUNCATING = ("max_tokens", "model_context_window_exceeded")


class RowRecorder(Protocol):
    """The part of :class:`orchestrator.recorder.Recorder` the pipeline uses."""

    def set_status(self, phase: int, row_id: str, filename: str, status: str) -> None: ...

    def register(self, entry: TrackingEntry) -> None: ...

    def note(self, phase: int, row_id: str, filename: str, reason: str | None) -> None: ...


@dataclass
class Judgement:
    """A verdict and the report behind it."""

    verdict: Verdict
    report: FileReport | None
    content: str


@dataclass
class Judge:
    """Extract and validate a reply meant for one item's output path."""

    compiled: CompiledPlan
    plan_dir: Path

    def output_path(self, raw: dict[str, Any]) -> Path:
        """Where an item's output goes; refuses any path outside the Output Directory."""
        context = raw["inputs"]["plan"]
        out_dir = (self.plan_dir / str(context["output_directory"])).resolve()
        target = (out_dir / str(raw["inputs"]["row"]["filename"])).resolve()
        if not target.is_relative_to(out_dir) or target == out_dir:
            raise BadInputError(
                f"output path {target} is outside the Output Directory {out_dir}",
                hint="fix the row's Filename: a plain file name inside the folder",
            )
        return target

    def judge(self, raw: dict[str, Any], text: str, stop_reason: str | None) -> Judgement:
        if stop_reason in TRUNCATING:
            return Judgement(Verdict(False, None, [TRUNCATED_FAILURE]), None, text)
        extracted = extract_document(text)
        report = self.compiled.validate_text(extracted.content, path=self.output_path(raw))
        verdict = Verdict(report.ok, extracted.content, report.failure_messages(), list(extracted.notes))
        return Judgement(verdict, report, extracted.content)


@dataclass
class ParseOutcome:
    item: str
    ok: bool
    written: Path | None = None
    failures: list[str] = field(default_factory=list)


def _document_summary(content: str) -> dict[str, Any]:
    doc = parse_document(content)
    front = {key: entry.value for key, entry in doc.front_matter.entries.items()}
    return {"front_matter": front, "sections": [h.text for h in doc.sections()]}


def parse_item(
    judge: Judge,
    recorder: RowRecorder,
    book: UsageBook,
    state: ItemState,
    row: Row | None,
) -> ParseOutcome:
    """PARSE one item whose response is current: write ``parsed.json``, the output, the record."""
    assert state.raw is not None and state.response_text is not None and state.response_meta is not None
    meta = state.response_meta
    judgement = judge.judge(state.raw, state.response_text, meta.get("stop_reason"))
    verdict = judgement.verdict
    out_path = judge.output_path(state.raw)
    outcome = ParseOutcome(state.id, verdict.ok, failures=list(verdict.failures))
    pending = row is not None and row.is_pending
    if pending and row is not None and verdict.ok and verdict.content is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out_path, verdict.content.encode("utf-8"))
        outcome.written = out_path
        usage, cost, _ = book.for_key(state.id)
        recorder.set_status(row.phase, row.id, row.filename, "complete")
        recorder.register(
            TrackingEntry.for_output(
                out_path,
                title=row.title,
                phase=row.phase,
                row=row.id,
                model=str(meta.get("model_id", row.model)),
                tokens=usage.total,
                cost_usd=round(cost, 6),
            )
        )
        recorder.note(row.phase, row.id, row.filename, None)
    elif pending and row is not None:
        recorder.note(row.phase, row.id, row.filename, "; ".join(verdict.failures) or "invalid output")
    parsed: dict[str, Any] = {
        "item": state.id,
        "stage": "parse",
        "inputs": {"raw": state.raw_hash, "response": state.response_sha},
        "row_id": state.raw["inputs"]["row"]["id"],
        "title": state.raw["inputs"]["row"]["title"],
        "ok": verdict.ok,
        "failures": verdict.failures,
        "notes": verdict.notes,
        "checks": [c.as_dict() for c in judgement.report.checks] if judgement.report else [],
        "output": str(out_path),
        "output_sha256": sha256_text(verdict.content) if verdict.ok and verdict.content else None,
        "written": outcome.written is not None,
        "parsed_at": now_iso(),
        **_document_summary(judgement.content),
    }
    write_json(state.files.parsed, parsed)
    return outcome


def parse(
    ctx: Context,
    judge: Judge,
    recorder: RowRecorder,
    book: UsageBook,
    recorded: frozenset[str] = frozenset(),
) -> StageResult:
    """PARSE every item whose response is current and whose ``parsed.json`` is not.

    A pending row whose ``parsed.json`` is current and valid is recorded again
    (a run killed before the recorder's write left it pending), unless it is in
    ``recorded``: items this command already parsed as PROCESS finished them,
    which count as parsed here.
    """
    result = StageResult("parse")
    rows = ctx.rows_by_item()
    for files in ctx.items():
        state = files.load()
        if files.id in recorded:  # parsed by this command the moment PROCESS finished it
            result.done.append(files.id)
            if state.parsed is not None and not state.parsed.get("ok"):
                result.failed.append((files.id, "; ".join(state.parsed.get("failures") or []) or "invalid output"))
            continue
        row = rows.get(files.id)
        if state.response_text is None or state.response_meta is None:
            if row is not None and row.is_pending:
                result.waiting.append((files.id, "no response yet: run process"))
            else:
                result.skipped.append(files.id)
            continue
        if not state.response_current():
            if row is not None and row.is_pending:
                result.blocked.append((files.id, "response.md is stale (prompt changed): run process"))
            else:
                # PROCESS never resends a finished row: blocking on it would fail every rerun
                result.skipped.append(files.id)
                result.notes.append(
                    f"{files.id}: row {row.id if row else '?'} changed after it was completed; its output is "
                    "kept (set the row back to pending, or clean, to redo it)"
                )
            continue
        if state.parsed_current() and not (
            row is not None and row.is_pending and state.parsed and state.parsed.get("ok")
        ):
            result.skipped.append(files.id)
            continue
        if not ctx.room(len(result.done)):
            break
        outcome = parse_item(judge, recorder, book, state, row)
        result.done.append(files.id)
        if not outcome.ok:
            result.failed.append((files.id, "; ".join(outcome.failures)))
    return result


def write_results(ctx: Context) -> Path:
    """``all_results.json``: every item's parsed result, aggregated (rewritten only on change).

    Call it after the recorder's flush, with the plan read again, so statuses are current.
    """
    rows = ctx.rows_by_item()
    items: list[dict[str, Any]] = []
    for files in ctx.batch.item_ids():
        state = ItemFiles(files, ctx.batch.item_dir(files)).load()
        row = rows.get(files)
        items.append(
            {
                "item": files,
                "row_id": row.id if row else None,
                "status": row.status if row else "missing",
                "parsed": state.parsed,
            }
        )
    path = ctx.batch.results_path
    data = {"batch_id": ctx.batch.id, "phase": ctx.batch.phase, "items": items}
    if read_json(path) != data:
        write_json(path, data)
    return path
