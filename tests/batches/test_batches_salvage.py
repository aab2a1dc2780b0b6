"""Salvage and repairs: failed requests stay pending and only they are resent; budgets hold across runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from batchkit import Capturing, ledger_lines, make_jobs, run

from orchestrator.batches.control import cancel_open, journal_status
from orchestrator.prompts import repair_message
from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]


def test_errored_and_expired_rows_stay_pending_and_a_rerun_sends_only_them(start_sim: Start, tmp_path: Path) -> None:
    flaky = start_sim(seed=3, pbatch_error=0.3, pbatch_expired=0.3)
    jobs = make_jobs()
    report, hooks, _ = run(jobs, flaky.url, tmp_path)
    failed = report.keys("errored") + report.keys("expired")
    assert report.keys("errored") and report.keys("expired") and report.completed  # seed 3 gives all three
    for key in failed:
        outcome = hooks.finished[key]
        assert not outcome.ok and outcome.error and "a rerun submits it again" in outcome.error
    errored_lines = [line for line in ledger_lines(tmp_path) if line["key"] in failed]
    assert len(errored_lines) == len(failed) and all(line["cost_usd"] == 0 for line in errored_lines)
    pending = [j for j in jobs if j.key not in report.completed]  # what the driver passes on the rerun
    steady = start_sim()
    again, _, api = run(pending, steady.url, tmp_path)
    assert steady.batch_counts() == {"batches_created": 1, "batch_requests_created": len(failed)}
    assert sorted(again.completed) == sorted(failed)
    (sent,) = api.created
    assert len(sent) == len(failed)


def test_an_invalid_request_is_reported_and_not_resubmitted_unchanged(sim: SimServer, tmp_path: Path) -> None:
    bad = make_jobs(["Quorum"], max_tokens=0)
    report, hooks, _ = run(bad, sim.url, tmp_path)
    key = bad[0].key
    assert report.states == {key: "rejected"} and "invalid_request_error" in report.reasons[key]
    assert "max_tokens" in (hooks.finished[key].error or "")
    again, _, _ = run(bad, sim.url, tmp_path)
    assert again.states == {key: "rejected"} and sim.batch_counts()["batches_created"] == 1
    fixed = make_jobs(["Quorum"])  # the row changed: a new request, sent
    last, _, _ = run(fixed, sim.url, tmp_path)
    assert last.completed == [key] and sim.batch_counts()["batches_created"] == 2


def test_cancel_leaves_every_unfinished_row_pending(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(seed=1, batch_delay_ms=1000, pbatch_cancel_finish=0.5)
    jobs = make_jobs()
    first, _, _ = run(jobs, sim.url, tmp_path, wait=False)
    assert first.processing == [j.key for j in jobs]

    async def cancel() -> list[str]:
        api = Capturing(api_key="sk-test", base_url=sim.url)
        try:
            return [s.info.status for s in await cancel_open(api, tmp_path) if s.info]
        finally:
            await api.aclose()

    assert asyncio.run(cancel()) == ["canceling"]
    assert journal_status(tmp_path)[0].submission.cancel_requested
    report, hooks, _ = run(jobs, sim.url, tmp_path)
    canceled = report.keys("canceled")
    assert canceled and report.completed and sorted(canceled + report.completed) == sorted(j.key for j in jobs)
    for key, outcome in hooks.finished.items():  # complete only what came back and validated
        assert outcome.ok == (key in report.completed)
        assert (outcome.content is not None) == outcome.ok
    assert sim.batch_counts()["batches_created"] == 1  # nothing was resubmitted in the collecting run
    rest, _, api = run([j for j in jobs if j.key in canceled], sim.url, tmp_path)
    assert sorted(rest.completed) == sorted(canceled) and len(api.created[0]) == len(canceled)


def test_a_repair_sends_only_the_last_draft_and_the_validator_messages(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(pnever_valid=1.0)
    jobs = make_jobs(["Quorum"])
    report, hooks, api = run(jobs, sim.url, tmp_path, repair_attempts=2, max_attempts=10)
    assert report.keys("invalid") == [jobs[0].key]
    assert [len(batch) for batch in api.created] == [1, 1, 1]  # the request, then two follow-up batches
    draft_1, repair_1, repair_2 = (next(iter(b.values())) for b in api.created)
    assert len(draft_1["messages"]) == 1
    for repair in (repair_1, repair_2):  # never the whole history: row, previous draft, complaint
        roles = [m["role"] for m in repair["messages"]]
        assert roles == ["user", "assistant", "user"]
        assert repair["messages"][0] == draft_1["messages"][0]
        assert repair["system"] == draft_1["system"]  # same cached prefix
    outcome = hooks.finished[jobs[0].key]
    assert repair_2["messages"][2]["content"] == repair_message(outcome.failures)
    assert outcome.calls == 3 and not outcome.ok and outcome.error is None
    assert [attempt for _, attempt, _ in hooks.responses] == [1, 2, 3]
    assert [line["kind"] for line in ledger_lines(tmp_path)] == ["call", "repair", "repair"]


def test_a_first_draft_that_fails_is_repaired_in_a_follow_up_batch(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(pbad_enum=1.0)  # every first draft has a bad category; repairs are clean
    jobs = make_jobs()
    report, hooks, api = run(jobs, sim.url, tmp_path)
    assert report.completed == [j.key for j in jobs]
    assert [len(b) for b in api.created] == [len(jobs), len(jobs)]
    assert all(o.ok and o.calls == 2 for o in hooks.finished.values())


def test_repair_online_hands_the_repair_back_as_a_job(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(pbad_enum=1.0)
    jobs = make_jobs(["Quorum"])
    report, hooks, api = run(jobs, sim.url, tmp_path, repair_online=True)
    (job,) = report.online_repairs
    assert [t.role for t in job.history] == ["assistant", "user"] and job.repairs_used == 1
    assert report.processing == [jobs[0].key] and not hooks.finished and len(api.created) == 1


def test_the_attempt_budget_stops_a_row_that_keeps_failing(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(pnever_valid=1.0)
    jobs = make_jobs(["Quorum"])
    key = jobs[0].key
    first, _, _ = run(jobs, sim.url, tmp_path, repair_attempts=1, max_attempts=3)
    assert first.states == {key: "invalid"} and sim.batch_counts()["batches_created"] == 2
    second, hooks, _ = run(jobs, sim.url, tmp_path, repair_attempts=1, max_attempts=3)
    assert second.states == {key: "exhausted"} and sim.batch_counts()["batches_created"] == 3  # no repair
    assert "needs attention" in (hooks.finished[key].error or "")
    third, _, _ = run(jobs, sim.url, tmp_path, repair_attempts=1, max_attempts=3)
    assert third.states == {key: "exhausted"} and sim.batch_counts()["batches_created"] == 3  # not sent
    retried, _, _ = run(jobs, sim.url, tmp_path, repair_attempts=0, max_attempts=3, retry_exhausted=True)
    assert retried.states == {key: "invalid"} and sim.batch_counts()["batches_created"] == 4
    changed = [replace(jobs[0], fingerprint="the rules changed")]
    fresh, _, _ = run(changed, sim.url, tmp_path, repair_attempts=0, max_attempts=3)
    assert fresh.states == {key: "invalid"} and sim.batch_counts()["batches_created"] == 5


def test_a_batch_the_api_no_longer_has_is_abandoned_and_its_rows_resent(sim: SimServer, tmp_path: Path) -> None:
    import time

    import anthropic

    jobs = make_jobs(["Quorum", "Backpressure"])
    first, _, _ = run(jobs, sim.url, tmp_path, wait=False)
    (batch_id,) = first.submitted
    api = anthropic.Anthropic(api_key="sk-test", base_url=sim.url, max_retries=0)
    while api.messages.batches.retrieve(batch_id).processing_status != "ended":
        time.sleep(0.02)
    api.messages.batches.delete(batch_id)
    api.close()
    gone, _, _ = run(jobs, sim.url, tmp_path)
    assert set(gone.states.values()) == {"errored"} and "is gone" in gone.reasons[jobs[0].key]
    assert journal_status(tmp_path)[0].submission.state == "abandoned"
    again, _, _ = run(jobs, sim.url, tmp_path)
    assert len(again.completed) == 2 and sim.batch_counts()["batches_created"] == 2


def test_max_cost_stops_further_submissions(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(pbad_enum=1.0)  # every first draft fails: a repair round would follow
    jobs = make_jobs()
    report, hooks, _ = run(jobs, sim.url, tmp_path, max_cost=1e-9)
    assert sim.batch_counts()["batches_created"] == 1  # the confirmed batch; no repair round after the cap
    assert set(report.states.values()) == {"not_submitted"}
    assert all("--max-cost" in (o.error or "") for o in hooks.finished.values())
