"""Never twice: a process killed at any point of a batch run, then a rerun, makes one submission.

Each kill is a real SIGKILL of a child process at an instrumented point
(``ORCHESTRATE_BATCH_CRASH_AT``); the simulator runs in the test process and
counts every batch created.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest
from batchkit import FAST, TITLES, Capturing, Hooks, journal_files, ledger_lines, make_jobs, run
from simkit import params

from orchestrator.batches import run_batches
from orchestrator.batches.crash import CRASH_VARIABLE
from orchestrator.dispatch.ledger import Ledger
from orchestrator.errors import CheckpointError, Overloaded, ProviderTimeout, RateLimited
from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]
HERE = Path(__file__).resolve().parent


def killed_at(point: str, sim: SimServer, folder: Path, count: int = len(TITLES)) -> None:
    env = {**os.environ, CRASH_VARIABLE: point,
           "PYTHONPATH": os.pathsep.join([str(HERE), str(HERE.parent / "sim"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(HERE / "batch_child.py"), sim.url, str(folder), str(count)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.mark.parametrize("delay_ms", [50, 1500], ids=["ended-before-rerun", "still-running-at-rerun"])
def test_killed_after_the_post_before_the_id_is_written(start_sim: Start, tmp_path: Path, delay_ms: int) -> None:
    sim = start_sim(batch_delay_ms=delay_ms)
    killed_at("after_post", sim, tmp_path)
    assert journal_files(tmp_path) == {"sub-0001": ["intent.json"]}  # the id never reached the disk
    assert sim.batch_counts()["batches_created"] == 1
    jobs = make_jobs()
    report, hooks, _ = run(jobs, sim.url, tmp_path)
    assert sim.batch_counts()["batches_created"] == 1  # found by custom_id, not submitted again
    assert len(report.recovered) == 1 and not report.submitted
    if delay_ms > 1000:  # adopted while still running: the only candidate, checked when its results came
        assert hooks.progress[0].batch.status == "in_progress"
    assert report.completed == [j.key for j in jobs] and all(o.ok for o in hooks.finished.values())


def test_killed_while_polling(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(batch_delay_ms=1500)
    killed_at("polling", sim, tmp_path)
    assert journal_files(tmp_path) == {"sub-0001": ["intent.json", "submitted.json"]}
    report, _, _ = run(make_jobs(), sim.url, tmp_path)
    assert sim.batch_counts()["batches_created"] == 1
    assert report.resumed and not report.submitted and len(report.completed) == len(TITLES)


def test_killed_before_the_post_submits_on_the_rerun(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim()
    killed_at("after_intent", sim, tmp_path)
    assert sim.batch_counts()["batches_created"] == 0
    report, _, _ = run(make_jobs(), sim.url, tmp_path)
    assert sim.batch_counts()["batches_created"] == 1 and len(report.submitted) == 1
    assert len(report.completed) == len(TITLES)
    files = journal_files(tmp_path)
    assert files["sub-0001"] == ["abandoned.json", "intent.json"] and "collected.json" in files["sub-0002"]


def test_killed_while_collecting_pays_and_counts_nothing_twice(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim()
    killed_at("collecting", sim, tmp_path)
    first = ledger_lines(tmp_path)
    assert len(first) == len(TITLES)  # every result's ledger line was written, then the kill
    report, hooks, _ = run(make_jobs(), sim.url, tmp_path)
    assert ledger_lines(tmp_path) == first  # re-collected, not re-ledgered
    assert sim.batch_counts()["batches_created"] == 1 and len(report.completed) == len(TITLES)
    assert report.cost_usd == 0.0 and len(hooks.finished) == len(TITLES)


def test_no_wait_submits_and_a_later_call_collects(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(batch_delay_ms=600)
    jobs = make_jobs()
    report, hooks, _ = run(jobs, sim.url, tmp_path, wait=False)
    assert report.processing == [j.key for j in jobs] and not hooks.finished
    again, _, _ = run(jobs, sim.url, tmp_path, wait=False)  # still running: nothing new is sent
    assert again.processing == [j.key for j in jobs] and not again.submitted
    last, hooks, _ = run(jobs, sim.url, tmp_path)
    assert sim.batch_counts()["batches_created"] == 1
    assert last.completed == [j.key for j in jobs] and all(o.ok for o in hooks.finished.values())


class LostAnswer(Capturing):
    """The POST reaches the API and creates the batch, but its answer never comes back."""

    async def create_batch(self, requests: Any) -> Any:
        await super().create_batch(requests)
        raise ProviderTimeout("the call timed out before the answer was complete")


class RefusedOnce(Capturing):
    """The first POST is refused with a 429 (nothing created), the second goes through."""

    refused = 0

    async def create_batch(self, requests: Any) -> Any:
        if not self.refused:
            self.refused += 1
            raise RateLimited("429 rate_limit_error: slow down", status=429, retry_after=0.01)
        return await super().create_batch(requests)


def test_a_lost_post_answer_is_looked_up_not_resubmitted(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(batch_delay_ms=300)
    jobs = make_jobs()

    async def lost() -> Any:
        api = LostAnswer(api_key="sk-test", base_url=sim.url)
        try:
            return await run_batches(jobs, api, Hooks(), tmp_path, FAST, ledger=Ledger(tmp_path / "ledger.jsonl"))
        finally:
            await api.aclose()

    first = asyncio.run(lost())
    assert first.unresolved == ["sub-0001"] and first.processing == [j.key for j in jobs]
    assert "may or may not have been created" in first.reasons[jobs[0].key]
    report, _, _ = run(jobs, sim.url, tmp_path)
    assert len(report.recovered) == 1 and not report.submitted and len(report.completed) == len(jobs)
    assert sim.batch_counts()["batches_created"] == 1


def test_a_refused_post_is_retried_because_nothing_was_created(sim: SimServer, tmp_path: Path) -> None:
    jobs = make_jobs()

    async def go() -> Any:
        api = RefusedOnce(api_key="sk-test", base_url=sim.url)
        try:
            return await run_batches(jobs, api, Hooks(), tmp_path, FAST, ledger=Ledger(tmp_path / "ledger.jsonl"))
        finally:
            await api.aclose()

    report = asyncio.run(go())
    assert len(report.completed) == len(jobs) and sim.batch_counts()["batches_created"] == 1


def test_two_candidate_batches_wait_until_their_results_tell_them_apart(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(batch_delay_ms=1500)
    killed_at("after_post", sim, tmp_path)
    other = anthropic.Anthropic(api_key="sk-test", base_url=sim.url, max_retries=0)  # someone else's batch
    foreign = other.messages.batches.create(
        requests=[{"custom_id": f"theirs-{i}", "params": params(t)} for i, t in enumerate(TITLES)]
    )
    jobs = make_jobs()
    held, hooks, _ = run(jobs, sim.url, tmp_path, wait=False)
    assert held.unresolved == ["sub-0001"] and not held.submitted and not held.recovered
    assert held.processing == [j.key for j in jobs] and not hooks.finished
    while other.messages.batches.retrieve(foreign.id).processing_status != "ended":
        time.sleep(0.05)
    other.close()
    report, _, _ = run(jobs, sim.url, tmp_path)
    assert len(report.recovered) == 1 and report.recovered[0] != foreign.id
    assert len(report.completed) == len(jobs) and sim.batch_counts()["batches_created"] == 2


class CannotList(Capturing):
    """The API answers everything but the list of batches (an outage of that endpoint)."""

    def recent_batches(self, since: Any) -> Any:
        raise Overloaded("529 overloaded_error: Overloaded", status=529)


def test_an_orphan_that_cannot_be_looked_up_holds_its_rows_back(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(batch_delay_ms=1500)
    killed_at("after_post", sim, tmp_path)
    jobs = make_jobs()

    async def go() -> Any:
        api = CannotList(api_key="sk-test", base_url=sim.url)
        try:
            return await run_batches(jobs, api, Hooks(), tmp_path, FAST, ledger=Ledger(tmp_path / "ledger.jsonl"))
        finally:
            await api.aclose()

    report = asyncio.run(go())
    assert report.unresolved == ["sub-0001"] and not report.submitted
    assert report.processing == [j.key for j in jobs] and sim.batch_counts()["batches_created"] == 1


def test_a_damaged_journal_is_refused_with_the_file_and_a_hint(sim: SimServer, tmp_path: Path) -> None:
    run(make_jobs(["Quorum"]), sim.url, tmp_path)
    intent = tmp_path / "batches" / "sub-0001" / "intent.json"
    intent.write_text("{not json")
    with pytest.raises(CheckpointError) as err:
        run(make_jobs(["Quorum"]), sim.url, tmp_path)
    assert err.value.path == intent and err.value.hint and "batches list" in err.value.hint
