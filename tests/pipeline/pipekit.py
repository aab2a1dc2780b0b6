"""Helpers for the pipeline tests: a demo tree, the CLI in-process, batch paths."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from orchestrator.cli.main import main

REPO = Path(__file__).resolve().parents[2]
BATCH = "glossary-phase1"
ITEMS = ["item-0002", "item-0003", "item-0004", "item-0005", "item-0006"]
#: fast simulator answers, short 429 waits
FAST_SIM = "seed=7,latency_ms=5,retry_after_ms=20"


@dataclass
class Demo:
    """A copy of the example plan and format reference, keeping the repository's layout."""

    root: Path

    @property
    def plan(self) -> Path:
        return self.root / "plans" / "glossary.md"

    @property
    def batch_dir(self) -> Path:
        return self.root / "plans" / "data" / BATCH

    @property
    def report(self) -> Path:
        return self.root / "plans" / "output" / BATCH / "index.html"

    @property
    def outputs(self) -> Path:
        return self.root / "plans" / "output" / "glossary"

    def item(self, item: str, name: str) -> Path:
        return self.batch_dir / item / name

    def json(self, item: str, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.item(item, name).read_text(encoding="utf-8"))
        return data

    def statuses(self, phase: int = 1) -> dict[str, str]:
        from orchestrator.plan.parser import read_plan

        found = read_plan(self.plan).phase(phase)
        assert found is not None
        return {row.id: row.status for row in found.rows}

    def ledger(self) -> list[dict[str, Any]]:
        path = self.batch_dir / "ledger.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def make_demo(root: Path) -> Demo:
    (root / "plans").mkdir(parents=True)
    (root / "format_refs").mkdir()
    shutil.copy(REPO / "plans" / "glossary.md", root / "plans" / "glossary.md")
    shutil.copy(REPO / "format_refs" / "idempotency.md", root / "format_refs" / "idempotency.md")
    return Demo(root)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data


def orchestrate(*args: str, input: str | None = None) -> Result:
    """Run ``orchestrate ARGS`` in-process through the real entry point (stdin is not a tty)."""
    runner = CliRunner()
    code = 0
    with runner.isolation(input=input) as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return Result(code, out.getvalue().decode(), err.getvalue().decode())
