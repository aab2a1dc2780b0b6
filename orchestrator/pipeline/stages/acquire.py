"""ACQUIRE: copy each row in scope, and the plan context its prompt needs, into ``raw.json``.

The context is the format reference text, the content rules, the checklist
and the output folder: everything PREPARE needs, so a prompt can be rebuilt
from ``raw.json`` alone.
"""

from __future__ import annotations

from dataclasses import replace

from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.store.batch import item_id, now_iso
from orchestrator.pipeline.store.checkpoints import (
    RAW,
    ItemFiles,
    sha256_json,
    sha256_text,
)
from orchestrator.pipeline.store.records import RawRecord
from orchestrator.plan.model import Plan, Row
from orchestrator.validators.reference import read_reference

_STATUS = "status"


def reference_text(plan: Plan) -> str:
    """The format reference's text, read once per parsed plan and bounded (see :mod:`orchestrator.safeio`).

    The same bytes the compiled validators and ``check`` saw; a missing or
    unusable reference is bad input (exit 2).
    """
    return read_reference(plan).text


def raw_record(plan: Plan, row: Row, reference: str, reference_sha256: str) -> RawRecord:
    """What a row's prompt and checks depend on (its status and line do not count), hashed."""
    unhashed = RawRecord(
        item=item_id(row.id),
        input_hash="",
        phase=row.phase,
        row_id=row.id,
        title=row.title,
        filename=row.filename,
        model=row.model,
        cells=tuple((k, v) for k, v in row.cells.items() if k.strip().lower() != _STATUS),
        format_reference=plan.format_reference.text if plan.format_reference else "",
        output_directory=plan.output_directory.text if plan.output_directory else "",
        content_rules=tuple(r.text for r in plan.content_rules),
        checklist=tuple(c.text for c in plan.checklist),
        reference_sha256=reference_sha256,
        reference_text=reference,
    )
    return replace(unhashed, input_hash=sha256_json(unhashed.inputs()))


def candidate_rows(ctx: Context) -> list[Row]:
    """Rows in scope: pending ones and those already in the batch, in table order."""
    existing = set(ctx.store.item_ids(ctx.batch))
    return [r for r in ctx.phase().rows if r.is_pending or item_id(r.id) in existing]


def acquire(ctx: Context) -> StageResult:
    """Write ``raw.json`` for each row in scope whose inputs changed (or are new)."""
    result = StageResult("acquire")
    reference = reference_text(ctx.plan)
    reference_sha = sha256_text(reference)
    ctx.batch.save()
    for row in candidate_rows(ctx):
        files = ItemFiles(item_id(row.id), ctx.batch.item_dir(item_id(row.id)))
        record = raw_record(ctx.plan, row, reference, reference_sha)
        old = ctx.store.load(files).raw
        if old is not None and old.input_hash == record.input_hash:
            result.skipped.append(files.id)
            continue
        if not ctx.room(len(result.done)):
            break
        ctx.store.put(files, RAW, replace(record, acquired_at=now_iso()))
        result.done.append(files.id)
    if not result.done and not result.skipped:
        result.notes.append(f"no pending rows in Phase {ctx.batch.phase}")
    return result
