"""``run``/``process --provider anthropic-batch`` end to end: the CLI, the driver, the plan's Status cells."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pipekit import BATCH, Demo, make_demo, orchestrate

from orchestrator.batches.crash import CRASH_VARIABLE
from orchestrator.batches.pricing import batch_cost
from orchestrator.models import Usage, load_model_table
from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]
NEW = ("--phase", "1", "--provider", "anthropic-batch")


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    made = make_demo(tmp_path / "demo")
    monkeypatch.chdir(made.root)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ORCHESTRATE_BATCH_POLL_S", "0.02")
    return made


def use(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> SimServer:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.url)
    return sim


def test_run_completes_every_row_at_batch_prices(demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = use(start_sim(), monkeypatch)
    result = orchestrate("run", str(demo.plan), *NEW, "--yes")
    assert result.code == 0, result.out + result.err
    assert set(demo.statuses().values()) == {"complete"}
    assert sim.batch_counts() == {"batches_created": 1, "batch_requests_created": 5}
    assert sim.stats.messages_created == 0  # nothing went online
    assert "at batch prices" in result.out and "Online instead (--provider anthropic): $" in result.out
    assert "Message Batch msgbatch_" in result.err and "ended: succeeded 5" in result.err
    haiku = load_model_table().resolve("haiku")
    lines = demo.ledger()
    assert len(lines) == 5 and all(line["batch"] for line in lines)
    for line in lines:
        assert line["cost_usd"] == pytest.approx(batch_cost(haiku, Usage.from_dict(line["usage"])), rel=1e-6)
    assert all(demo.json(item, "response.json")["verdict"]["ok"] for item in ("item-0002", "item-0006"))


def test_no_wait_then_process_collects(demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = use(start_sim(batch_delay_ms=800), monkeypatch)
    before = demo.statuses()
    first = orchestrate("run", str(demo.plan), *NEW, "--yes", "--no-wait")
    assert "5 row(s) still in Message Batches" in first.out, first.out + first.err
    assert demo.statuses() == before  # nothing recorded while the batch runs
    listed = orchestrate("batches", "list", str(demo.plan))
    assert listed.code == 0 and "submitted" in listed.out and "5 requests" in listed.out
    again = orchestrate("process", "--batch-id", BATCH, "--provider", "anthropic-batch", "--yes")
    assert again.code == 0, again.out + again.err
    assert "5 row(s) already submitted in Message Batches" in again.out
    assert "COST ESTIMATE" not in again.out  # nothing new to spend, nothing to confirm
    orchestrate("parse", "--batch-id", BATCH)
    assert set(demo.statuses().values()) == {"complete"}
    assert sim.batch_counts()["batches_created"] == 1


def test_failed_requests_stay_pending_with_the_reason(
    demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(start_sim(pbatch_expired=1.0), monkeypatch)
    before = demo.statuses()
    result = orchestrate("run", str(demo.plan), *NEW, "--yes")
    assert result.code == 1
    assert demo.statuses() == before
    plan = demo.plan.read_text()
    assert "expired" in plan and "a rerun submits it again" in plan  # Run Notes
    steady = use(start_sim(), monkeypatch)
    rerun = orchestrate("run", str(demo.plan), *NEW, "--yes")
    assert rerun.code == 0, rerun.out + rerun.err
    assert set(demo.statuses().values()) == {"complete"} and steady.batch_counts()["batch_requests_created"] == 5


def test_an_online_run_leaves_rows_in_a_batch_alone(
    demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = use(start_sim(batch_delay_ms=60_000), monkeypatch)
    orchestrate("run", str(demo.plan), *NEW, "--yes", "--no-wait")
    online = orchestrate("process", "--batch-id", BATCH, "--provider", "anthropic", "--yes")
    assert sim.stats.messages_created == 0, online.out + online.err  # never paid twice
    assert "in a Message Batch still processing" in online.out + online.err


@pytest.mark.parametrize("point", ["after_post", "polling"])
def test_a_killed_run_and_its_rerun_make_one_submission(
    demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    sim = use(start_sim(batch_delay_ms=1500), monkeypatch)
    env = {**os.environ, CRASH_VARIABLE: point}
    killed = subprocess.run([sys.executable, "-m", "orchestrator", "run", str(demo.plan), *NEW, "--yes"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert sim.batch_counts()["batches_created"] == 1
    rerun = orchestrate("run", str(demo.plan), *NEW, "--yes")
    assert rerun.code == 0, rerun.out + rerun.err
    assert set(demo.statuses().values()) == {"complete"}
    assert sim.batch_counts() == {"batches_created": 1, "batch_requests_created": 5}


def test_the_summary_prices_the_batch_at_the_discount(
    demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(start_sim(), monkeypatch)
    result = orchestrate("run", str(demo.plan), *NEW, "--yes", "--json")
    assert result.code == 0, result.err
    summary = result.json()
    haiku = load_model_table().resolve("haiku")
    discounted = sum(batch_cost(haiku, Usage.from_dict(line["usage"])) for line in demo.ledger())
    full = sum(haiku.cost(Usage.from_dict(line["usage"])) for line in demo.ledger())
    assert summary["cost_usd"] == pytest.approx(discounted, rel=1e-4, abs=1e-6)
    assert discounted == pytest.approx(full / 2, rel=1e-6)  # no cache writes here: exactly half


def test_ctrl_c_while_waiting_leaves_the_batch_running_and_a_rerun_collects(
    demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = use(start_sim(batch_delay_ms=4000), monkeypatch)
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "run", str(demo.plan), *NEW, "--yes"],
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    submitted = demo.batch_dir / "batches" / "sub-0001" / "submitted.json"
    deadline = time.monotonic() + 60
    while not submitted.exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the run ended before it submitted"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out + err).decode()[-3000:]
    assert sim.batch_counts()["batches_created"] == 1 and set(demo.statuses().values()) == {"pending", "complete"}
    rerun = orchestrate("run", str(demo.plan), *NEW, "--yes")
    assert rerun.code == 0, rerun.out + rerun.err
    assert set(demo.statuses().values()) == {"complete"} and sim.batch_counts()["batches_created"] == 1


def test_a_row_that_keeps_failing_stops_after_its_budget_until_the_rules_change(
    demo: Demo, start_sim: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = use(start_sim(pnever_valid=1.0), monkeypatch)  # no draft ever validates
    budget = (*NEW, "--yes", "--repair-attempts", "0", "--max-attempts", "2")
    orchestrate("run", str(demo.plan), *budget)
    assert sim.batch_counts()["batch_requests_created"] == 5
    second = orchestrate("run", str(demo.plan), *budget)  # the second failure spends the budget
    assert second.code == 1 and sim.batch_counts()["batch_requests_created"] == 10
    assert "needs attention" in demo.plan.read_text()
    third = orchestrate("run", str(demo.plan), *budget)
    assert third.code == 1 and sim.batch_counts()["batch_requests_created"] == 10  # not dispatched again
    retried = orchestrate("run", str(demo.plan), *budget, "--retry-exhausted")
    assert retried.code == 1 and sim.batch_counts()["batch_requests_created"] == 15
    orchestrate("run", str(demo.plan), *budget)
    assert sim.batch_counts()["batch_requests_created"] == 20  # the budget was given back once
    orchestrate("run", str(demo.plan), *budget)
    assert sim.batch_counts()["batch_requests_created"] == 20
    text = demo.plan.read_text()  # the user changes a rule that is not in the prompt
    demo.plan.write_text(text.replace("2. category is one of the four values listed in Content Rules",
                                      "2. category is one of the four values listed in the Content Rules"))
    orchestrate("run", str(demo.plan), *budget)
    assert sim.batch_counts()["batch_requests_created"] == 25
