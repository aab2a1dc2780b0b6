"""Resources: a run in this process releases every file descriptor and socket it opened.

The pipeline runs in-process (the real CLI entry point) against a
simulator that was started first; ``/proc/self/fd`` is compared before and
after, so a ledger, lock, checkpoint, report or HTTP connection left open
shows up as a descriptor that is still there. Memory flat in the number of
rows is measured by ``bench/bench_resources.py`` (figures in
docs/reliability.md), not timed here.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from campaignkit import make_project, simulator
from click.testing import CliRunner

from orchestrator.cli.main import main

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")


def _fds() -> dict[int, str]:
    found = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            found[int(name)] = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue  # the descriptor listdir itself used
    return found


def _new_since(before: dict[int, str]) -> dict[int, str]:
    return {fd: target for fd, target in _fds().items() if before.get(fd) != target}


def _run(plan: Path) -> int:
    runner = CliRunner()
    with runner.isolation():
        try:
            main(["run", str(plan), "--phase", "1", "--provider", "sim", "--yes", "--workers", "4"])
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


def test_a_run_releases_every_descriptor_and_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with simulator("latency_ms=5,p429=0.1,pdisconnect=0.05,ptruncated=0.2") as server:
        monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.url)
        warm = make_project(tmp_path / "warm", rows=6)
        monkeypatch.chdir(warm.root)
        assert _run(warm.plan) == 0  # imports and caches settle first
        project = make_project(tmp_path / "p", rows=24)
        monkeypatch.chdir(project.root)
        before = _fds()
        assert _run(project.plan) == 0
        assert server.stats.messages_created >= 30
        deadline = time.monotonic() + 5
        while (left := _new_since(before)) and time.monotonic() < deadline:
            time.sleep(0.05)  # the simulator's threads close their side of each connection
        assert left == {}, f"descriptors left open by the run: {left}"
