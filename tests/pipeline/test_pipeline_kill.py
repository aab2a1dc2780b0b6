"""A run killed (SIGKILL) or interrupted (Ctrl-C) mid-way loses nothing it paid for."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from pipekit import ITEMS, Demo, orchestrate

from orchestrator.sim.server import SimServer

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


def _start(demo: Demo) -> subprocess.Popen[bytes]:
    args = [
        sys.executable,
        "-m",
        "orchestrator",
        "run",
        str(demo.plan),
        "--phase",
        "1",
        "--provider",
        "sim",
        "--yes",
        "--workers",
        "1",
    ]
    return subprocess.Popen(args, cwd=demo.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _checkpointed(demo: Demo) -> set[str]:
    """Items whose response is durable: its ledger line (checkpoint files are written after the calls)."""
    path = demo.batch_dir / "ledger.jsonl"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    # a line still being written has no newline yet: not counted
    lines = [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]
    return {line["key"] for line in lines if line.get("response") is not None and line["key"] in ITEMS}


def _wait_for(demo: Demo, count: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while len(_checkpointed(demo)) < count:
        assert proc.poll() is None, "the run ended before it could be stopped"
        assert time.monotonic() < deadline, "no responses were checkpointed"
        time.sleep(0.01)


def test_killed_run_never_pays_twice_for_a_received_response(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim("latency_ms=300")
    proc = _start(demo)
    _wait_for(demo, 2, proc)
    proc.kill()
    proc.wait(timeout=30)
    received = _checkpointed(demo)
    paid_before = len(demo.ledger())
    assert 2 <= len(received) < 5

    rerun = orchestrate("run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes", "--json")
    assert rerun.code == 0, rerun.err
    assert rerun.json()["dispatched"] == 5 - len(received)
    again = [line["key"] for line in demo.ledger()[paid_before:]]
    assert not set(again) & received, "a response already received was paid for again"
    assert set(demo.statuses().values()) == {"complete"}
    # every answer the simulator sent was paid once; at most one was lost in flight when the run died
    assert len(received) + len(again) <= server.stats.messages_created <= len(received) + len(again) + 1


def test_ctrl_c_stops_dispatch_keeps_finished_rows_and_exits_130(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim("latency_ms=300")
    proc = _start(demo)
    _wait_for(demo, 1, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"Stopping" in err
    complete = [row for row, status in demo.statuses().items() if status == "complete" and row != "1"]
    assert complete, "the rows that finished were recorded"
    assert server.stats.requests.get("messages", 0) < 5, "dispatch stopped"
    assert b"BATCH STOPPED (interrupted)" in out
