"""Ctrl-C during a run: once says what is in flight; twice abandons it, still summarises, keeps, exits 130.

Issue 10, finding 4: a second Ctrl-C during a run exited 1 with no summary and
no word about what was lost. The run is a real subprocess against a slow
simulator; SIGINT is what a terminal sends for Ctrl-C.
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

import pytest
from dispatch_fakes import RecordingHooks, ScriptedProvider, Step, make_jobs
from moneykit import ledger_lines
from pipekit import ITEMS, Demo

from orchestrator.dispatch import DispatchSettings, Ledger, dispatch
from orchestrator.errors import EXIT_INTERRUPTED
from orchestrator.sim.server import SimServer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _start(demo: Demo) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "orchestrator", "run", str(demo.plan), "--phase", "1", "--provider", "sim",
            "--yes", "--workers", "2"]
    return subprocess.Popen(argv, cwd=demo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _answered(demo: Demo) -> list[str]:
    return [line["key"] for line in ledger_lines(demo.batch_dir / "ledger.jsonl") if line.get("response")]


def test_second_ctrl_c_abandons_calls_in_flight_prints_the_summary_and_keeps_responses(
    demo: Demo, sim: Callable[..., SimServer]
) -> None:
    server = sim("latency_ms=6000")
    proc = _start(demo)
    deadline = time.monotonic() + 60
    while not _answered(demo):  # the first answers are in; the next two calls are in flight (6 s each)
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"no response arrived:\n{out.decode()}\n{err.decode()}")
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    pressed = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - pressed

    assert proc.returncode == EXIT_INTERRUPTED, err.decode()
    text, errors = out.decode(), err.decode()
    assert "Stopping: no new calls; 2 call(s) in flight are finishing" in errors
    assert "Press Ctrl-C again to abandon them" in errors
    assert "Abandoning 2 call(s) in flight" in errors
    assert took < 4.5, f"the second Ctrl-C did not abandon the calls in flight ({took:.1f} s)"
    outcomes = [line["outcome"] for line in ledger_lines(demo.batch_dir / "ledger.jsonl")]
    assert outcomes.count("cancelled") == 2, outcomes
    assert "BATCH STOPPED (interrupted)" in text, "the summary is printed after the second Ctrl-C"
    assert "Unfinished (the run stopped mid-way; 2 abandoned by a second Ctrl-C): 2" in text
    answered = _answered(demo)
    assert len(answered) >= 2 and server.stats.messages_created >= len(answered)
    for item in answered:  # every response received is kept: in the ledger and checkpointed
        assert demo.json(item, "response.json")["provider"] == "sim"
    statuses = demo.statuses()
    assert sum(1 for item in answered if statuses[str(int(item[-4:]))] == "complete") == len(answered)
    assert len(answered) < len(ITEMS)


async def test_abandon_ends_the_grace_period_at_once(tmp_path: Path) -> None:
    provider = ScriptedProvider(default=Step(delay=5.0))
    stop, abandon = asyncio.Event(), asyncio.Event()
    ledger = Ledger(tmp_path / "ledger.jsonl")

    async def press_twice() -> None:
        await asyncio.sleep(0.1)
        stop.set()
        await asyncio.sleep(0.1)
        abandon.set()

    started = time.monotonic()
    presses = asyncio.ensure_future(press_twice())
    report = await dispatch(make_jobs(3), provider, RecordingHooks(), DispatchSettings(workers=2, grace_s=30.0),
                            ledger=ledger, stop=stop, abandon=abandon)
    await presses
    assert time.monotonic() - started < 2.0, "the 30 s grace period was cut short"
    assert report.stopped == "interrupted" and report.unfinished == ["0000", "0001"]
    assert report.not_started == ["0002"] and report.outcomes == []
    assert [line["outcome"] for line in ledger_lines(tmp_path / "ledger.jsonl")] == ["cancelled", "cancelled"]
