"""Honest summaries: counts that add up, a heading that tells the truth, next steps for the command run.

Issue 10, finding 5: rows never sent counted as Failed, "orchestrate all" after
"run", "Items: 5 processed" for a rerun that sent nothing, failures under BATCH
COMPLETE, unlabelled numbers, simulated costs shown as real dollars.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from dispatch_fakes import RecordingHooks, ScriptedProvider, make_jobs
from moneykit import ledger_lines
from pipekit import BATCH, Demo, orchestrate

from orchestrator.dispatch import DispatchSettings, Ledger, dispatch
from orchestrator.models import Usage
from orchestrator.pipeline import driver
from orchestrator.pipeline.view.summary import RowResult, RunSummary, Tally
from orchestrator.providers.base import CallRequest, CallResult
from orchestrator.sim.server import SimServer

SIM = ("--provider", "sim")


def _adds_up(run: dict[str, Any]) -> None:
    """items = dispatched + reused + not dispatched + already complete; dispatched = its parts."""
    parts = run["completed"] + run["invalid_after_repairs"] + sum(run["failed"].values()) + run["unfinished"]
    assert parts == run["dispatched"], run
    whole = run["dispatched"] + run["reused_responses"] + sum(run["not_dispatched"].values())
    assert whole + run["already_complete"] == run["items"], run


def test_counts_add_up_and_a_rerun_that_sends_nothing_says_so(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    first = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--limit", "2", "--json").json()
    run = first["this_run"]
    _adds_up(run)
    assert run["items"] == run["dispatched"] == run["completed"] == 2
    rest = orchestrate("run", "--batch-id", BATCH, *SIM, "--yes", "--json").json()["this_run"]
    _adds_up(rest)
    assert (rest["items"], rest["dispatched"], rest["already_complete"]) == (5, 3, 2)

    again = orchestrate("run", "--batch-id", BATCH, *SIM, "--yes")

    assert again.code == 0, again.err
    out = again.out
    assert "processed" not in out, "a rerun that sent nothing does not claim to have processed rows"
    assert "Items: 5 in the batch, 0 dispatched by this command" in out
    assert "├── Dispatched: 0 row(s), 0 call attempt(s), 0 repair turn(s)" in out
    assert "└── Already complete before this command: 5" in out
    assert f"BATCH COMPLETE (SIMULATED): {BATCH}" in out
    assert "Tokens used" not in out, "nothing dispatched: no progress block"
    data = orchestrate("run", "--batch-id", BATCH, *SIM, "--yes", "--json").json()
    _adds_up(data["this_run"])
    assert data["this_run"]["already_complete"] == 5 and data["dispatched"] == 0


def test_rows_invalid_after_repairs_are_not_complete(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim("pnever_valid=1")
    result = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--limit", "2",
                         "--repair-attempts", "0")
    assert result.code == 1
    out = result.out
    assert f"BATCH INCOMPLETE (SIMULATED): {BATCH}" in out and "BATCH COMPLETE" not in out
    assert "│   ├── Invalid after repairs: 2" in out and "Parse errors: 2" in out
    assert f"Re-run failures with: orchestrate run --batch-id {BATCH}" in out, "the command that was run"
    assert "orchestrate all" not in out
    assert "item-0002 (Quorum) (row 2):" in out, "rows are named by title as well as item id"
    assert "Success Rate: 0% (0 of 2 row(s))" in out


def test_a_fatal_stop_names_its_cause_and_counts_the_rest_as_not_dispatched(
    demo: Demo, sim: Callable[..., SimServer]
) -> None:
    sim("pspend_limit=1")
    result = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--workers", "1", "--json")
    assert result.code == 1
    data = result.json()
    run = data["this_run"]
    _adds_up(run)
    assert data["heading"] == f"BATCH STOPPED (fatal): {BATCH}"
    assert run["failed"]["fatal"] == 1 and run["not_dispatched"]["stopped"] == 4
    pending = [row for row in data["rows"] if row["result"] == "pending"]
    assert len(pending) == 4 and all("not finished: the run stopped (fatal)" in row["reason"] for row in pending)
    assert data["totals"]["failed"] == 1, "only the row whose call failed is failed; rows never sent are pending"


def test_process_alone_names_process_in_its_next_steps(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim("pnever_valid=1")
    assert orchestrate("acquire", str(demo.plan), "--phase", "1", "--limit", "1").code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    out = orchestrate("process", "--batch-id", BATCH, *SIM, "--yes", "--repair-attempts", "0").out
    assert "│   ├── Invalid after repairs: 1" in out
    assert f"Re-run failures with: orchestrate process --batch-id {BATCH}" in out
    assert "This Run (orchestrate process):" in out


def test_every_number_of_the_cost_summary_is_labelled(tmp_path: Path) -> None:
    row = RowResult("item-0002", "2", "Quorum", "complete", "haiku", 1, 600, 0.01, True, "complete")
    summary = RunSummary("b1", 1, "run", tmp_path, None, [row], dispatched=1, usage=Usage(1000, 500),
                         cost_usd=0.03, all_runs_usage=Usage(3000, 1000), all_runs_cost=0.09,
                         tally=Tally(items=1, dispatched=1, completed=1, attempts=1))
    lines = summary.cost_lines()
    assert lines[0].startswith("Actual tokens: 1,500 this run (input 1,000,")
    assert lines[1] == "Actual cost: $0.0300 (this run)"
    assert lines[2] == "All runs of the batch: $0.0900, 4,000 tokens"
    summary.cost_is_estimate = True
    assert "Actual cost: $0.0300 (the client's estimate (claude-code): not what is billed)" in summary.text()
    assert summary.as_dict()["cost_is"] == "client_estimate"


class _AgentProvider(ScriptedProvider):
    name = "claude-code"

    async def call(self, request: CallRequest) -> CallResult:
        result = await super().call(request)
        return CallResult(result.text, result.stop_reason, result.usage, result.model, result.latency_s,
                          num_turns=3, client_cost_usd=0.0123, startup_s=1.25, cost_is_estimate=True)


def test_the_ledger_line_records_the_provider_and_the_agents_own_figures(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    asyncio.run(dispatch(make_jobs(1), _AgentProvider(), RecordingHooks(), DispatchSettings(), ledger=ledger))
    (line,) = ledger_lines(tmp_path / "ledger.jsonl")
    assert line["provider"] == "claude-code"
    assert (line["num_turns"], line["client_cost_usd"], line["startup_s"], line["cost_is_estimate"]) == (
        3, 0.0123, 1.25, True)


def test_keep_sessions_reaches_the_claude_code_provider_and_no_other(
    demo: Demo, sim: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[tuple[str, dict[str, object]]] = []
    monkeypatch.setattr(driver, "create_provider", lambda name, **options: made.append((name, options)))
    driver._create_provider(SimpleNamespace(opts=SimpleNamespace(keep_sessions=True)), "claude-code")  # type: ignore[arg-type]
    assert made == [("claude-code", {"keep_sessions": True})]
    sim()
    refused = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--keep-sessions")
    assert refused.code == 2 and "--keep-sessions applies to --provider claude-code, not sim" in refused.err
    assert not demo.batch_dir.exists()
