"""A linter that cannot run is this machine's failure, never the document's: kind "environment"."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.validators import CompiledPlan, compile_plan
from orchestrator.validators.lint import LintProblem, install_hint, lint_preflight
from orchestrator.validators.results import CheckResult, FileReport

from orchestrator.plan.parser import read_plan

CRASH = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
VERDICT = "import sys; print(sys.argv[-1] + ':3:1: MD022 headings'); sys.exit(1)"


@pytest.fixture
def with_linter(make_plan: Callable[..., Path], tmp_path: Path) -> Callable[[str], CompiledPlan]:
    def build(command: str) -> CompiledPlan:
        plan = make_plan(checklist=(f"Linter passes: {command}",))
        return compile_plan(read_plan(plan), trust_plan=True, lint_timeout=5.0)

    return build


def python_command(tmp_path: Path, source: str) -> str:
    script = tmp_path / "linter.py"
    script.write_text(source, encoding="utf-8")
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} <filepath>"


def lint_check(compiled: CompiledPlan, content: str, path: Path) -> CheckResult:
    return next(c for c in compiled.validate_text(content, path=path).checks if c.name == "lint.command")


def test_a_missing_linter_is_an_environment_failure_naming_the_extra(
    with_linter: Callable[[str], CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    check = lint_check(with_linter("pymarkdown scan <filepath>"), good_output, tmp_path / "out" / "q.md")
    if check.ok:  # pymarkdown is installed here: use a name that cannot be
        check = lint_check(with_linter("no-such-pymarkdown-xyz scan <filepath>"), good_output, tmp_path / "q.md")
    assert not check.ok and check.kind == "environment" and check.environmental
    assert "was not found on PATH" in check.message
    assert check.as_dict()["kind"] == "environment"


def test_the_install_hint_names_the_lint_extra_and_its_package() -> None:
    hint = install_hint("pymarkdown")
    assert "plan-orchestrator[lint]" in hint and "pymarkdownlnt" in hint
    assert "npm" in install_hint("markdownlint-cli2")
    assert "tidy" in install_hint("/usr/local/bin/tidy")


def test_a_linter_killed_by_a_signal_gives_no_verdict(
    with_linter: Callable[[str], CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    check = lint_check(with_linter(python_command(tmp_path, CRASH)), good_output, tmp_path / "out" / "q.md")
    assert not check.ok and check.kind == "environment" and "killed by signal 9" in check.message


def test_a_real_lint_verdict_stays_an_output_failure(
    with_linter: Callable[[str], CompiledPlan], tmp_path: Path, good_output: str
) -> None:
    target = tmp_path / "out" / "q.md"
    check = lint_check(with_linter(python_command(tmp_path, VERDICT)), good_output, target)
    assert not check.ok and check.kind == "output" and not check.environmental
    assert check.line == 3


def test_a_file_report_separates_repair_material_from_environment_failures(tmp_path: Path) -> None:
    report = FileReport(
        tmp_path / "q.md",
        [
            CheckResult("frontmatter.required_keys", False, 2, "missing key 'term'"),
            CheckResult("lint.command", False, None, "linter executable 'x' was not found on PATH", kind="environment"),
            CheckResult("sections.present", True, None, "ok"),
        ],
    )
    assert report.output_failure_messages() == ["line 2: [frontmatter.required_keys] missing key 'term'"]
    assert report.environment_messages() == ["[lint.command] linter executable 'x' was not found on PATH"]
    assert len(report.failure_messages()) == 2 and not report.ok


def test_preflight_resolves_every_lint_command_without_running_it(
    with_linter: Callable[[str], CompiledPlan], tmp_path: Path
) -> None:
    marker = tmp_path / "ran.txt"
    runs = python_command(tmp_path, f"open({str(marker)!r}, 'w').close()")
    assert lint_preflight(with_linter(runs).expectations, tmp_path) == []
    assert not marker.exists(), "the preflight must not run the linter"
    problems = lint_preflight(with_linter("no-such-linter-xyz scan <filepath>").expectations, tmp_path)
    assert problems == [
        LintProblem(
            command="no-such-linter-xyz scan <filepath>",
            program="no-such-linter-xyz",
            reason="was not found on PATH",
            where="Validation Checklist (plan line 16)",
            hint=install_hint("no-such-linter-xyz"),
        )
    ]
    assert problems[0].render().startswith("linter executable 'no-such-linter-xyz' was not found on PATH")


def test_preflight_checks_a_relative_program_in_the_plans_folder(
    with_linter: Callable[[str], CompiledPlan], tmp_path: Path
) -> None:
    problems = lint_preflight(with_linter("./bin/lint <filepath>").expectations, tmp_path)
    assert [p.reason for p in problems] == [f"does not exist (looked for {tmp_path / 'bin' / 'lint'})"]
