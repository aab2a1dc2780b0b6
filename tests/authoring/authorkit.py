"""Helpers for the authoring tests: the CLI in-process, example copies, byte-level diffs."""

from __future__ import annotations

import difflib
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
    """``orchestrate ARGS`` through the real entry point; stdin is not a terminal."""
    runner = CliRunner()
    code = 0
    with runner.isolation(input=input) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Result(code, out.getvalue().decode(), err.getvalue().decode())


def copy_examples(root: Path) -> Path:
    """The bundled plans and format references under ``root``; returns the plans folder."""
    shutil.copytree(REPO / "plans", root / "plans")
    shutil.copytree(REPO / "format_refs", root / "format_refs")
    return root / "plans"


def inserted_lines(before: bytes, after: bytes) -> list[bytes]:
    """The lines ``after`` adds to ``before``; fails if any line of ``before`` changed or went away."""
    old, new = before.splitlines(keepends=True), after.splitlines(keepends=True)
    added: list[bytes] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        # the old last line may gain the line ending it lacked
        grown = op == "replace" and i2 - i1 == 1 and i2 == len(old) and new[j1].rstrip(b"\r\n") == old[i1]
        assert op == "insert" or grown, f"{op}: {old[i1:i2]!r} -> {new[j1:j2]!r}"
        added.extend(new[j1 + (1 if grown else 0) : j2])
    return added
