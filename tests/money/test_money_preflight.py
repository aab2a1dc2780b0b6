"""Preflight before money: a missing linter or an unreachable API stops the run before any message request.

Issue 10, findings 2 and 3. The simulator's request counts (and a closed port
that nothing listens on) prove that not one message request was made.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from moneykit import use_api
from pipekit import Demo, orchestrate

from orchestrator.errors import EXIT_FAILED
from orchestrator.sim.server import SimServer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_trusted_plans_missing_linter_stops_before_any_request(
    demo: Demo, sim: Callable[..., SimServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sim()
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no pymarkdown anywhere
    result = orchestrate("run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes", "--trust-plan")
    assert result.code == EXIT_FAILED, result.out + result.err
    assert "'pymarkdown' was not found on PATH" in result.err and "plan-orchestrator[lint]" in result.err
    assert "nothing was dispatched" in result.err and "orchestrate doctor" in result.err
    assert server.stats.snapshot().requests == {}, "not a message, not even a token count"
    assert not demo.batch_dir.exists(), "nothing was written"


def test_an_unreachable_api_stops_at_the_estimate_with_the_url_and_no_message(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    use_api(monkeypatch, url)
    result = orchestrate("run", str(demo.plan), "--phase", "1", "--yes")
    assert result.code == EXIT_FAILED, result.out + result.err
    assert "Provider: anthropic" in result.out and f"Endpoint: {url.removeprefix('http://')}" in result.out
    assert f"cannot connect to {url}" in result.err and "tried twice): nothing was dispatched" in result.err
    assert "ANTHROPIC_BASE_URL" in result.err and "orchestrate doctor" in result.err
    assert "Timed out" not in result.out + result.err, "not reported as a slow API"
    assert not (demo.batch_dir / "ledger.jsonl").exists(), "no message request was attempted"
    assert "COST ESTIMATE" not in result.out, "no estimate from a guess when the API cannot be reached"


def test_skipped_rules_are_listed_in_the_header_the_summary_and_the_report(
    demo: Demo, sim: Callable[..., SimServer]
) -> None:
    sim()
    result = orchestrate("run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes")
    assert result.code == 0, result.err
    head, summary = result.out.split("PROCESSING:")
    for text in (head, summary):
        assert "glossary.md:23: pymarkdown scan <filepath>" in text
        assert "--trust-plan" in text and "plan-orchestrator[lint]" in text and "pymarkdownlnt" in text
    assert "Not machine-checked in this run (1 rule(s)):" in head
    assert "Not machine-checked (1 rule(s)):" in summary
    page = demo.report.read_text(encoding="utf-8")
    top = page.split('<div class="cards">')[0]
    assert "Not machine-checked (1 rule(s))" in top and "--trust-plan" in top and "pymarkdownlnt" in top
    data = orchestrate("run", "--batch-id", "glossary-phase1", "--provider", "sim", "--yes", "--json").json()
    assert [rule["text"] for rule in data["skipped_rules"]] == ["pymarkdown scan <filepath>"]
