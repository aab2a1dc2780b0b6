"""PREPARE: build each item's ``prompt.md`` from its ``raw.json`` alone.

It uses the same prompt builder as ``orchestrate prompt``
(:func:`orchestrator.prompts.build_request`), so what is sent is what the
command prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.store.batch import now_iso
from orchestrator.pipeline.store.checkpoints import PROMPT, PROMPT_META, sha256_text
from orchestrator.plan.model import Plan, Row, Section, TextLine
from orchestrator.prompts import RowRequest, build_request


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
        state = ctx.store.load(files)
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
        ctx.store.put(files, PROMPT, text)
        ctx.store.put(
            files,
            PROMPT_META,
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
