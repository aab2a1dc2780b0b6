"""The dispatcher's (synchronous) :class:`~orchestrator.dispatch.jobs.Hooks` as :class:`BatchHooks`.

So a driver that already has hooks for the online dispatcher (checkpoint,
judge, write and record) runs the batch path with the very same code.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.batches.jobs import BatchProgress
from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import Hooks, Job, JobOutcome, Verdict
from orchestrator.providers.base import CallResult, Turn


class SyncHooks:
    """Implements :class:`orchestrator.batches.jobs.BatchHooks` over dispatcher ``Hooks``."""

    def __init__(self, hooks: Hooks, on_progress: Callable[[BatchProgress], None] | None = None) -> None:
        self.hooks = hooks
        self._progress = on_progress

    async def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        self.hooks.on_response(job, turns, result, attempt)

    async def judge(self, job: Job, result: CallResult) -> Verdict:
        return await self.hooks.check(job, result)

    async def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.hooks.on_finished(job, outcome)

    def on_progress(self, progress: BatchProgress) -> None:
        if self._progress is not None:
            self._progress(progress)

    def on_event(self, event: DispatchEvent) -> None:
        self.hooks.on_event(event)
