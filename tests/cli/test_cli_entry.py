"""The ``orchestrate`` executable ends the process itself: same exit codes and output as ``main``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from clikit import copy_example

from orchestrator.cli.main import _exit_code


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_success_prints_everything_and_exits_0(tmp_path: Path) -> None:
    plan = copy_example(tmp_path)
    done = _run("status", str(plan), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pending" in done.stdout  # the whole report reached the pipe before the process ended


def test_bad_input_keeps_exit_2_and_its_message(tmp_path: Path) -> None:
    done = _run("check", str(tmp_path / "missing.md"), cwd=tmp_path)
    assert done.returncode == 2
    assert "plan file not found" in done.stderr


@pytest.mark.parametrize(("code", "expected"), [(None, 0), (0, 0), (2, 2), (130, 130), (256 + 1, 1), ("boom", 1)])
def test_exit_code_is_what_sys_exit_would_give(code: object, expected: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(code) == expected
    if isinstance(code, str):
        assert capsys.readouterr().err.strip() == code
