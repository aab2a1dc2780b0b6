"""Collecting: results streamed in any order, matched by ``custom_id``, ledgered, judged, decided.

Each group of results is checkpointed and judged through the hooks, then its
ledger lines are group-committed (priced at the batch discount, holding the
response), then each row takes its next step: finished (valid, errored,
canceled, expired, rejected, out of budget) or queued for a repair round.
Collecting again after a crash writes no ledger line twice and counts no
failure twice.
"""

from __future__ import annotations

import asyncio

from orchestrator.batches.api import BatchInfo, BatchResultLine
from orchestrator.batches.crash import crash_point
from orchestrator.batches.jobs import BatchJob, RowState
from orchestrator.batches.journal import FailedResult, JournalRequest, Submission
from orchestrator.batches.pricing import batch_cost
from orchestrator.batches.state import INVALID_REQUEST, Planned, RunState, Spent, rejected_text
from orchestrator.dispatch.jobs import TRUNCATED_FAILURE, Verdict
from orchestrator.dispatch.ledger import Ledger, LedgerEntry, Outcome
from orchestrator.errors import ConnectionFailed, FatalProviderError, ProviderError
from orchestrator.models import ModelInfo, Usage
from orchestrator.prompts import repair_message
from orchestrator.providers.base import CallResult, Turn

_CHUNK = 500  # results handled per ledger group commit


class Collecting(RunState):
    """The collecting half of a batch run."""

    async def collect_or_retry(self, sub: Submission, info: BatchInfo) -> None:
        """Collect an ended batch; if its results cannot be read now, try again at the next poll."""
        try:
            await self.collect(sub, info)
        except ProviderError as exc:
            await self.api_failed(sub, exc)
            return
        self.open.remove(sub)

    async def api_failed(self, sub: Submission, exc: ProviderError) -> None:
        """A poll or a results download failed: gone (404), fatal, or try again at the next poll."""
        if exc.status == 404:  # deleted, or its results are past their 29 days: nothing will come
            self.open.remove(sub)
            await asyncio.to_thread(self.journal.abandon, sub, f"the API no longer has batch {sub.batch_id}")
            for r in sub.requests:
                if (job := self.live(r)) is not None:
                    await self.finish(job, "errored", f"batch {sub.batch_id} is gone ({exc.message}); "
                                      "a rerun submits the row again")
        elif isinstance(exc, FatalProviderError | ConnectionFailed):
            self.report.fatal = exc

    async def collect(self, sub: Submission, info: BatchInfo) -> None:
        assert sub.batch_id is not None
        again = sub.collecting
        await asyncio.to_thread(self.journal.mark_collecting, sub)
        ledgered = await asyncio.to_thread(_ledgered, self.ledger, sub.batch_id) if again else set()
        entries = {r.custom_id: r for r in sub.requests}
        failed: dict[str, FailedResult] = {}
        seen: set[str] = set()
        chunk: list[tuple[JournalRequest, BatchResultLine]] = []
        async for line in self.api.batch_results(sub.batch_id):
            entry = entries.get(line.custom_id)
            if entry is None or line.custom_id in seen:
                continue  # not ours (a mis-adopted batch) or a repeat
            seen.add(line.custom_id)
            chunk.append((entry, line))
            if len(chunk) >= _CHUNK:
                await self.handle(sub, chunk, ledgered, failed)
                chunk = []
        await self.handle(sub, chunk, ledgered, failed)
        missing = [(e, BatchResultLine(cid, "errored", error_type="missing", error="no result for this request"))
                   for cid, e in entries.items() if cid not in seen]
        await self.handle(sub, missing, ledgered, failed)
        await asyncio.to_thread(self.journal.mark_collected, sub, info.counts, failed)
        await asyncio.to_thread(self.budget.save)

    async def handle(
        self,
        sub: Submission,
        chunk: list[tuple[JournalRequest, BatchResultLine]],
        ledgered: set[str],
        failed: dict[str, FailedResult],
    ) -> None:
        """One group of results: checkpoint and judge, one ledger commit, then each row's next step."""
        assert sub.batch_id is not None
        lines: list[LedgerEntry] = []
        decided: list[tuple[BatchJob, JournalRequest, BatchResultLine, Verdict | None]] = []
        for entry, line in chunk:
            job = self.live(entry)
            model = sub.models[entry.model]
            verdict: Verdict | None = None
            outcome: Outcome = _failed_outcome(line)
            if line.type == "succeeded" and line.result is not None:
                if job is not None:
                    verdict = await self.judge(job, entry, line.result)
                    outcome = "truncated" if line.result.truncated else ("ok" if verdict.ok else "invalid")
                else:
                    outcome = "unchecked"
            else:
                failed[line.custom_id] = FailedResult(line.type, line.error_type, line.error)
            if line.custom_id not in ledgered:
                lines.append(_ledger_line(sub.batch_id, entry, line, model, outcome))
            if job is not None:
                decided.append((job, entry, line, verdict))
        await asyncio.to_thread(self.ledger.record_many, lines)
        ledgered.update(str(written.custom_id) for written in lines)
        for written in lines:
            self.report.usage += written.usage
            self.report.cost_usd += written.cost_usd
        if lines:
            crash_point("collecting")
        for job, entry, line, verdict in decided:
            await self.decide(sub, job, entry, line, verdict)

    async def judge(self, job: BatchJob, entry: JournalRequest, result: CallResult) -> Verdict:
        turns = (*job.request.turns, *(Turn("assistant" if r == "assistant" else "user", t) for r, t in entry.turns))
        spent = self.spent.setdefault(job.key, Spent(Usage()))
        spent.usage += result.usage
        spent.cost += batch_cost(job.model, result.usage)
        spent.calls += 1
        spent.last = result
        self.emit("response", job, attempt=entry.repair + 1, usage=result.usage,
                  cost_usd=batch_cost(job.model, result.usage))
        await self.hooks.on_response(job.job(), turns, result, entry.repair + 1)
        if result.truncated:
            return Verdict(False, None, [TRUNCATED_FAILURE])
        return await self.hooks.judge(job.job(), result)

    async def decide(
        self, sub: Submission, job: BatchJob, entry: JournalRequest, line: BatchResultLine, verdict: Verdict | None
    ) -> None:
        if verdict is None:
            state, reason = _failure_state(line, sub)
            await self.finish(job, state, reason)
            return
        if verdict.ok:
            self.budget.clear(job.key)
            await self.finish(job, "completed", None, verdict)
            return
        failures = self.budget.add_failure(job.key, job.budget_key, f"{sub.batch_id}/{entry.custom_id}")
        if failures >= self.settings.max_attempts:
            await self.finish(job, "exhausted", self.exhausted_text(job), verdict)
            return
        if entry.repair >= self.settings.repair_attempts:
            await self.finish(job, "invalid", "; ".join(verdict.failures) or "invalid output", verdict)
            return
        assert line.result is not None
        extra = (Turn("assistant", line.result.text), Turn("user", repair_message(verdict.failures)))
        self.emit("repaired", job, attempt=entry.repair + 1, message="; ".join(verdict.failures))
        if self.settings.repair_online:
            self.report.online_repairs.append(job.job(history=extra))
            self.report.states[job.key] = "processing"
            self.report.reasons[job.key] = "handed to the online provider for its repair turn"
        else:
            self.repairs.append(Planned(job, entry.repair + 1, extra))


def _failure_state(line: BatchResultLine, sub: Submission) -> tuple[RowState, str]:
    where = f"batch {sub.batch_id}"
    if line.type == "errored" and line.error_type == INVALID_REQUEST:
        return "rejected", rejected_text(line.error or "")
    if line.type == "errored":
        detail = f"{line.error_type}: {line.error}"
        return "errored", f"batch request errored in {where} ({detail}); a rerun submits it again"
    if line.type == "canceled":
        return "canceled", f"batch request canceled in {where}; a rerun submits it again"
    return "expired", f"batch request expired in {where} before it was processed; a rerun submits it again"


def _failed_outcome(line: BatchResultLine) -> Outcome:
    return "cancelled" if line.type == "canceled" else "error"


def _ledger_line(
    batch_id: str, entry: JournalRequest, line: BatchResultLine, model: ModelInfo, outcome: Outcome
) -> LedgerEntry:
    result = line.result
    usage = result.usage if result is not None else Usage()
    error = None
    if line.type == "errored":
        error = f"errored: {line.error_type}: {line.error}"
    elif line.type in ("canceled", "expired"):
        error = line.type
    return LedgerEntry(
        key=entry.key,
        row_id=entry.row_id,
        model=model.id,
        attempt=entry.repair + 1,
        kind="repair" if entry.repair else "call",
        outcome=outcome,
        usage=usage,
        cost_usd=batch_cost(model, usage),
        error=error,
        request_id=result.request_id if result is not None else None,
        stop_reason=result.stop_reason if result is not None else None,
        batch_id=batch_id,
        custom_id=entry.custom_id,
        provider="anthropic-batch",
        # the paid response itself, as the online dispatcher keeps it: the ledger is its durable record
        request_key=entry.request_hash,
        response=result.text if result is not None else None,
        history=entry.turns if result is not None else None,
    )


def _ledgered(ledger: Ledger, batch_id: str) -> set[str]:
    """custom_ids of ``batch_id`` the ledger already has (collection was interrupted)."""
    return {str(d.get("custom_id")) for d in ledger.entries() if d.get("batch_id") == batch_id}
