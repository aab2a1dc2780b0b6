"""The dispatcher's hooks for PROCESS: judge each response once, keep it, hand the item on.

Nothing here waits for a disk. The response itself is made durable by the
dispatcher's ledger line (group-committed by the writer thread) before the
dispatcher moves on; ``response.md`` and ``response.json`` are derived from
it and handed to the writer thread when the item finishes. ``check`` is the
one judgement of the response: its :class:`Judgement` (verdict and report)
is kept so that recording the row does not judge it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import Job, JobOutcome, Verdict
from orchestrator.pipeline.judge import Judgement
from orchestrator.pipeline.judge_helper import JudgeHelper
from orchestrator.pipeline.stages.selection import WorkItem
from orchestrator.pipeline.store.batch import now_iso
from orchestrator.pipeline.store.checkpoints import (
    ERROR,
    RESPONSE,
    RESPONSE_META,
    ItemStore,
    sha256_text,
)
from orchestrator.pipeline.store.records import ErrorRecord, OutcomeRecord, ResponseRecord, VerdictRecord
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.providers.base import CallResult, Turn


class ProgressSink(Protocol):
    def event(self, event: DispatchEvent) -> None: ...

    def item_finished(self, key: str, ok: bool, chars: int, message: str | None) -> None: ...


def verdict_record(verdict: Verdict) -> VerdictRecord:
    return VerdictRecord(verdict.ok, tuple(verdict.failures), tuple(verdict.notes))


@dataclass
class Received:
    """The last response of a job, with its one judgement (``None`` until judged)."""

    result: CallResult
    history: tuple[Turn, ...]
    attempt: int
    received_at: str
    judgement: Judgement | None = None


class BatchHooks:
    """Implements :class:`orchestrator.dispatch.jobs.Hooks` for one PROCESS run."""

    def __init__(
        self,
        items: dict[str, WorkItem],
        judge: JudgeHelper,
        store: ItemStore,
        book: UsageBook,
        progress: ProgressSink,
        on_done: Callable[[WorkItem, JobOutcome, Received | None], None],
        provider: str | None = None,
    ) -> None:
        self.items, self.judge, self.store = items, judge, store
        self.provider = provider  # recorded in each response.json (``sim``: a rehearsal's response)
        self.cost_is_estimate = False  # a response's cost was the client's estimate (claude-code)
        self.book, self.progress, self.on_done = book, progress, on_done
        self.received: dict[str, Received] = {}
        self.judgements = 0  # how many times a response was judged (once each)

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        history = turns[len(job.request.turns) :]
        self.received[job.key] = Received(result, history, attempt, now_iso())
        self.cost_is_estimate = self.cost_is_estimate or result.cost_is_estimate

    async def check(self, job: Job, result: CallResult) -> Verdict:
        item = self.items[job.key]
        assert item.target is not None, "PROCESS items always know their output path"
        judgement = await self.judge.judge(item.target, result.text, result.stop_reason)
        self.judgements += 1
        self.received[job.key].judgement = judgement
        return judgement.verdict

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        item = self.items[job.key]
        received = self.received.pop(job.key, None)  # done with: a 10,000-row run keeps no finished response
        summary = OutcomeRecord(
            ok=outcome.ok,
            calls=outcome.calls,
            repairs=outcome.repairs,
            error=outcome.error,
            failures=tuple(outcome.failures),
            finished_at=now_iso(),
        )
        if received is None:
            self.store.put(item.files, ERROR, ErrorRecord(job.key, summary))
        else:
            self._checkpoint(item, job, received, summary, outcome)
        chars = len(outcome.content or "")
        message = outcome.error or ("; ".join(outcome.failures) if outcome.failures else None)
        self.progress.item_finished(job.key, outcome.ok, chars, message)
        self.on_done(item, outcome, received)

    def _checkpoint(
        self, item: WorkItem, job: Job, received: Received, summary: OutcomeRecord, outcome: JobOutcome
    ) -> None:
        """``response.md`` and ``response.json``: derived from the ledger line, written by the writer thread."""
        result = received.result
        verdict = received.judgement.verdict if received.judgement else None
        if outcome.error is None and not outcome.ok:
            verdict = Verdict(False, None, outcome.failures, outcome.notes)
        self.store.put(item.files, RESPONSE, result.text)
        record = ResponseRecord(
            item=job.key,
            request_key=job.request_key or "",
            model_id=job.model.id,
            model=job.model.alias,
            response_sha256=sha256_text(result.text),
            stop_reason=result.stop_reason,
            usage=result.usage,
            latency_s=result.latency_s,
            request_id=result.request_id,
            attempt=received.attempt,
            history=tuple((t.role, t.text) for t in received.history),
            verdict=verdict_record(verdict) if verdict else None,
            final=True,
            received_at=received.received_at,
            outcome=summary,
            provider=self.provider,
        )
        self.store.put(item.files, RESPONSE_META, record)
        if self.store.load(item.files).error is not None:
            self.store.put(item.files, ERROR, None)

    def on_event(self, event: DispatchEvent) -> None:
        self.book.add_event(event)
        self.progress.event(event)
