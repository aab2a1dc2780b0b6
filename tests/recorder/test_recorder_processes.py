"""Real processes: SIGKILL at random moments, two recorders and a user's editor at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ruamel.yaml import YAML

from orchestrator.plan.parser import parse_plan, read_plan
from orchestrator.recorder import Recorder
from orchestrator.recorder.cells import set_statuses

HERE = Path(__file__).parent
PLAN_HEAD = (
    "# Plan\n\n## Editor Log\n\n## Output Directory\nout/\n\n"
    "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
)
KILL_PLANS = 5
KILL_ROUNDS = 11  # 55 kills


def _write_plan(folder: Path, rows: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"| {i} | Title {i} | f{i}.md | haiku | pending |\n" for i in range(1, rows + 1)]
    plan = folder / "plan.md"
    plan.write_text(PLAN_HEAD + "".join(lines) + "\nProse after the table.\n")
    return plan


def _child(script: str, *args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / script), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@dataclass
class _Target:
    plan: Path
    original: str
    shown: dict[str, str]
    ever_completed: set[str] = field(default_factory=set)


def _allowed(log: Path, before: dict[str, str]) -> dict[str, set[str]]:
    """Per row: statuses the plan may show after a kill, given what the child logged."""
    requests: list[tuple[int, str, str]] = []
    durable = 0
    for line in log.read_text().splitlines():
        parts = line.split()
        if parts[0] == "S" and len(parts) == 4:
            requests.append((int(parts[1]), parts[2], parts[3]))
        elif parts[0] == "D" and len(parts) == 2:
            durable = int(parts[1])
    allowed: dict[str, set[str]] = {}
    for row, status in before.items():
        settled = status
        for seq, req_row, req_status in requests:
            if req_row == row and seq <= durable:
                settled = req_status
        allowed[row] = {settled} | {s for q, r, s in requests if r == row and q > durable}
    return allowed


def _verify(target: _Target, log: Path) -> None:
    allowed = _allowed(log, target.shown)
    text = target.plan.read_bytes().decode("utf-8")
    shown = {row.id: row.status for row in parse_plan(text).rows()}
    assert shown.keys() == allowed.keys()
    for row, status in shown.items():
        assert status in allowed[row], f"row {row} shows {status!r}, never recorded"
    changes = {(1, row): (f"f{row}.md", status) for row, status in shown.items()}
    assert set_statuses(target.original, changes)[0] == text, "bytes outside Status cells changed"
    target.shown = shown
    target.ever_completed |= {r for r, s in shown.items() if s == "complete"}
    for line in log.read_text().splitlines():
        if line.startswith("S ") and line.endswith(" complete"):
            target.ever_completed.add(line.split()[2])
    tracking = target.plan.with_name("plan.tracking.yaml")
    if tracking.exists():
        data = YAML(typ="safe").load(tracking.read_text())
        paths = [entry["path"] for entry in data["outputs"]]
        assert len(paths) == len(set(paths))
        assert {p.removeprefix("out/f").removesuffix(".md") for p in paths} <= target.ever_completed


def _wait_for_write(folder: Path, pid: int, timeout: float) -> None:
    """Return as soon as ``pid`` has a temporary file in ``folder`` (it is inside a write)."""
    deadline = time.monotonic() + timeout
    marker = f".{pid}-"
    while time.monotonic() < deadline:
        if any(marker in name and name.endswith(".tmp") for name in os.listdir(folder)):
            return


def test_sigkill_at_random_moments_leaves_a_whole_truthful_plan(tmp_path: Path) -> None:
    """Half the kills fall at random times, half the instant a child is inside a write."""
    rng = random.Random(20261121)
    targets = []
    for n in range(KILL_PLANS):
        plan = _write_plan(tmp_path / f"p{n}", rows=300)
        targets.append(_Target(plan, plan.read_text(), {str(i): "pending" for i in range(1, 301)}))
    kills = mid_write = 0
    for round_no in range(KILL_ROUNDS):
        logs = [t.plan.parent / f"log{round_no}" for t in targets]
        seeds = [rng.randrange(10**6) for _ in targets]
        children = [
            _child("recorder_kill_child.py", t.plan, log, seed)
            for t, log, seed in zip(targets, logs, seeds, strict=True)
        ]
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        for child, target in zip(children, targets, strict=True):
            if rng.random() < 0.5:
                time.sleep(rng.uniform(0.0, 0.1))
            else:
                _wait_for_write(target.plan.parent, child.pid, timeout=1.0)
            child.send_signal(signal.SIGKILL)
        for child, target, log in zip(children, targets, logs, strict=True):
            child.communicate()
            assert child.returncode == -signal.SIGKILL
            kills += 1
            mid_write += any(f".{child.pid}-" in name for name in os.listdir(target.plan.parent))
            _verify(target, log)
    assert kills >= 50
    assert mid_write >= 10, f"only {mid_write} kills landed inside a write"
    for target in targets:  # the next recorder cleans up what killed writers left
        with Recorder(target.plan):
            pass
        assert not list(target.plan.parent.glob(".plan.md.*.tmp"))
        assert read_plan(target.plan).phases[0].rows


def test_two_recorders_and_an_editor_at_once_lose_nothing(tmp_path: Path) -> None:
    plan = _write_plan(tmp_path, rows=60)
    children = [
        _child("recorder_session_writer.py", plan, 1, 60, 2),
        _child("recorder_session_writer.py", plan, 2, 60, 2),
        _child("recorder_plan_editor.py", plan, 40),
    ]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
    text = plan.read_text()
    assert {row.status for row in read_plan(plan).rows()} == {"complete"}
    assert len(list(read_plan(plan).rows())) == 60
    for number in range(1, 41):
        assert f"\n- edit {number}\n" in text, f"the user's edit {number} was lost"
    assert text.endswith("\nProse after the table.\n")
