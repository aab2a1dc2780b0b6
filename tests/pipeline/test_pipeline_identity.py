"""One typed path from row to Status cell: identity that cannot collide, one judgement, nothing paid twice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from pipekit import ITEMS, Demo, make_demo, orchestrate

from orchestrator.pipeline.judge import Judge
from orchestrator.sim.server import SimServer

SIM = ("--provider", "sim", "--yes")


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_row_ids_that_name_one_item_folder_are_a_check_error_with_both_lines(demo: Demo) -> None:
    text = demo.plan.read_text(encoding="utf-8").replace("| 3 | Backpressure |", "| 02 | Backpressure |")
    demo.plan.write_text(text, encoding="utf-8")
    before = _tree(demo.root)
    checked = orchestrate("check", str(demo.plan))
    assert checked.code == 2
    line_2 = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("| 2 |"))
    line_02 = next(i for i, t in enumerate(text.splitlines(), 1) if t.startswith("| 02 |"))
    assert f"glossary.md:{line_02}: # 02 and # 2 (line {line_2}) name the same item folder item-0002" in checked.err
    ran = orchestrate("run", str(demo.plan), "--phase", "1", *SIM)
    assert ran.code == 2 and "item-0002" in ran.err
    assert _tree(demo.root) == before, "bad input writes nothing"


def test_an_ambiguous_batch_id_lists_every_candidate_and_touches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sim: Callable[..., SimServer]
) -> None:
    sim()
    first, second = make_demo(tmp_path / "a"), make_demo(tmp_path / "b")
    for project in (first, second):
        assert orchestrate("acquire", str(project.plan), "--phase", "1").code == 0
    monkeypatch.chdir(tmp_path)
    before = _tree(tmp_path)
    for command in (("clean", "--clean-stage", "acquire", "--yes"), ("prepare",), ("process", "--provider", "sim")):
        result = orchestrate(command[0], "--batch-id", "glossary-phase1", *command[1:])
        assert result.code == 2, (command, result.err)
        assert "matches 2 batch folders" in result.err
        assert "a/plans/data/glossary-phase1" in result.err and "b/plans/data/glossary-phase1" in result.err
        assert "--data-dir" in result.err
    assert _tree(tmp_path) == before, "nothing was picked, nothing was written"
    chosen = orchestrate("prepare", "--batch-id", "glossary-phase1", "--data-dir", str(first.batch_dir.parent))
    assert chosen.code == 0, chosen.err
    assert first.item(ITEMS[0], "prompt.md").exists() and not second.item(ITEMS[0], "prompt.md").exists()


def test_each_response_is_judged_exactly_once(
    demo: Demo, sim: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim("seed=2,pbad_enum=0.5")  # some drafts fail and are repaired: more responses than rows
    calls: list[str] = []
    original = Judge.judge

    def counted(self: Judge, target: Path, text: str, stop_reason: str | None):  # type: ignore[no-untyped-def]
        calls.append(target.name)
        return original(self, target, text, stop_reason)

    monkeypatch.setattr(Judge, "judge", counted)
    result = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--json")
    assert result.code == 0, result.err
    answered = [line for line in demo.ledger() if line.get("response") is not None]
    assert len(answered) > len(ITEMS), "the faults made repairs happen"
    assert len(calls) == len(answered), "one judgement per response: none again in PARSE"
    assert set(demo.statuses().values()) == {"complete"}


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def _settled(server: SimServer) -> int:
    """The simulator's count of messages once no call is left in flight (it counts a call as it answers)."""
    while True:
        count = server.stats.messages_created
        time.sleep(0.3)  # six times the simulated latency
        if server.stats.messages_created == count:
            return count


def test_a_kill_between_a_response_and_its_group_commit_does_not_pay_again(
    demo: Demo, sim: Callable[..., SimServer]
) -> None:
    server = sim("latency_ms=50")
    env = {**os.environ, "ORCHESTRATE_CRASH_AT": "journal:3"}
    args = [sys.executable, "-m", "orchestrator", "run", str(demo.plan), "--phase", "1", *SIM, "--workers", "2"]
    killed = subprocess.run(args, cwd=demo.root, env=env, capture_output=True, timeout=120)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    received = {line["key"] for line in demo.ledger() if line.get("response") is not None}
    assert received, "lines written before the kill are in the ledger (the kernel has them; no fsync needed)"
    paid_before = _settled(server)  # a call in flight at the kill is still answered (and paid), after it

    rerun = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--json")
    assert rerun.code == 0, rerun.err
    assert set(demo.statuses().values()) == {"complete"}
    answered = [line["key"] for line in demo.ledger() if line.get("response") is not None]
    assert sorted(answered) == sorted(set(answered)), "no item was answered (and paid) twice"
    assert server.stats.messages_created - paid_before == len(ITEMS) - len(received)


@pytest.mark.skipif(os.name != "posix", reason="FIFOs")
@pytest.mark.parametrize("name", ["item-0002/raw.json", "item-0002/prompt.md", "ledger.jsonl"])
def test_a_fifo_planted_in_the_batch_folder_is_refused_not_waited_on(demo: Demo, name: str) -> None:
    assert orchestrate("acquire", str(demo.plan), "--phase", "1").code == 0
    planted = demo.batch_dir / name
    planted.unlink(missing_ok=True)
    os.mkfifo(planted)
    args = [sys.executable, "-m", "orchestrator", "prepare", "--batch-id", "glossary-phase1"]
    result = subprocess.run(args, cwd=demo.root, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert name.split("/")[-1] in result.stderr and "Traceback" not in result.stderr
