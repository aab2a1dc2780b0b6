"""Which items PROCESS would call the model for, and with what.

An item is dispatched when its row is pending in the plan and no checkpointed
response for its current prompt and model can be used. A checkpointed
response is used, without a new call, when it validated, or when it was never
judged (the run died between receiving and checking it: it is judged now, on
disk). One that failed validation mid-conversation resumes that conversation
with a repair turn; one whose job had finished with failures starts afresh,
because rerunning failures is what the user asked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from orchestrator.dispatch.jobs import Job
from orchestrator.models import ModelInfo
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.stages.acquire import (
    candidate_rows,
    raw_inputs,
    reference_text,
)
from orchestrator.pipeline.stages.prepare import request_from_raw
from orchestrator.pipeline.store.batch import item_id
from orchestrator.pipeline.store.checkpoints import (
    ItemFiles,
    ItemState,
    request_key,
    sha256_json,
    sha256_text,
)
from orchestrator.plan.model import Row
from orchestrator.prompts import RowRequest, repair_message
from orchestrator.providers.base import CallRequest, Turn

ResponseUse = Literal["none", "ok", "unjudged", "resume", "retry"]


@dataclass(frozen=True)
class WorkItem:
    """One row to send: its files, row, model and request (and turns to resume)."""

    files: ItemFiles
    row: Row
    model: ModelInfo
    request: RowRequest
    history: tuple[Turn, ...] = ()

    @property
    def key(self) -> str:
        return self.files.id

    def call_request(self) -> CallRequest:
        return CallRequest(
            model=self.model.id,
            system=self.request.system,
            shared=self.request.shared,
            turns=(Turn("user", self.request.row),),
            max_tokens=self.model.max_output_tokens,
            metadata={"item": self.key, "row": self.row.id},
        )

    def job(self) -> Job:
        return Job(self.key, self.row.id, self.model, self.call_request(), self.history)


@dataclass
class Work:
    """Items to dispatch, items whose response on disk will do, and items left out."""

    dispatch: list[WorkItem] = field(default_factory=list)
    reuse: list[str] = field(default_factory=list)  # response on disk is used (no call)
    not_pending: list[str] = field(default_factory=list)  # row complete/skipped in the plan
    blocked: list[tuple[str, str]] = field(default_factory=list)  # prompt stale: run prepare
    waiting: list[tuple[str, str]] = field(default_factory=list)  # no prompt yet
    not_acquired: list[str] = field(default_factory=list)  # pending rows not in the batch yet (estimate)


def response_use(state: ItemState, key: str | None) -> ResponseUse:
    """What the checkpointed response to request ``key`` is good for."""
    meta = state.response_meta
    if meta is None or not state.response_answers(key):
        return "none"
    verdict = meta.get("verdict")
    if verdict is None:
        return "unjudged"
    if isinstance(verdict, dict) and verdict.get("ok"):
        return "ok"
    return "retry" if meta.get("final") else "resume"


def resume_history(state: ItemState) -> tuple[Turn, ...]:
    """The turns that continue a conversation whose last response failed validation."""
    meta = state.response_meta or {}
    earlier = tuple(Turn(t["role"], t["text"]) for t in meta.get("history", []))
    failures = list((meta.get("verdict") or {}).get("failures") or ["the file failed validation"])
    return (
        *earlier,
        Turn("assistant", state.response_text or ""),
        Turn("user", repair_message(failures)),
    )


def request_from_prompt(meta: dict[str, Any]) -> RowRequest:
    return RowRequest(str(meta["system"]), str(meta["shared"]), str(meta["row"]), str(meta["title"]))


def process_work(ctx: Context) -> Work:
    """What PROCESS will do for each item of the batch (from the checkpoints on disk)."""
    work = Work()
    rows = ctx.rows_by_item()
    for files in ctx.items():
        row = rows.get(files.id)
        if row is None or not row.is_pending:
            work.not_pending.append(files.id)
            continue
        state = files.load()
        if state.prompt_meta is None or state.prompt_text is None:
            work.waiting.append((files.id, "no prompt.md yet: run prepare"))
            continue
        if not state.prompt_current():
            work.blocked.append((files.id, "prompt.md is stale (raw.json changed): run prepare"))
            continue
        model = ctx.model_for(str(state.prompt_meta.get("model") or row.model))
        use = response_use(state, state.request_key(model.id))
        if use in ("ok", "unjudged"):
            work.reuse.append(files.id)
            continue
        if not ctx.room(len(work.dispatch)):
            continue
        history = resume_history(state) if use == "resume" else ()
        work.dispatch.append(WorkItem(files, row, model, request_from_prompt(state.prompt_meta), history))
    return work


def planned_work(ctx: Context, *, batch_only: bool = False) -> Work:
    """What PROCESS would do if ACQUIRE and PREPARE ran now (for ``estimate``).

    With ``batch_only``, only the rows already in the batch count (what
    ``process --batch-id`` would send after ``prepare``); pending rows that
    ACQUIRE has not taken in yet go to ``not_acquired``.
    """
    work = Work()
    reference = reference_text(ctx.plan)
    existing = set(ctx.batch.item_ids())
    for row in candidate_rows(ctx):
        files = ItemFiles(item_id(row.id), ctx.batch.item_dir(item_id(row.id)))
        if batch_only and files.id not in existing:
            if row.is_pending:
                work.not_acquired.append(files.id)
            continue
        if not row.is_pending:
            work.not_pending.append(files.id)
            continue
        inputs = raw_inputs(ctx.plan, row, reference)
        raw = {"inputs": inputs, "input_hash": sha256_json(inputs)}
        request = request_from_raw(raw, ctx.batch.plan_path)
        model = ctx.model_for(row.model)
        state = files.load()
        key = request_key(sha256_text(request.as_text()), model.id)
        if response_use(state, key) in ("ok", "unjudged"):
            work.reuse.append(files.id)
        elif ctx.room(len(work.dispatch)):
            work.dispatch.append(WorkItem(files, row, model, request))
    return work
