"""lint.command: runs only for a trusted plan, as an argument list, with a time limit."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.validators import CompiledPlan, compile_plan

from orchestrator.plan.parser import read_plan

LINTER = """
import pathlib, sys, time
target = pathlib.Path(sys.argv[-1])
pathlib.Path(sys.argv[1]).write_text(str(target), encoding="utf-8")
text = target.read_text(encoding="utf-8")
if "SLOW" in text:
    time.sleep(5)
for number, line in enumerate(text.splitlines(), 1):
    if "BAD" in line:
        print(f"{target}:{number}:1: MD999 bad word")
        sys.exit(1)
"""


@pytest.fixture
def linted(make_plan: Callable[..., Path], tmp_path: Path) -> Callable[..., CompiledPlan]:
    """A plan whose linter is a small Python script that logs the path it was given."""
    script = tmp_path / "lint.py"
    script.write_text(LINTER, encoding="utf-8")
    program = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    command = f"{program} {tmp_path / 'seen.txt'} <filepath>"

    def build(trust_plan: bool = True, timeout: float = 10.0, command: str = command) -> CompiledPlan:
        plan = make_plan(checklist=(f"Linter passes: {command}",))
        return compile_plan(read_plan(plan), trust_plan=trust_plan, lint_timeout=timeout)

    return build


def test_untrusted_plan_never_runs_the_command(
    linted: Callable[..., CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    report = linted(trust_plan=False).validate_text(good_output, path=tmp_path / "out" / "q.md")
    check = next(c for c in report.checks if c.name == "lint.command")
    assert check.skipped and check.ok
    assert "--trust-plan" in check.message and "ORCHESTRATE_TRUST_PLAN=1" in check.message
    assert not (tmp_path / "seen.txt").exists()


def test_environment_variable_trusts_the_plan(
    linted: Callable[..., CompiledPlan],
    tmp_path: Path,
    good_output: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORCHESTRATE_TRUST_PLAN", "1")
    report = linted(trust_plan=False).validate_text(good_output, path=tmp_path / "out" / "q.md")
    assert report.ok
    assert (tmp_path / "seen.txt").exists()


def test_pre_write_lints_a_temporary_copy_beside_the_output(
    linted: Callable[..., CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    target = tmp_path / "out" / "q.md"
    report = linted().validate_text(good_output.replace("Exactly", "BAD"), path=target)
    check = next(c for c in report.checks if c.name == "lint.command")
    seen = Path((tmp_path / "seen.txt").read_text(encoding="utf-8"))
    assert seen.parent == target.parent and seen != target
    assert list((tmp_path / "out").iterdir()) == []
    assert not check.ok
    assert f"{target}:19:1: MD999 bad word" in check.message
    assert check.line == 19


def test_final_lints_the_written_file(linted: Callable[..., CompiledPlan], tmp_path: Path, good_output: str) -> None:
    plan = linted()
    target = tmp_path / "out" / "q.md"
    target.write_text(good_output, encoding="utf-8")
    report = plan.validate_file(target)
    assert next(c for c in report.checks if c.name == "lint.command").ok
    assert Path((tmp_path / "seen.txt").read_text(encoding="utf-8")) == target


def test_missing_executable_is_a_clear_failure(
    linted: Callable[..., CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    plan = linted(command="no-such-linter-xyz scan <filepath>")
    check = next(c for c in plan.validate_text(good_output, path=tmp_path / "q.md").checks if c.name == "lint.command")
    assert not check.ok
    assert "linter executable 'no-such-linter-xyz' was not found on PATH" in check.message


def test_time_limit(linted: Callable[..., CompiledPlan], tmp_path: Path, good_output: str) -> None:
    report = linted(timeout=0.5).validate_text(good_output + "\nSLOW\n", path=tmp_path / "out" / "q.md")
    check = next(c for c in report.checks if c.name == "lint.command")
    assert not check.ok and "did not finish within 0.5 s" in check.message


def test_command_is_never_given_to_a_shell(
    linted: Callable[..., CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    plan = linted(command="echo hi; touch pwned && touch pwned2 $(touch pwned3) <filepath>")
    report = plan.validate_text(good_output, path=tmp_path / "out" / "q.md")
    assert next(c for c in report.checks if c.name == "lint.command").ok  # echo printed its arguments
    assert not list(tmp_path.glob("pwned*"))
