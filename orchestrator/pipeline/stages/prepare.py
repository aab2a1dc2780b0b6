"""PREPARE: build each item's ``prompt.md`` from its ``raw.json`` alone.

It uses the same prompt builder as ``orchestrate prompt``
(:func:`orchestrator.prompts.request_for`, from plain fields), so what is sent is what the
command prints.
"""

from __future__ import annotations

from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.store.batch import now_iso
from orchestrator.pipeline.store.checkpoints import PROMPT, PROMPT_META, sha256_text
from orchestrator.pipeline.store.records import PromptRecord, RawRecord
from orchestrator.prompts import PromptFields, RowRequest, request_for


def fields_from_raw(raw: RawRecord) -> PromptFields:
    """The prompt builder's fields, straight from ``raw.json`` (no plan is parsed or rebuilt)."""
    return PromptFields(
        reference_path=raw.format_reference,
        output_dir=raw.output_directory,
        content_rules=raw.content_rules,
        title=raw.title,
        filename=raw.filename,
        cells=raw.cells,
    )


def request_from_raw(raw: RawRecord) -> RowRequest:
    return request_for(fields_from_raw(raw), raw.reference_text)


def prepare(ctx: Context) -> StageResult:
    """Write ``prompt.md`` (and its ``prompt.json`` sidecar) from each ``raw.json``."""
    result = StageResult("prepare")
    for files in ctx.items():
        state = ctx.store.load(files)
        if state.raw is None:
            result.waiting.append((files.id, "no raw.json yet: run acquire"))
            continue
        if state.prompt_current():
            result.skipped.append(files.id)
            continue
        if not ctx.room(len(result.done)):
            break
        request = request_from_raw(state.raw)
        text = request.as_text()
        ctx.store.put(files, PROMPT, text)
        record = PromptRecord(
            item=files.id,
            raw_hash=state.raw.input_hash,
            prompt_sha256=sha256_text(text),
            row_id=state.raw.row_id,
            title=request.title,
            model=state.raw.model,
            system=request.system,
            shared=request.shared,
            row=request.row,
            prepared_at=now_iso(),
        )
        ctx.store.put(files, PROMPT_META, record)
        result.done.append(files.id)
    return result
