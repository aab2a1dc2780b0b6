"""Concurrency: a person saving the plan every millisecond during a run, two runs on one plan.

The editor (``plan_editor.py``) saves by rename and in place, without any
compare-and-swap, re-reading the plan before each save. During the run a
reader in this process reads the plan continuously. Whatever the run's
exit code, it must never report success for a status the plan does not
show, never exit 2 because a read caught a save half done, never hide a
save the editor had already made, and never lose one; a free rerun (no new
call) records whatever the editor's saves undid.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from campaignkit import Campaign, check, check_final, make_project, simulator

HERE = Path(__file__).parent
EDIT = re.compile(r"^- edit (\d+)$", re.MULTILINE)
#: the editor saves every millisecond from the run's start to its end
EDITOR_SECONDS = 300.0  # stopped when the run ends

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX processes and renameat2")


class Reader(threading.Thread):
    """Reads the plan in a loop; notes any read older than a save the editor had already logged."""

    def __init__(self, plan: Path, log: Path) -> None:
        super().__init__(daemon=True)
        self.plan, self.log = plan, log
        self.stop = threading.Event()
        self.reads = 0
        self.older: list[tuple[int, int]] = []  # (saved before the read, newest edit the read showed)

    def run(self) -> None:
        while not self.stop.is_set():
            lines = self.log.read_text().split()
            saved = int(lines[-1]) if lines else 0
            text = self.plan.read_text(encoding="utf-8", errors="replace")
            if "## Phase 1" not in text:  # an in-place save caught half done: the log precedes the table
                continue
            self.reads += 1
            shown = max((int(n) for n in EDIT.findall(text)), default=0)
            if shown < saved:
                self.older.append((saved, shown))
            time.sleep(0.0005)


def _editor(plan: Path, seconds: float, interval_ms: float, mode: str, log: Path) -> subprocess.Popen[str]:
    args = [sys.executable, str(HERE / "plan_editor.py"), str(plan), str(seconds), str(interval_ms), mode, str(log)]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("mode", ["both"])
def test_a_run_under_an_editor_saving_every_millisecond_never_claims_what_it_did_not_write(
    tmp_path: Path, mode: str
) -> None:
    project = make_project(tmp_path / "p")
    log = tmp_path / "editor.log"
    log.write_text("")
    with simulator("latency_ms=30") as server:
        camp = Campaign(project, server)
        editor = _editor(project.plan, EDITOR_SECONDS, 1, mode, log)
        reader = Reader(project.plan, log)
        reader.start()
        try:
            result = camp.run()
        finally:
            editor.terminate()
            editor.wait(timeout=30)
            reader.stop.set()
            reader.join(timeout=30)
        saves = len(log.read_text().split())
        assert saves > 100, "the editor kept saving during the run"
        print(f"exit {result.code}, {saves} saves, {reader.reads} reads: {result.err[-300:]}")
        assert result.code in (0, 1), result.err[-2000:]
        statuses = {row.status for row in project.rows().values()}
        if result.code == 0:
            assert statuses == {"complete"}, "exit 0, yet the plan does not show every status"
            assert "Successful: 36" in result.out
        else:
            assert "not recorded" in result.err or "kept changing" in result.err, result.err[-2000:]
        assert reader.reads > 100
        assert reader.older == [], f"a reader saw a plan older than a save already made: {reader.older[:5]}"
        kept = sorted(int(n) for n in EDIT.findall(project.plan.read_text()))
        lost = sorted(set(range(saves + 1)) - set(kept))
        assert lost == [], f"every save the editor made is in the plan (edit 0 was there first); lost: {lost[:10]}"
        assert check(camp).problems == []

        billed = server.stats.messages_created
        rerun = camp.run()
        assert rerun.code == 0, rerun.err[-2000:]
        assert server.stats.messages_created == billed, "the rerun that records what was undone is free"
        assert check_final(camp).problems == []
        assert {row.status for row in project.rows().values()} == {"complete"}


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
        assert took < 1.0 + _startup_allowance(camp), f"refused at once (took {took:.1f} s)"
        assert second.code == 1, second.err
        assert "locked by another orchestrate process" in second.err and "--wait" in second.err
        assert f"pid {first.pid}" in second.err
        result = camp.finish(first, started)
        assert result.code == 0, result.err[-2000:]
        assert check_final(camp).problems == []


def test_runs_on_two_phases_of_one_plan_queue_with_wait_and_both_complete(tmp_path: Path) -> None:
    project = make_project(tmp_path / "p", rows=24, phases=2)
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
        assert len(project.ledger(1)) >= 12 and len(project.ledger(2)) >= 12
        found = check(one, phases=(1, 2))
        assert found.problems == [] and found.complete == 24


def _wait_for_lock_owner(project: object, proc: subprocess.Popen[str]) -> None:
    owner = Path(str(project.plan) + ".lock.owner")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while not owner.exists():
        assert proc.poll() is None, "the first run ended early"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _startup_allowance(camp: Campaign) -> float:
    """How long a run that is bad input takes here (start-up, imports, reading the plan): refusing must add < 1 s."""
    started = time.monotonic()
    subprocess.run([*camp.argv()[:5], "99", *camp.argv()[6:]], env=camp.child_env(), capture_output=True, check=False)
    return time.monotonic() - started
