"""A request that cannot fit its model's context window is bad input, never sent (and never paid for)."""

from __future__ import annotations

from collections.abc import Callable

from pipekit import Demo, orchestrate

from orchestrator.sim.server import SimServer

TINY = """
[models.tiny]
id = "claude-haiku-5-5"
input = 0.10
output = 0.50
context_tokens = 60
"""


def test_a_model_override_too_small_for_the_request_sends_nothing(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    (demo.plan.parent / "orchestrate.toml").write_text(TINY, encoding="utf-8")
    assert orchestrate("check", str(demo.plan)).code == 0, "the plan's own models fit: check passes"
    result = orchestrate("run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes", "--model", "tiny")
    assert result.code == 2, result.err
    assert "over the 60-token context window" in result.err and "nothing was sent" in result.err
    assert server.stats.messages_created == 0
    assert not demo.ledger()
