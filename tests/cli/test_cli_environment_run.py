"""A trusted plan whose linter is not installed: no paid repair turns (issue 10, finding 2).

Before the fix every draft failed ``lint.command`` and was sent back to the
model: 3 rows, 9 attempts, 6 repairs. The simulator's own request count and
the ledger prove that no repair is sent now and that the run stops.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from clikit import copy_example, orchestrate

from orchestrator.errors import EXIT_FAILED
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    sim = SimServer(SimConfig(latency_ms=1, seed=7))
    monkeypatch.setenv("ORCHESTRATE_SIM_URL", sim.start())
    yield sim
    sim.stop()


def test_missing_linter_makes_zero_repair_calls(
    tmp_path: Path, server: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = copy_example(tmp_path / "demo")
    monkeypatch.chdir(plan.parent)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no pymarkdown anywhere
    result = orchestrate("run", str(plan), "--phase", "1", "--provider", "sim", "--yes", "--trust-plan",
                         "--workers", "1")
    assert result.code == EXIT_FAILED, result.out + result.err
    sent = server.stats.snapshot().requests.get("messages", 0)
    assert sent <= 1, f"{sent} message requests: the run went on after the linter was found missing"
    ledger = plan.parent / "data" / "glossary-phase1" / "ledger.jsonl"
    kinds = [json.loads(line)["kind"] for line in ledger.read_text(encoding="utf-8").splitlines()] if sent else []
    assert "repair" not in kinds and len(kinds) == sent
    shown = result.out + result.err
    assert "'pymarkdown' was not found on PATH" in shown
    assert "plan-orchestrator[lint]" in shown
