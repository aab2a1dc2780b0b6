"""Concurrency: a person saving the plan every millisecond during a run, two runs on one plan.

The editor (``plan_editor.py``) saves by rename and in place, without any
compare-and-swap, re-reading the plan before each save. During the run a
reader in this process reads the plan continuously. Whatever the run's
exit code, it must never report success for a status the plan does not
show, never exit 2 because a read caught a save half done, never hide a
save the editor had already made, and never lose one; a free rerun (no new
call) records whatever the run could not.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from campaignkit import Campaign, check, check_final, edited_run, make_project, simulator

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX processes and renameat2")


def test_a_run_under_an_editor_saving_every_millisecond_never_claims_what_it_did_not_write(tmp_path: Path) -> None:
    done = edited_run(tmp_path, mode="both", interval_ms=1, rows=12)
    result = done.result
    assert done.saves > 100, "the editor kept saving during the run"
    assert result.code in (0, 1), result.err[-2000:]
    if result.code == 0:
        assert done.statuses_after_run == {"complete"}, "exit 0, yet the plan does not show every status"
        assert "Successful: 12" in result.out
    else:
        assert "not recorded" in result.err or "kept changing" in result.err, result.err[-2000:]
        assert "run the same command again" in result.err
    assert done.reads > 100
    assert done.older == [], f"a reader saw a plan older than a save already made: {done.older[:5]}"
    assert done.lost == [], f"every save the editor made is in the plan; lost: {done.lost[:10]}"
    assert done.rerun.code == 0, done.rerun.err[-2000:]
    assert done.billed_by_rerun == 0, "the rerun that records what the run could not is free"
    assert done.final.problems == [] and done.final.complete == 12


def test_a_second_run_on_the_same_phase_is_refused_within_a_second(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    with simulator("latency_ms=150") as server:
        camp = Campaign(project, server, workers=2)
        started = time.monotonic()
        first = camp.start()
        _wait_for_lock_owner(project, first)
        second_started = time.monotonic()
        second = camp.run()
        took = time.monotonic() - second_started
        idle = _startup_allowance(camp)  # measured now, under the same load as the refused run
        assert took < 1.5 + idle, f"refused at once (took {took:.1f} s; a run with nothing to do: {idle:.1f} s)"
        assert second.code == 1, second.err
        assert "locked by another orchestrate process" in second.err and "--wait" in second.err
        assert f"pid {first.pid}" in second.err
        result = camp.finish(first, started)
        assert result.code == 0, result.err[-2000:]
        assert check_final(camp).problems == []


def test_runs_on_two_phases_of_one_plan_queue_with_wait_and_both_complete(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", rows=12, phases=2)
    with simulator("latency_ms=40") as server:
        one = Campaign(project, server, workers=2, phase=1)
        two = Campaign(project, server, workers=2, phase=2)
        started = time.monotonic()
        first = one.start()
        _wait_for_lock_owner(project, first)
        refused = two.run()
        assert refused.code == 1 and "locked by another orchestrate process" in refused.err
        queued = two.start(None, "--wait")
        done_one, done_two = one.finish(first, started), two.finish(queued, started)
        assert (done_one.code, done_two.code) == (0, 0), done_one.err[-1000:] + done_two.err[-1000:]
        assert {row.status for row in project.rows().values()} == {"complete"}
        assert len(project.ledger(1)) >= 6 and len(project.ledger(2)) >= 6
        found = check(one, phases=(1, 2))
        assert found.problems == [] and found.complete == 12


def _wait_for_lock_owner(project: object, proc: subprocess.Popen[str]) -> None:
    owner = Path(str(project.plan) + ".lock.owner")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while not owner.exists():
        assert proc.poll() is None, "the first run ended early"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _startup_allowance(camp: Campaign) -> float:
    """How long a run with nothing to do takes here (start-up, imports, reading): refusing must add < 1 s."""
    idle = make_project(camp.project.root.parent / "idle", rows=4)
    idle.plan.write_text(idle.plan.read_text().replace("| pending |", "| complete |"))
    started = time.monotonic()
    argv = [*camp.argv()[:4], str(idle.plan), *camp.argv()[5:]]
    subprocess.run(argv, cwd=idle.root, env=camp.child_env(), capture_output=True, check=False)
    return time.monotonic() - started
