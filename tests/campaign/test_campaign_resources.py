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


def test_status_does_not_parse_a_tracking_file_without_simulated_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``status`` at 10,000 rows took 52 s and 199 MB parsing the tracking file (bench_resources)."""
    import yaml

    from orchestrator.recorder.simulated import simulated_outputs

    tracking = tmp_path / "tracking.yaml"
    entries = "".join(f"- path: t{i}.md\n  title: Similar {i}\n  provider: anthropic\n" for i in range(100))
    tracking.write_text("outputs:\n" + entries)
    parsed: list[int] = []
    real_load = yaml.load
    monkeypatch.setattr(yaml, "load", lambda *a, **k: parsed.append(1) or real_load(*a, **k))
    assert simulated_outputs(tracking) == set() and parsed == []
    tracking.write_text("outputs:\n" + entries + "- path: s.md\n  title: S\n  provider: sim\n")
    assert simulated_outputs(tracking) == {str((tmp_path / "s.md").resolve())} and parsed == [1]
