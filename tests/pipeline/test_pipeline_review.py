"""What a user sees between stages: the estimate matches what PROCESS sends, the
summary's counts add up and point at the right next command, a finished row edited
afterwards does not fail every rerun, and the report compares like with like."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from pipekit import BATCH, Demo, orchestrate

from orchestrator.cli.run_cmds import estimate_cmd, process_cmd
from orchestrator.models import Usage
from orchestrator.pipeline.estimate import Estimate
from orchestrator.pipeline.slash_command import COMMAND_BODY
from orchestrator.pipeline.view.summary import WAITING_FOR_PARSE, RowResult, RunSummary
from orchestrator.sim.server import SimServer

NEW = ("--phase", "1", "--provider", "sim")


def messages(server: SimServer) -> int:
    return server.stats.requests.get("messages", 0)


def test_estimate_of_an_existing_batch_counts_what_process_sends(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("acquire", str(demo.plan), *NEW, "--limit", "2").code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    est = orchestrate("estimate", "--batch-id", BATCH, "--provider", "sim", "--json").json()
    assert est["items"] == 2 and est["not_acquired"] == 3
    text = orchestrate("estimate", "--batch-id", BATCH, "--provider", "sim").out
    assert "Items: 2" in text and "Pending rows not in the batch yet: 3" in text
    assert not (demo.batch_dir / "estimate.json").exists(), "a look at the estimate writes nothing"

    processed = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json")
    assert processed.json()["dispatched"] == est["items"] == messages(server)
    assert processed.json()["estimate"]["items"] == est["items"]


def test_process_alone_summary_adds_up_and_says_to_parse(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    assert orchestrate("acquire", str(demo.plan), *NEW).code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    out = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes").out
    counts = {
        k: int(v) for k, v in re.findall(r"^(Total items|Successful|Failed|Parse errors|Pending): (\d+)$", out, re.M)
    }
    assert counts == {"Total items": 5, "Successful": 0, "Failed": 0, "Parse errors": 0, "Pending": 5}
    assert f"1. Parse the 5 validated response(s) with: orchestrate parse --batch-id {BATCH}" in out
    assert "Re-run failures" not in out and "Check failed items" not in out


def test_completed_row_edited_later_does_not_fail_every_rerun(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("all", str(demo.plan), *NEW, "--yes").code == 0
    demo.plan.write_text(demo.plan.read_text().replace("| 2 | Quorum |", "| 2 | Quorum & <b>Co</b> |"))
    again = orchestrate("all", "--batch-id", BATCH, "--provider", "sim", "--yes")
    assert again.code == 0, again.out
    assert "item-0002: row 2 changed after it was completed; its output is kept" in again.out
    assert "blocked" not in again.out
    assert orchestrate("parse", "--batch-id", BATCH).code == 0
    assert messages(server) == 5, "a complete row is never sent again"
    assert demo.statuses()["2"] == "complete" and (demo.outputs / "quorum.md").exists()


def test_report_compares_the_estimate_with_the_spend_after_it(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    assert orchestrate("all", str(demo.plan), *NEW, "--yes", "--limit", "2").code == 0
    second = orchestrate("all", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json").json()
    assert second["dispatched"] == 3 and second["all_runs"]["tokens"]["total"] > second["tokens"]["total"]
    page = demo.report.read_text()
    since = re.search(r"<td>Actual tokens \(since the estimate\)</td><td>([\d,]+)</td>", page)
    assert since is not None, "the report names what it compares"
    assert int(since.group(1).replace(",", "")) == second["tokens"]["total"]


def test_estimate_against_a_stopped_run_says_it_stopped(tmp_path: Path) -> None:
    est = Estimate("b1", 3, 1000, 500, [], "local", "reference", "2026-11-01", "table", workers=5)
    rows = [RowResult("item-0002", "2", "Q", "pending", "haiku", 1, 10, 0.0, False, "pending", WAITING_FOR_PARSE)]
    summary = RunSummary(
        "b1",
        1,
        "process",
        tmp_path,
        None,
        rows,
        dispatched=1,
        usage=Usage(300, 200),
        estimate=est,
        stopped="max_cost",
        parse_command="orchestrate parse --batch-id b1",
    )
    text = summary.text()
    assert "Under estimate by: 67% (the run stopped: the estimate covers all 3 item(s))" in text
    assert "Pending: 1" in text and "Parse the 1 validated response(s) with: orchestrate parse --batch-id b1" in text


def test_claude_command_estimate_step_uses_only_options_estimate_takes() -> None:
    taken = {opt for p in estimate_cmd.params for opt in p.opts}
    hint = re.search(r"^argument-hint: (.*)$", COMMAND_BODY, re.M)
    assert hint is not None
    named = set(re.findall(r"--[a-z-]+", hint.group(1))) - {"--clean-stage"}
    assert named <= taken, named - taken
    process = {opt for p in process_cmd.params for opt in p.opts}
    for left_out in sorted(process - taken):
        if left_out.startswith("--"):
            assert f"`{left_out}`" in COMMAND_BODY, f"the body must say to leave {left_out} out of the estimate"


def test_estimate_with_another_model_does_not_switch_the_batch(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("acquire", str(demo.plan), *NEW).code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    priced = orchestrate("estimate", "--batch-id", BATCH, "--provider", "sim", "--model", "opus", "--json").json()
    assert {m["model"] for m in priced["models"]} == {"opus"}
    settings = (demo.batch_dir / "batch.json").read_text()
    assert "opus" not in settings, "a what-if estimate must not change the model PROCESS uses"
    rest = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json").json()
    assert {m["model"] for m in rest["estimate"]["models"]} == {"haiku"}
    assert messages(server) == 5


def test_run_counts_the_items_it_parsed_as_they_arrived(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    out = orchestrate("all", str(demo.plan), *NEW, "--yes").out
    assert "PARSE: 5 parsed, 0 current (skipped)" in out, out
    again = orchestrate("all", "--batch-id", BATCH, "--provider", "sim", "--yes").out
    assert "PARSE: 0 parsed, 5 current (skipped)" in again
