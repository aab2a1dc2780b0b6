"""Helpers for the CLI tests: the entry point in-process, and a small plan tree in tmp_path."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from orchestrator.cli.main import main

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Result:
    code: int
    out: str
    err: str


def orchestrate(*args: str, input: str | None = None) -> Result:
    """``orchestrate ARGS`` through the real entry point and its error boundary (stdin not a tty)."""
    runner = CliRunner()
    code = 0
    with runner.isolation(input=input) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


def copy_example(root: Path) -> Path:
    """The glossary example (plan and format reference) under ``root``; returns the plan's path."""
    (root / "plans").mkdir(parents=True)
    (root / "format_refs").mkdir()
    shutil.copy(REPO / "plans" / "glossary.md", root / "plans" / "glossary.md")
    shutil.copy(REPO / "format_refs" / "idempotency.md", root / "format_refs" / "idempotency.md")
    return root / "plans" / "glossary.md"
