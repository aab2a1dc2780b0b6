"""PARSE: extract each response's document, validate it, and record the row.

A response is judged once (:mod:`orchestrator.pipeline.judge`): in ``run``
PROCESS hands its judgement over with the response; here, a response found
on disk without a current ``parsed.json`` is judged now. A valid document of
a pending row is written to the plan's Output Directory (atomically and
durably: the plan is about to call it complete), the row is recorded
``complete`` and registered in the tracking file; an invalid one leaves the
row pending with a Run Notes line saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.judge import Judge, Judgement
from orchestrator.pipeline.store.batch import now_iso
from orchestrator.pipeline.store.checkpoints import (
    PARSED,
    ItemFiles,
    ItemState,
    ItemStore,
    encode_json,
    sha256_text,
)
from orchestrator.pipeline.store.records import ParsedRecord
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.plan.model import Row
from orchestrator.recorder.atomic import atomic_write, write_if_different
from orchestrator.recorder.notes import SIMULATED_NOTE
from orchestrator.recorder.tracking import TrackingEntry


class RowRecorder(Protocol):
    """The part of :class:`orchestrator.recorder.Recorder` the pipeline uses."""

    def set_status(self, phase: int, row_id: str, filename: str, status: str) -> None: ...

    def register(self, entry: TrackingEntry) -> None: ...

    def note(self, phase: int, row_id: str, filename: str, reason: str | None) -> None: ...


@dataclass
class ParseOutcome:
    item: str
    ok: bool
    written: Path | None = None
    failures: list[str] = field(default_factory=list)


def write_output(store: ItemStore, path: Path, content: str, then: Callable[[], None]) -> None:
    """The output file, atomically; ``then`` (recording the row) runs once it is in place.

    With the writer thread, the file is not fsynced here: the recorder makes
    every output durable in one call before it writes the statuses that name
    them (see :func:`orchestrator.pipeline.store.writer.sync_filesystem`).
    """
    data = content.encode("utf-8")
    if store.writer is not None:
        store.writer.replace(path, data, then=then)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data)
    then()


#: the Run Notes line of a row completed with the simulator's output (issue 10: never taken for real work)
SIMULATED_ROW_NOTE = (
    f"{SIMULATED_NOTE}: a rehearsal, not real work; `orchestrate clean --clean-stage process` "
    "and a run with a key generate it for real"
)


def record_complete(recorder: RowRecorder, row: Row, entry: TrackingEntry) -> None:
    """Register the output, mark its row complete, and clear its Run Notes line (or say it is simulated)."""
    recorder.register(entry)
    recorder.set_status(row.phase, row.id, row.filename, "complete")
    recorder.note(row.phase, row.id, row.filename, SIMULATED_ROW_NOTE if entry.provider == "sim" else None)


def parse_item(
    judge: Judge,
    recorder: RowRecorder,
    book: UsageBook,
    store: ItemStore,
    state: ItemState,
    row: Row | None,
    judgement: Judgement | None = None,
) -> ParseOutcome:
    """PARSE one item whose response is current: write ``parsed.json``, the output, the record.

    ``judgement``: the one PROCESS already made of this response (else it is judged here).
    """
    assert state.raw is not None and state.response_text is not None and state.response_meta is not None
    meta = state.response_meta
    out_path = judge.target(state.raw)
    if judgement is None:
        judgement = judge.judge(out_path, state.response_text, meta.stop_reason)
    verdict = judgement.verdict
    outcome = ParseOutcome(state.id, verdict.ok, failures=list(verdict.failures))
    pending = row is not None and row.is_pending
    if pending and row is not None and verdict.ok and verdict.content is not None:
        usage, cost, _ = book.for_key(state.id)
        entry = TrackingEntry(
            path=out_path,
            title=row.title,
            phase=row.phase,
            row=row.id,
            model=meta.model_id or row.model,
            sha256=sha256_text(verdict.content),
            validated_at=datetime.now(UTC),
            tokens=usage.total,
            cost_usd=round(cost, 6),
            provider=meta.provider,
        )
        write_output(store, out_path, verdict.content, lambda: record_complete(recorder, row, entry))
        outcome.written = out_path
    elif pending and row is not None:
        recorder.note(row.phase, row.id, row.filename, "; ".join(verdict.failures) or "invalid output")
    parsed = ParsedRecord(
        item=state.id,
        raw_hash=state.raw.input_hash,
        response_sha256=state.response_sha or "",
        row_id=state.raw.row_id,
        title=state.raw.title,
        ok=verdict.ok,
        failures=tuple(verdict.failures),
        notes=tuple(verdict.notes),
        checks=judgement.checks,
        output=str(out_path),
        output_sha256=sha256_text(verdict.content) if verdict.ok and verdict.content else None,
        written=outcome.written is not None,
        parsed_at=now_iso(),
        front_matter=judgement.front_matter,
        sections=judgement.sections,
    )
    store.put(state.files, PARSED, parsed)
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
        state = ctx.store.load(files)
        if files.id in recorded:  # parsed by this command the moment PROCESS finished it
            result.done.append(files.id)
            if state.parsed is not None and not state.parsed.ok:
                result.failed.append((files.id, "; ".join(state.parsed.failures) or "invalid output"))
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
            row is not None and row.is_pending and state.parsed is not None and state.parsed.ok
        ):
            result.skipped.append(files.id)
            continue
        if not ctx.room(len(result.done)):
            break
        outcome = parse_item(judge, recorder, book, ctx.store, state, row)
        result.done.append(files.id)
        if not outcome.ok:
            result.failed.append((files.id, "; ".join(outcome.failures)))
    return result


def write_results(ctx: Context) -> Path:
    """``all_results.json``: every item's parsed result, aggregated (replaced only on change).

    Call it after the recorder's flush, with the plan read again, so statuses
    are current. Written item by item into a temp file beside it (compact
    JSON, byte for byte what one ``json.dumps`` of the whole would give):
    10,000 items never sit in memory as one document.
    """
    rows = ctx.rows_by_item()
    path = ctx.batch.results_path
    head = {"batch_id": ctx.batch.id, "phase": ctx.batch.phase}
    write_if_different(path, _results_json(ctx, rows, head))  # derived: no fsync, rebuilt by the next parse
    return path


def _results_json(ctx: Context, rows: dict[str, Row], head: dict[str, object]) -> Iterator[bytes]:
    yield encode_json(head)[:-2] + b',"items":['  # the head without its closing brace
    for index, files in enumerate(ctx.store.item_ids(ctx.batch)):
        state = ctx.store.load(ItemFiles(files, ctx.batch.item_dir(files)))
        row = rows.get(files)
        item = {
            "item": files,
            "row_id": row.id if row else None,
            "status": row.status if row else "missing",
            "parsed": state.parsed.to_json() if state.parsed else None,
        }
        yield (b"," if index else b"") + encode_json(item)[:-1]
    yield b"]}\n"
