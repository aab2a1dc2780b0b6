"""The garbage collector while PROCESS dispatches: long-lived objects frozen, young ones collected less often."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import pytest
from pipekit import Demo, orchestrate

from orchestrator.pipeline import collector
from orchestrator.pipeline.stages import process
from orchestrator.sim.server import SimServer


def test_quiet_freezes_and_restores_even_when_the_block_raises() -> None:
    before = gc.get_threshold()
    kept = [object() for _ in range(10)]  # something alive to freeze
    with pytest.raises(RuntimeError), collector.quiet():
        assert gc.get_freeze_count() >= len(kept)
        assert gc.get_threshold()[0] == max(before[0], collector.YOUNG_THRESHOLD)
        assert gc.get_threshold()[1:] == before[1:]
        raise RuntimeError("the dispatch failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_run_dispatches_with_the_quiet_collector(
    demo: Demo, sim: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim()
    seen: list[tuple[int, int]] = []
    original = process.dispatch

    async def observed(*args: Any, **kwargs: Any) -> Any:
        seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))
        return await original(*args, **kwargs)

    monkeypatch.setattr(process, "dispatch", observed)
    before = gc.get_threshold()
    result = orchestrate("run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes")
    assert result.code == 0, result.err
    assert len(seen) == 1
    frozen, young = seen[0]
    assert frozen > 10_000, "the plan, the items and the SDK's modules were out of the collector's reach"
    assert young == max(before[0], collector.YOUNG_THRESHOLD)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_the_executable_collects_young_objects_rarely_from_its_start() -> None:
    import subprocess
    import sys

    probe = (
        "import gc, sys\n"
        "from orchestrator.cli import main as cli\n"
        "cli.main = lambda: print(gc.get_threshold()[0])\n"
        "cli.entry()\n"
    )
    shown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert int(shown.stdout) == collector.YOUNG_THRESHOLD


def test_for_command_never_lowers_a_threshold() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(50_000, *before[1:])
        collector.for_command()
        assert gc.get_threshold()[0] == 50_000
        gc.set_threshold(700, *before[1:])
        collector.for_command()
        assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
