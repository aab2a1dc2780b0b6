"""Submitting: the intent durable before the POST, the id durable after it, split under the limits.

A POST is retried only when the API's answer proves nothing was created (429,
5xx, no connection at all); a POST whose answer is lost leaves its intent
open, for the next run to look the batch up by ``custom_id`` before it
submits anything.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from orchestrator.batches.api import BatchInfo
from orchestrator.batches.crash import crash_point
from orchestrator.batches.jobs import BatchProgress
from orchestrator.batches.journal import JournalRequest, Submission
from orchestrator.batches.split import fits, request_bytes, split
from orchestrator.batches.state import Planned, RunState
from orchestrator.errors import ConnectionFailed, FatalProviderError, ProviderError, ProviderTimeout


class Submitting(RunState):
    """The submitting half of a batch run."""

    async def submit(self, planned: list[Planned]) -> None:
        sized: list[tuple[tuple[Planned, dict[str, Any]], int]] = []
        for p in planned:
            params = dict(self.api.batch_params(replace(p.job.request, turns=(*p.job.request.turns, *p.extra))))
            n = request_bytes(p.custom_id, params)
            if not fits(n, self.settings.max_bytes):
                await self.finish(p.job, "rejected", f"the request is {n:,} bytes, more than a whole batch may hold "
                                  f"({self.settings.max_bytes:,}); shorten the prompt or raise the byte limit")
                continue
            sized.append(((p, params), n))
        for group in split(sized, self.settings.max_requests, self.settings.max_bytes):
            why = self.stopping()
            if why is not None:
                for p, _ in group:
                    await self.finish(p.job, "not_submitted", f"not submitted: {why}")
                continue
            await self.submit_one(group)

    def stopping(self) -> str | None:
        """Why no further submission may be made now, if one may not."""
        cap = self.settings.max_cost
        if cap is not None and self.report.cost_usd >= cap:
            return f"this run has spent ${self.report.cost_usd:.6g} of --max-cost ${cap:.6g}"
        if self.stop.is_set():
            return "the run was stopped first"
        return "a fatal error stopped the run" if self.report.fatal is not None else None

    async def submit_one(self, group: list[tuple[Planned, dict[str, Any]]]) -> None:
        entries = [
            JournalRequest(p.custom_id, p.job.key, p.job.row_id, p.job.request_hash, p.repair, p.job.model.alias,
                           tuple((t.role, t.text) for t in p.extra) if p.repair else ())
            for p, _ in group
        ]
        models = {p.job.model.alias: p.job.model for p, _ in group}
        sub = await asyncio.to_thread(self.journal.write_intent, entries, models)
        crash_point("after_intent")
        try:
            info = await self.create(sub, [(p.custom_id, params) for p, params in group])
        except ProviderError as exc:
            await self.refused(sub, [p for p, _ in group], exc)
            return
        crash_point("after_post")
        await asyncio.to_thread(self.journal.write_submitted, sub, info)
        crash_point("after_id")
        self.report.submitted.append(info.id)
        self.open.append(sub)
        for p, _ in group:
            self.report.states[p.job.key] = "processing"
        self.hooks.on_progress(BatchProgress(sub.local, info, len(group), self.settings.poll_initial_s))

    async def create(self, sub: Submission, requests: list[tuple[str, dict[str, Any]]]) -> BatchInfo:
        """POST the batch, retrying only answers that prove nothing was created (429, 5xx)."""
        tries = 0
        while True:
            try:
                return await self.api.create_batch(requests)
            except ProviderError as exc:
                certain = exc.status is not None or isinstance(exc, ConnectionFailed)
                tries += 1
                if not (certain and exc.retryable) or tries > self.settings.submit_retries:
                    raise
                if await self.sleep(min(exc.retry_after or 2.0**tries, 60.0)):
                    raise  # stopped while waiting: nothing was created

    async def refused(self, sub: Submission, group: list[Planned], exc: ProviderError) -> None:
        """The POST failed: certainly (abandon the intent) or maybe (leave it for the rerun to look up)."""
        uncertain = isinstance(exc, ProviderTimeout) and not isinstance(exc, ConnectionFailed) and exc.status is None
        if uncertain:
            self.report.unresolved.append(sub.local)
            for p in group:
                self.report.states[p.job.key] = "processing"
                self.report.reasons[p.job.key] = (
                    f"submission {sub.local} may or may not have been created ({exc.message}); "
                    "the next run looks it up before submitting anything"
                )
            return
        await asyncio.to_thread(self.journal.abandon, sub, exc.render())
        if isinstance(exc, FatalProviderError | ConnectionFailed):
            self.report.fatal = exc
        for p in group:
            await self.finish(p.job, "not_submitted", f"batch submission refused: {exc.render()}")
