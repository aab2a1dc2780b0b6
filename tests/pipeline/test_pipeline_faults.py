"""End to end against the simulator: faults, repairs, rows that never validate, 401, reruns."""

from __future__ import annotations

from collections.abc import Callable

from pipekit import BATCH, ITEMS, Demo, orchestrate

from orchestrator.sim.server import SimServer

NEW = ("--phase", "1", "--provider", "sim", "--yes", "--json")


def test_all_rows_complete_under_transient_faults(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim("seed=3,p429=0.2,p529=0.05,p500=0.05,pdisconnect=0.02")
    result = orchestrate("run", str(demo.plan), *NEW)
    assert result.code == 0, result.err
    data = result.json()
    assert data["completed"] == 5 and data["pending"] == 0
    assert set(demo.statuses().values()) == {"complete"}
    faults = server.stats.snapshot().faults
    assert sum(faults.values()) > 0, "the simulator injected no fault: the test proves nothing"
    assert data["attempts"] > 5, "the faults were retried"
    for item in ITEMS:
        assert demo.json(item, "parsed.json")["ok"] is True


def test_flawed_first_drafts_are_repaired(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim("pbad_enum=1")
    result = orchestrate("run", str(demo.plan), *NEW)
    assert result.code == 0, result.err
    data = result.json()
    assert data["repairs"] == 5 and data["completed"] == 5
    kinds = [line["kind"] for line in demo.ledger()]
    assert kinds.count("repair") == 5
    response = demo.json("item-0002", "response.json")
    assert response["attempt"] == 2 and len(response["history"]) == 2, "the repair continued the conversation"


def test_row_that_never_validates_stays_pending_with_a_note(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim("pnever_valid=1")
    result = orchestrate("run", str(demo.plan), *NEW, "--limit", "1", "--repair-attempts", "1")
    assert result.code == 1
    data = result.json()
    assert data["pending"] == 1 and data["attempts"] == 2
    row = data["rows"][0]
    assert row["result"] == "parse_error" and "category" in row["reason"]
    plan = demo.plan.read_text()
    assert "## Run Notes" in plan and "Phase 1, row 2 (quorum.md):" in plan
    assert demo.statuses()["2"] == "pending"
    assert not (demo.outputs / "quorum.md").exists()
    assert demo.json("item-0002", "response.json")["verdict"]["ok"] is False
    text = orchestrate("run", "--batch-id", BATCH, "--provider", "sim", "--yes", "--limit", "1")
    assert "Parse errors: 1" in text.out and "Re-run failures with: orchestrate run --batch-id" in text.out


def test_rerun_dispatches_nothing_when_all_complete(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("run", str(demo.plan), *NEW).code == 0
    before = server.stats.requests.get("messages", 0)
    again = orchestrate("run", str(demo.plan), *NEW)
    assert again.code == 0
    assert again.json()["dispatched"] == 0 and again.json()["cost_usd"] == 0
    assert again.json()["all_runs"]["cost_usd"] > 0, "earlier spend comes from the ledger"
    assert server.stats.requests.get("messages", 0) == before == 5


def test_fatal_401_stops_dispatch(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim("key=sk-the-real-one")
    result = orchestrate("run", str(demo.plan), *NEW, "--workers", "1")
    assert result.code == 1
    assert "error:" in result.err and ("401" in result.err or "key" in result.err.lower())
    data = result.json()
    assert data["stopped"] == "fatal" and data["completed"] == 0
    assert server.stats.requests.get("messages", 0) == 1, "no call after the fatal error"
    assert set(demo.statuses().values()) == {"complete", "pending"}


def test_max_tokens_stop_is_a_failure_not_an_output(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim("ptruncated=1")
    result = orchestrate("run", str(demo.plan), *NEW, "--limit", "1", "--repair-attempts", "0")
    assert result.code == 1
    row = result.json()["rows"][0]
    assert row["result"] == "parse_error" and "max_tokens" in row["reason"]
    assert demo.json("item-0002", "response.json")["stop_reason"] == "max_tokens"
    assert not (demo.outputs / "quorum.md").exists() and demo.statuses()["2"] == "pending"
    repaired = orchestrate("run", str(demo.plan), *NEW, "--limit", "1")
    assert repaired.code == 0 and demo.statuses()["2"] == "complete", "a clean repair turn completes it"
