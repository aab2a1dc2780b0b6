"""`orchestrate run` refuses bad input before writing anything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture()
def demo(tmp_path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "orchestrator", "init", str(tmp_path)], check=True, capture_output=True)
    return tmp_path


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ((), ["ANTHROPIC_API_KEY", "--provider NAME", "--provider sim"]),
        (("--provider", "nope"), ["unknown provider 'nope'", "one of: anthropic, ", ", sim\n"]),
        (("--model", "gpt-9", "--provider", "sim"), ["unknown model 'gpt-9'"]),
        (("--phase", "7", "--provider", "sim"), ["Phase 7"]),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(demo: Path, extra: tuple[str, ...], expected: list[str]) -> None:
    before = _tree(demo)
    args = ["run", str(demo / "plans" / "glossary.md"), *(("--phase", "1") if "--phase" not in extra else ()), *extra]
    result = subprocess.run([sys.executable, "-m", "orchestrator", *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert _tree(demo) == before
