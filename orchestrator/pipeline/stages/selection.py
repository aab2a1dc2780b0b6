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

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from orchestrator.dispatch.jobs import Job
from orchestrator.models import ModelInfo
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.judge import Judge
from orchestrator.pipeline.stages.acquire import (
    candidate_rows,
    raw_record,
    reference_text,
)
from orchestrator.pipeline.stages.prepare import request_from_raw
from orchestrator.pipeline.store.batch import item_id
from orchestrator.pipeline.store.checkpoints import (
    RESPONSE,
    RESPONSE_META,
    ItemFiles,
    ItemState,
    request_key,
    sha256_text,
)
from orchestrator.pipeline.store.records import PromptRecord, ResponseRecord
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.plan.model import Plan, Row
from orchestrator.prompts import RowRequest, repair_message
from orchestrator.providers.base import CallRequest, Turn

ResponseUse = Literal["none", "ok", "unjudged", "resume", "retry"]


@dataclass(frozen=True)
class WorkItem:
    """One row to send: its files, row, model, request and output path (and turns to resume)."""

    files: ItemFiles
    row: Row
    model: ModelInfo
    request: RowRequest
    history: tuple[Turn, ...] = ()
    target: Path | None = None  # the output file (None only in estimates)
    #: what an agent runtime needs (``claude-code``: prompt, paths, working folder)
    agent: dict[str, str] = field(default_factory=dict)

    @property
    def request_key(self) -> str:
        """What a response to this item answers: the prompt text sent to this model."""
        return request_key(sha256_text(self.request.as_text()), self.model.id)

    @property
    def key(self) -> str:
        return self.files.id

    def call_request(self) -> CallRequest:
        where = {"output_path": str(self.target)} if self.target else {}
        return CallRequest(
            model=self.model.id,
            system=self.request.system,
            shared=self.request.shared,
            turns=(Turn("user", self.request.row),),
            max_tokens=self.model.max_output_tokens,
            metadata={**self.agent, "item": self.key, "row": self.row.id, **where},
        )

    def for_agent(self, plan: Plan) -> WorkItem:
        """This item with the task an agent runtime needs (prompt, paths, working folder)."""
        from orchestrator.providers.claude_code.request import agent_metadata  # only for agent providers

        return replace(self, agent=agent_metadata(plan, self.row, self.key))

    def job(self) -> Job:
        return Job(self.key, self.row.id, self.model, self.call_request(), self.history, request_key=self.request_key)


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
    if meta.verdict is None:
        return "unjudged"
    if meta.verdict.ok:
        return "ok"
    return "retry" if meta.final else "resume"


def resume_history(state: ItemState) -> tuple[Turn, ...]:
    """The turns that continue a conversation whose last response failed validation."""
    meta = state.response_meta
    earlier = tuple(Turn(role, text) for role, text in meta.history) if meta else ()  # type: ignore[arg-type]
    verdict = meta.verdict if meta else None
    failures = list(verdict.failures if verdict and verdict.failures else ["the file failed validation"])
    return (
        *earlier,
        Turn("assistant", state.response_text or ""),
        Turn("user", repair_message(failures)),
    )


def request_from_prompt(meta: PromptRecord) -> RowRequest:
    return RowRequest(meta.system, meta.shared, meta.row, meta.title)


def recover_responses(ctx: Context, book: UsageBook) -> list[str]:
    """Restore, from the ledger, responses whose checkpoint files a killed run never wrote.

    The ledger line is the durable record of a paid response; ``response.md``
    and ``response.json`` are derived from it. When the newest response the
    ledger holds for an item answers the item's current prompt and the files
    do not hold it, they are written again (unjudged), so it is judged, not
    paid for a second time.
    """
    restored: list[str] = []
    for files in ctx.items():
        paid = book.responses.get(files.id)
        state = ctx.store.load(files)
        if paid is None or state.prompt_text is None or not state.prompt_current():
            continue
        if state.request_key(paid.model) != paid.request_key:
            continue
        if state.response_text == paid.text and state.response_answers(paid.request_key):
            continue
        ctx.store.put(files, RESPONSE, paid.text)
        restored_record = ResponseRecord(
            item=files.id,
            request_key=paid.request_key,
            model_id=paid.model,
            model=state.prompt_meta.model if state.prompt_meta else "",
            response_sha256=sha256_text(paid.text),
            stop_reason=paid.stop_reason,
            usage=paid.usage,
            latency_s=paid.latency_s,
            request_id=paid.request_id,
            attempt=paid.attempt,
            history=paid.history,
            verdict=None,
            final=False,
            received_at=paid.ts,
            provider=paid.provider,
            restored_from="ledger.jsonl",
        )
        ctx.store.put(files, RESPONSE_META, restored_record)
        restored.append(files.id)
    return restored


def process_work(ctx: Context, judge: Judge | None = None) -> Work:
    """What PROCESS will do for each item of the batch (from the checkpoints, read once)."""
    work = Work()
    rows = ctx.rows_by_item()
    for files in ctx.items():
        row = rows.get(files.id)
        if row is None or not row.is_pending:
            work.not_pending.append(files.id)
            continue
        state = ctx.store.load(files)
        if state.prompt_meta is None or state.prompt_text is None:
            work.waiting.append((files.id, "no prompt.md yet: run prepare"))
            continue
        if not state.prompt_current():
            work.blocked.append((files.id, "prompt.md is stale (raw.json changed): run prepare"))
            continue
        model = ctx.model_for(state.prompt_meta.model or row.model)
        use = response_use(state, state.request_key(model.id))
        if use in ("ok", "unjudged"):
            work.reuse.append(files.id)
            continue
        if not ctx.room(len(work.dispatch)):
            continue
        history = resume_history(state) if use == "resume" else ()
        target = judge.target(state.raw) if judge is not None and state.raw is not None else None
        work.dispatch.append(WorkItem(files, row, model, request_from_prompt(state.prompt_meta), history, target))
    return work


def planned_work(ctx: Context, *, batch_only: bool = False) -> Work:
    """What PROCESS would do if ACQUIRE and PREPARE ran now (for ``estimate``).

    With ``batch_only``, only the rows already in the batch count (what
    ``process --batch-id`` would send after ``prepare``); pending rows that
    ACQUIRE has not taken in yet go to ``not_acquired``.
    """
    work = Work()
    reference = reference_text(ctx.plan)
    reference_sha = sha256_text(reference)
    existing = set(ctx.store.item_ids(ctx.batch))
    for row in candidate_rows(ctx):
        files = ItemFiles(item_id(row.id), ctx.batch.item_dir(item_id(row.id)))
        if batch_only and files.id not in existing:
            if row.is_pending:
                work.not_acquired.append(files.id)
            continue
        if not row.is_pending:
            work.not_pending.append(files.id)
            continue
        request = request_from_raw(raw_record(ctx.plan, row, reference, reference_sha))
        model = ctx.model_for(row.model)
        state = ctx.store.load(files)
        key = request_key(sha256_text(request.as_text()), model.id)
        if response_use(state, key) in ("ok", "unjudged"):
            work.reuse.append(files.id)
        elif ctx.room(len(work.dispatch)):
            work.dispatch.append(WorkItem(files, row, model, request))
    return work
