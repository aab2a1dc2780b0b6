"""Helpers for the money tests (the fixtures are in conftest.py)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

for _kit in ("pipeline", "dispatch"):  # pipekit (the demo tree, the CLI in-process), dispatch_fakes
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _kit))


def use_api(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    """What a user with a key does: ``ANTHROPIC_API_KEY=... ANTHROPIC_BASE_URL=URL orchestrate ...``."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-real")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)


def tree_state(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes (to prove that nothing was written)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def ledger_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
