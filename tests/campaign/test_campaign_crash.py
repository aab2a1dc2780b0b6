"""The crash campaign's fast subset: SIGKILL at random and at instrumented instants, then reruns.

Each round is a fresh 36-row plan against a simulator with faults (429,
529, 500, dropped connections, truncated and invalid drafts). A run is
killed at a random instant or at the N-th pass through one of the
instants where a crash costs most (a temporary file just created or
filled, a file just renamed into place, the plan just swapped, ledger
lines just fsynced; see :mod:`orchestrator.recorder.crashpoint`), and the
next run is its rerun. After every run the invariants of
:func:`campaignkit.check` hold; after the last (a free rerun) every row is
complete with a valid output. ``bench/campaign.py`` runs the full sweep
(at least 100 kills).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from campaignkit import Campaign, Tally, check, crash_round, make_project, simulator

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals and renameat2")


def test_killed_runs_and_their_reruns_lose_nothing_and_pay_nothing_twice(tmp_path: Path) -> None:
    tally = Tally()
    # seed 23: the first kill comes 0.08 s after the first ledger line, while calls are in flight
    crash_round(tmp_path / "round", random.Random(23), kills=3, tally=tally)
    assert tally.problems == []
    assert tally.kills >= 1, f"the campaign killed runs ({tally})"
    assert tally.rows_complete == 36 and tally.rows_pending == 0


def test_a_kill_at_each_instrumented_instant_is_survived(tmp_path: Path) -> None:
    """One plan, killed in turn at each instant where a crash costs most, each kill followed by its rerun."""
    project = make_project(tmp_path / "p", rows=12)
    with simulator("latency_ms=20,ptruncated=0.2") as server:
        camp = Campaign(project, server, workers=3)
        for point in ("temp:3", "ledger:2", "replaced:6", "plan:2"):
            killed = camp.run(crash_at=point)
            assert killed.killed, f"the run reached {point}: {killed.err[-500:]}"
            assert check(camp).problems == [], point
        valid_before = {line["key"] for line in project.ledger() if line.get("outcome") == "ok"}
        billed = server.stats.messages_created
        rerun = camp.run()
        assert rerun.code == 0, rerun.err[-1500:]
        found = check(camp)
        assert found.problems == [] and found.complete == 12
        # only rows without a valid response are called (each at most 1 + 2 repairs), plus what was in flight
        assert server.stats.messages_created - billed <= 3 * (12 - len(valid_before)) + camp.workers
