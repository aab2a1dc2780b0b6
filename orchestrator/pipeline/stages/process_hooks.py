"""The dispatcher's hooks: checkpoint every response before judging it.

``on_response`` writes ``response.md`` and ``response.json`` (usage, stop
reason, the conversation so far) the moment a call returns, before anything
else can fail; a rerun that finds that checkpoint for the same prompt and
model uses it instead of paying again. ``check`` is PARSE's own judge, and
its verdict is added to the checkpoint. ``on_finished`` marks the checkpoint
final and hands the item to the stage (which parses it at once in ``run``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import Job, JobOutcome, Verdict
from orchestrator.pipeline.stages.parse import Judge
from orchestrator.pipeline.stages.selection import WorkItem
from orchestrator.pipeline.store.batch import now_iso
from orchestrator.pipeline.store.checkpoints import (
    ItemFiles,
    read_json,
    request_key,
    sha256_text,
    write_json,
    write_text,
)
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.providers.base import CallResult, Turn

ERROR_FILE = "error.json"


class ProgressSink(Protocol):
    def event(self, event: DispatchEvent) -> None: ...

    def item_finished(self, key: str, ok: bool, chars: int, message: str | None) -> None: ...


def verdict_dict(verdict: Verdict) -> dict[str, Any]:
    return {"ok": verdict.ok, "failures": list(verdict.failures), "notes": list(verdict.notes)}


class BatchHooks:
    """Implements :class:`orchestrator.dispatch.jobs.Hooks` for one PROCESS run."""

    def __init__(
        self,
        items: dict[str, WorkItem],
        judge: Judge,
        raws: dict[str, dict[str, Any]],
        book: UsageBook,
        progress: ProgressSink,
        on_done: Callable[[WorkItem, JobOutcome], None],
    ) -> None:
        self.items, self.judge, self.raws = items, judge, raws
        self.book, self.progress, self.on_done = book, progress, on_done

    def _files(self, job: Job) -> ItemFiles:
        return self.items[job.key].files

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        files = self._files(job)
        prompt_sha = sha256_text(self.items[job.key].request.as_text())
        write_text(files.response, result.text)
        write_json(
            files.response_meta,
            {
                "item": job.key,
                "stage": "process",
                "inputs": {"request": request_key(prompt_sha, job.model.id)},
                "model_id": job.model.id,
                "model": job.model.alias,
                "response_sha256": sha256_text(result.text),
                "stop_reason": result.stop_reason,
                "usage": result.usage.as_dict(),
                "latency_s": round(result.latency_s, 4),
                "request_id": result.request_id,
                "attempt": attempt,
                "history": [{"role": t.role, "text": t.text} for t in turns[len(job.request.turns) :]],
                "verdict": None,
                "final": False,
                "received_at": now_iso(),
            },
        )
        files.dir.joinpath(ERROR_FILE).unlink(missing_ok=True)

    def check(self, job: Job, result: CallResult) -> Verdict:
        verdict = self.judge.judge(self.raws[job.key], result.text, result.stop_reason).verdict
        self._update(job, {"verdict": verdict_dict(verdict)})
        return verdict

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        files = self._files(job)
        summary = {
            "ok": outcome.ok,
            "calls": outcome.calls,
            "repairs": outcome.repairs,
            "error": outcome.error,
            "failures": outcome.failures,
            "finished_at": now_iso(),
        }
        if outcome.last_text is None:
            write_json(files.dir / ERROR_FILE, {"item": job.key, **summary})
        else:
            changes: dict[str, Any] = {"final": True, "outcome": summary}
            if outcome.error is None and not outcome.ok:
                changes["verdict"] = {
                    "ok": False,
                    "failures": outcome.failures,
                    "notes": outcome.notes,
                }
            self._update(job, changes)
        chars = len(outcome.content or "")
        message = outcome.error or ("; ".join(outcome.failures) if outcome.failures else None)
        self.progress.item_finished(job.key, outcome.ok, chars, message)
        self.on_done(self.items[job.key], outcome)

    def on_event(self, event: DispatchEvent) -> None:
        self.book.add_event(event)
        self.progress.event(event)

    def _update(self, job: Job, changes: dict[str, Any]) -> None:
        files = self._files(job)
        meta = read_json(files.response_meta)
        if meta is not None:
            meta.update(changes)
            write_json(files.response_meta, meta)
