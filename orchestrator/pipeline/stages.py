"""ACQUIRE and PREPARE: the cheap, deterministic stages before any money is spent.

ACQUIRE copies each row and the plan context its prompt needs (format
reference text, content rules, checklist, output folder) into ``raw.json``.
PREPARE builds ``prompt.md`` from ``raw.json`` alone, with the same
:func:`orchestrator.prompts.build_request` that ``orchestrate prompt`` uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.errors import BadInputError
from orchestrator.pipeline.batch import item_id, now_iso
from orchestrator.pipeline.checkpoints import (
    ItemFiles,
    read_json,
    sha256_json,
    sha256_text,
    write_json,
    write_text,
)
from orchestrator.pipeline.context import Context, StageResult
from orchestrator.plan.model import Plan, Row, Section, TextLine
from orchestrator.prompts import RowRequest, build_request

_STATUS = "status"


def reference_text(plan: Plan) -> str:
    """The format reference's text; a missing reference is bad input (exit 2)."""
    path = plan.format_reference_path()
    if path is None:
        raise BadInputError(
            "the plan has no Format Reference",
            path=plan.path,
            hint="add `## Format Reference` with the path of a finished example",
        )
    line = plan.format_reference.line if plan.format_reference else None
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"format reference is not valid UTF-8: {path}", path=plan.path, line=line,
                            hint="save the file as UTF-8") from None
    except OSError as exc:
        raise BadInputError(
            f"cannot read the format reference {path}: {exc.strerror}",
            path=plan.path,
            line=line,
            hint="fix the Format Reference path",
        ) from None


def raw_inputs(plan: Plan, row: Row, reference: str) -> dict[str, Any]:
    """What a row's prompt and checks depend on (its status and line do not count)."""
    return {
        "phase": row.phase,
        "row": {
            "id": row.id,
            "title": row.title,
            "filename": row.filename,
            "model": row.model,
            "cells": {k: v for k, v in row.cells.items() if k.strip().lower() != _STATUS},
        },
        "plan": {
            "format_reference": plan.format_reference.text if plan.format_reference else "",
            "output_directory": plan.output_directory.text if plan.output_directory else "",
            "content_rules": [r.text for r in plan.content_rules],
            "checklist": [c.text for c in plan.checklist],
        },
        "reference": {"sha256": sha256_text(reference), "text": reference},
    }


def candidate_rows(ctx: Context) -> list[Row]:
    """Rows in scope: pending ones and those already in the batch, in table order."""
    existing = set(ctx.batch.item_ids())
    return [r for r in ctx.phase().rows if r.is_pending or item_id(r.id) in existing]


def acquire(ctx: Context) -> StageResult:
    """Write ``raw.json`` for each row in scope whose inputs changed (or are new)."""
    result = StageResult("acquire")
    reference = reference_text(ctx.plan)
    ctx.batch.save()
    for row in candidate_rows(ctx):
        files = ItemFiles(item_id(row.id), ctx.batch.item_dir(item_id(row.id)))
        inputs = raw_inputs(ctx.plan, row, reference)
        digest = sha256_json(inputs)
        old = read_json(files.raw)
        if old is not None and old.get("input_hash") == digest:
            result.skipped.append(files.id)
            continue
        if not ctx.room(len(result.done)):
            break
        write_json(
            files.raw,
            {
                "item": files.id,
                "stage": "acquire",
                "input_hash": digest,
                "inputs": inputs,
                "acquired_at": now_iso(),
            },
        )
        result.done.append(files.id)
    if not result.done and not result.skipped:
        result.notes.append(f"no pending rows in Phase {ctx.batch.phase}")
    return result


def plan_from_raw(raw: dict[str, Any], plan_path: Path) -> tuple[Plan, Row]:
    """A minimal plan and row rebuilt from ``raw.json``, enough for the prompt builder."""
    inputs = raw["inputs"]
    context, cells = inputs["plan"], inputs["row"]

    def section(key: str, texts: list[str]) -> Section:
        return Section(key, key.title(), 0, 0, tuple(TextLine(t, 0) for t in texts))

    sections = {
        "format reference": section("format reference", [context["format_reference"]]),
        "output directory": section("output directory", [context["output_directory"]]),
        "content rules": section("content rules", list(context["content_rules"])),
        "validation checklist": section("validation checklist", list(context["checklist"])),
    }
    plan = Plan(plan_path, "", None, sections, ())
    row = Row(
        int(inputs["phase"]),
        str(cells["id"]),
        str(cells["title"]),
        str(cells["filename"]),
        str(cells["model"]),
        "pending",
        "pending",
        0,
        dict(cells["cells"]),
    )
    return plan, row


def request_from_raw(raw: dict[str, Any], plan_path: Path) -> RowRequest:
    plan, row = plan_from_raw(raw, plan_path)
    return build_request(plan, row, str(raw["inputs"]["reference"]["text"]))


def prepare(ctx: Context) -> StageResult:
    """Write ``prompt.md`` (and its ``prompt.json`` sidecar) from each ``raw.json``."""
    result = StageResult("prepare")
    for files in ctx.items():
        state = files.load()
        if state.raw is None:
            result.waiting.append((files.id, "no raw.json yet: run acquire"))
            continue
        if state.prompt_current():
            result.skipped.append(files.id)
            continue
        if not ctx.room(len(result.done)):
            break
        request = request_from_raw(state.raw, ctx.batch.plan_path)
        text = request.as_text()
        write_text(files.prompt, text)
        write_json(
            files.prompt_meta,
            {
                "item": files.id,
                "stage": "prepare",
                "inputs": {"raw": state.raw_hash},
                "prompt_sha256": sha256_text(text),
                "row_id": state.raw["inputs"]["row"]["id"],
                "title": request.title,
                "model": state.raw["inputs"]["row"]["model"],
                "system": request.system,
                "shared": request.shared,
                "row": request.row,
                "prepared_at": now_iso(),
            },
        )
        result.done.append(files.id)
    return result
