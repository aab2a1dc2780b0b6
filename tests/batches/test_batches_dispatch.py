"""``dispatch_batches``: the batch path behind the online dispatcher's signature and hooks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from batchkit import FAST, check_document, ledger_lines, make_jobs

from orchestrator.batches.dispatch import dispatch_batches
from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import DispatchReport, DispatchSettings, Job, JobOutcome, Verdict
from orchestrator.dispatch.ledger import Ledger
from orchestrator.providers.anthropic_batch import AnthropicBatchProvider
from orchestrator.providers.base import CallResult, Turn
from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]


@dataclass
class SyncHooks:
    """The dispatcher's Hooks protocol, as the pipeline implements it (synchronous)."""

    checked: list[str] = field(default_factory=list)
    finished: dict[str, JobOutcome] = field(default_factory=dict)
    events: list[DispatchEvent] = field(default_factory=list)

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        pass

    async def check(self, job: Job, result: CallResult) -> Verdict:
        self.checked.append(job.key)
        failures = check_document(result.text)
        return Verdict(not failures, None if failures else result.text, failures)

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.finished[job.key] = outcome

    def on_event(self, event: DispatchEvent) -> None:
        self.events.append(event)


def go(sim: SimServer, folder: Path, hooks: SyncHooks, **batch: object) -> DispatchReport:
    jobs = make_jobs()

    async def main() -> DispatchReport:
        provider = AnthropicBatchProvider(api_key="sk-test", base_url=sim.url)
        try:
            return await dispatch_batches(
                [j.job() for j in jobs], provider, hooks, DispatchSettings(repair_attempts=1),
                batch_dir=folder, batch=FAST.__class__(**{**vars(FAST), **batch}),
                ledger=Ledger(folder / "ledger.jsonl"), request_keys={j.key: j.request_hash for j in jobs},
            )
        finally:
            await provider.aclose()

    return asyncio.run(main())


def test_a_dispatch_report_comes_back(sim: SimServer, tmp_path: Path) -> None:
    hooks = SyncHooks()
    report = go(sim, tmp_path, hooks)
    assert len(report.outcomes) == 6 and all(o.ok for o in report.outcomes)
    assert report.pending == [] and report.stopped is None and report.cost_usd > 0
    assert [e.kind for e in hooks.events].count("response") == 6  # the usage book sees every paid answer


def test_no_wait_rows_are_unfinished(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(batch_delay_ms=2000)
    report = go(sim, tmp_path, SyncHooks(), wait=False)
    assert report.outcomes == [] and len(report.unfinished) == 6 and report.not_started == []


def test_repair_online_goes_through_the_online_dispatcher(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(pbad_enum=1.0)  # first drafts fail; repairs are clean
    hooks = SyncHooks()
    report = go(sim, tmp_path, hooks, repair_online=True)
    assert all(o.ok for o in report.outcomes) and len(report.outcomes) == 6
    assert sim.batch_counts()["batches_created"] == 1 and sim.stats.messages_created == 6
    kinds = [(line.get("batch", False), line["kind"]) for line in ledger_lines(tmp_path)]
    assert kinds.count((True, "call")) == 6 and kinds.count((False, "repair")) == 6
