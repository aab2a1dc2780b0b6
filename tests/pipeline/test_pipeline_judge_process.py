"""The judge process: the same judgement as this process makes, and this process's whenever it cannot answer."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.validators import compile_plan
from pipekit import ITEMS, Demo, make_demo, orchestrate

from orchestrator.pipeline import judge_helper
from orchestrator.pipeline.judge import Judge, Judgement
from orchestrator.pipeline.judge_helper import JudgeHelper
from orchestrator.pipeline.stages import process
from orchestrator.plan.parser import read_plan
from orchestrator.sim.server import SimServer

SIM = ("--provider", "sim", "--yes")


def _judge(demo: Demo) -> Judge:
    plan = read_plan(demo.plan)
    return Judge(compile_plan(plan), plan.base_dir)


def _replies(demo: Demo) -> list[tuple[str, str | None]]:
    """A valid document, two invalid ones, a fenced one with chatter, and a truncated one."""
    good = (demo.root / "format_refs" / "idempotency.md").read_text(encoding="utf-8")
    return [
        (good, "end_turn"),
        (good.replace("category: Reliability", "category: Durability"), "end_turn"),
        (good.replace("## Related Terms", "## Elsewhere"), "end_turn"),
        ("Here it is:\n\n```markdown\n" + good + "```\n", "end_turn"),
        (good[:200], "max_tokens"),
    ]


def _judged(helper: JudgeHelper, target: Path, replies: list[tuple[str, str | None]]) -> list[Judgement]:
    async def all_of_them() -> list[Judgement]:
        return list(await asyncio.gather(*(helper.judge(target, text, stop) for text, stop in replies)))

    return asyncio.run(all_of_them())


def test_the_judge_process_judges_exactly_as_this_process_does(demo: Demo) -> None:
    judge = _judge(demo)
    target = demo.outputs / "idempotency.md"
    replies = _replies(demo)
    helper = JudgeHelper.start(judge)
    try:
        assert helper.running
        remote = _judged(helper, target, replies)
    finally:
        helper.close()
    local = [judge.judge(target, text, stop) for text, stop in replies]
    assert remote == local
    assert [j.verdict.ok for j in remote] == [True, False, False, True, False], "the cases differ"
    assert helper.remote == 4, "all but the truncated reply (never judged at all) were judged in the process"
    assert not helper.running


def test_a_judge_process_that_cannot_start_leaves_every_judgement_here(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(judge_helper, "PROGRAM", "orchestrator.no_such_module")
    judge = _judge(demo)
    target = demo.outputs / "idempotency.md"
    replies = _replies(demo)
    helper = JudgeHelper.start(judge)
    try:
        judged = _judged(helper, target, replies)
    finally:
        helper.close()
    assert judged == [judge.judge(target, text, stop) for text, stop in replies]
    assert helper.remote == 0


def test_a_judge_process_killed_mid_run_hands_its_work_back(demo: Demo) -> None:
    judge = _judge(demo)
    target = demo.outputs / "idempotency.md"
    replies = _replies(demo)

    async def scenario(helper: JudgeHelper) -> tuple[Judgement, list[Judgement]]:
        first = await helper.judge(target, *replies[0])
        assert helper._process is not None
        helper._process.send_signal(signal.SIGKILL)
        rest = [await helper.judge(target, text, stop) for text, stop in replies[1:]]
        return first, rest

    helper = JudgeHelper.start(judge)
    try:
        first, rest = asyncio.run(scenario(helper))
    finally:
        helper.close()
    assert [first, *rest] == [judge.judge(target, text, stop) for text, stop in replies]
    assert helper.remote == 1 and not helper.running


def test_an_error_while_judging_is_raised_here_as_without_the_process(demo: Demo) -> None:
    judge = _judge(demo)
    target = demo.outputs / "idempotency.md"
    with pytest.raises(Exception) as here:
        judge.judge(target, 12345, "end_turn")  # type: ignore[arg-type]
    helper = JudgeHelper.start(judge)
    try:
        with pytest.raises(here.type) as there:
            asyncio.run(helper.judge(target, 12345, "end_turn"))  # type: ignore[arg-type]
        assert str(there.value) == str(here.value)
        assert helper.running, "one response's error does not stop the process"
    finally:
        helper.close()


def _parsed(demo: Demo) -> dict[str, dict[str, object]]:
    found = {}
    for item in ITEMS:
        data = demo.json(item, "parsed.json")
        data.pop("parsed_at")
        assert Path(str(data.pop("output"))).is_relative_to(demo.outputs)
        found[item] = data
    return found


def test_a_run_judges_each_response_once_in_the_judge_process(
    tmp_path: Path, sim: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    here: list[str] = []
    there: list[int] = []
    original_judge, original_close = Judge.judge, JudgeHelper.close

    def counted(self: Judge, target: Path, text: str, stop_reason: str | None) -> Judgement:
        here.append(target.name)
        return original_judge(self, target, text, stop_reason)

    def closing(self: JudgeHelper) -> None:
        if self.running:
            there.append(self.remote)
        original_close(self)

    monkeypatch.setattr(Judge, "judge", counted)
    monkeypatch.setattr(JudgeHelper, "close", closing)
    runs = {}
    for name, threshold in (("process", 0), ("here", 10**9)):
        sim("seed=2,pbad_enum=0.5")  # the same faults each time: some drafts fail and are repaired
        demo = make_demo(tmp_path / name)
        monkeypatch.chdir(demo.root)
        monkeypatch.setattr(process, "JUDGE_PROCESS_MIN_ITEMS", threshold)
        here.clear()
        result = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--json")
        assert result.code == 0, result.err
        answered = [line for line in demo.ledger() if line.get("response") is not None]
        assert len(answered) > len(ITEMS), "the faults made repairs happen"
        assert set(demo.statuses().values()) == {"complete"}
        runs[name] = (_parsed(demo), {p.name: p.read_bytes() for p in demo.outputs.glob("*.md")}, len(answered))
        if name == "process":
            assert here == [], "no response was judged in the command's own process"
            assert there == [len(answered)], "each response judged once, in the judge process"
        else:
            assert len(here) == len(answered)
    assert runs["process"] == runs["here"], "parsed.json and the outputs do not depend on where the judging ran"


def _judge_processes() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if judge_helper.PROGRAM.encode() in cmdline:
                found.add(int(entry.name))
    return found


def _children_running(parent: int) -> set[int]:
    """Judge processes whose parent is ``parent``."""
    found = set()
    for pid in _judge_processes():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            found.add(pid)
    return found


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads /proc")
def test_the_judge_process_ends_with_a_killed_command(tmp_path: Path, sim: Callable[..., SimServer]) -> None:
    sim("latency_ms=50")
    demo = make_demo(tmp_path / "demo")
    last = "| 6 | Circuit Breaker | circuit-breaker.md | haiku | pending |\n"
    rows = "".join(f"| {i} | Term {i} | term-{i}.md | haiku | pending |\n" for i in range(10, 10 + 40))
    demo.plan.write_text(demo.plan.read_text(encoding="utf-8").replace(last, last + rows), encoding="utf-8")
    env = {**os.environ, "ORCHESTRATE_CRASH_AT": "journal:30"}
    args = [sys.executable, "-m", "orchestrator", "run", str(demo.plan), "--phase", "1", *SIM, "--workers", "4"]
    command = subprocess.Popen(args, cwd=demo.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen: set[int] = set()
    while command.poll() is None:
        seen |= _children_running(command.pid)
        time.sleep(0.01)
    assert command.returncode == -9, command.stderr.read().decode()[-2000:] if command.stderr else ""
    assert len(seen) == 1, "the run judged its 45 responses in one judge process"
    deadline = time.monotonic() + 10
    while seen & _judge_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not seen & _judge_processes(), "the judge process ended with its command"
    ledger = (demo.batch_dir / "ledger.jsonl").read_text().splitlines()
    assert len(ledger) >= 29 and json.loads(ledger[0])["response"]
