"""The expensive stage is guarded: estimate accuracy, the confirmation, --max-cost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pipekit import BATCH, Demo, orchestrate

from orchestrator.cli import run_cmds
from orchestrator.sim.server import SimServer

NEW = ("--phase", "1", "--provider", "sim")


def test_estimate_is_within_15_percent_of_billed_tokens(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    est = orchestrate("estimate", str(demo.plan), *NEW, "--json")
    assert est.code == 0, est.err
    data = est.json()
    assert data["items"] == 5 and data["input_method"].startswith("counted")
    assert data["prices"]["as_of"] and data["note"] == "Add 20-30% buffer for retries."
    assert server.stats.requests.get("messages", 0) == 0, "estimating never calls the model"

    run = orchestrate("run", str(demo.plan), *NEW, "--yes", "--json")
    assert run.code == 0, run.err
    snap = server.stats.snapshot()
    billed = snap.input_tokens + snap.output_tokens + snap.cache_creation_input_tokens + snap.cache_read_input_tokens
    estimated = data["input_tokens"] + data["output_tokens"]
    assert abs(estimated - billed) / billed <= 0.15, (estimated, billed)
    assert run.json()["tokens"]["total"] == billed


def test_estimate_text_has_the_seed_blocks(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    text = orchestrate("estimate", str(demo.plan), *NEW, "--model", "sonnet").out
    for line in (
        "COST ESTIMATE: glossary-phase1",
        "Items: 5",
        "Estimated input tokens:",
        "Estimated output tokens:",
        "Cost Breakdown:",
        "sonnet (claude-sonnet-5-5): 5 item(s)",
        "@ $2.00/MTok",
        "@ $10.00/MTok",
        "└── Total: $",
        "Prices as of 2026-11-01",
        "Note: Add 20-30% buffer for retries.",
    ):
        assert line in text, line


def test_estimate_without_a_provider_is_local(demo: Demo) -> None:
    result = orchestrate("estimate", str(demo.plan), "--phase", "1", "--json")
    assert result.code == 0, result.err
    assert result.json()["input_method"] == "local estimate: characters / 4"
    assert result.json()["input_tokens"] > 1000


def test_refusal_without_terminal_spends_nothing(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    refused = orchestrate("run", str(demo.plan), *NEW)
    assert refused.code == 2
    assert "--yes" in refused.err and "nothing was dispatched" in refused.err
    assert "COST ESTIMATE" in refused.out, "the estimate is shown before refusing"
    assert server.stats.requests.get("messages", 0) == 0
    assert set(demo.statuses().values()) == {"complete", "pending"}
    assert not (demo.batch_dir / "ledger.jsonl").exists()


def test_the_question_decides(demo: Demo, sim: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch) -> None:
    server = sim()
    monkeypatch.setattr(run_cmds, "stdin_is_terminal", lambda: True)
    declined = orchestrate("run", str(demo.plan), *NEW, input="n\n")
    assert declined.code == 2  # not confirmed: as without a terminal (docs/cli.md, exit codes)
    assert "Proceed with processing? [y/N]" in declined.out and "not confirmed: nothing was dispatched" in declined.err
    assert server.stats.requests.get("messages", 0) == 0
    accepted = orchestrate("run", "--batch-id", BATCH, "--provider", "sim", input="y\n")
    assert accepted.code == 0, accepted.out
    assert server.stats.requests.get("messages", 0) == 5


def test_max_cost_stops_new_dispatch(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    result = orchestrate("run", str(demo.plan), *NEW, "--yes", "--workers", "1", "--max-cost", "0.0001", "--json")
    assert result.code == 1
    data = result.json()
    assert data["stopped"] == "max_cost"
    assert 1 <= data["dispatched"] < 5 and server.stats.requests.get("messages", 0) == data["dispatched"]
    assert data["cost_usd"] >= 0.0001
    pending = [r for r in data["rows"] if r["result"] != "complete"]
    assert pending and all("stopped" in (r["reason"] or "") for r in pending)
    assert list(demo.statuses().values()).count("complete") == 1 + data["completed"]
