"""The estimate of a claude-code run counts what each agent bills (its prompt, tools, Read and Write)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "pipeline"))

from cckit import real_cli
from pipekit import make_demo, orchestrate

from orchestrator.providers.claude_code.overhead import FIXED_PREFIX_TOKENS
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer


def test_claude_code_estimate_adds_the_agents_per_row_overhead(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ORCHESTRATE_CLAUDE_PATH", str(real_cli()))  # the provider is built (never run)
    demo = make_demo(tmp_path / "demo")
    monkeypatch.chdir(demo.root)
    with SimServer(SimConfig()) as server:
        monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.url)
        api = orchestrate("estimate", str(demo.plan), "--phase", "1", "--provider", "sim", "--json")
        agent = orchestrate("estimate", str(demo.plan), "--phase", "1", "--provider", "claude-code", "--json")
        assert server.stats.messages_created == 0, "an estimate spends nothing"
    assert api.code == 0 and agent.code == 0, api.err + agent.err
    api_in, agent_in = json.loads(api.out)["input_tokens"], json.loads(agent.out)["input_tokens"]
    rows = json.loads(agent.out)["items"]
    assert rows == 5
    # every row bills at least the agent's fixed prefix (read from the cache), the first also writes it
    assert agent_in >= FIXED_PREFIX_TOKENS * (rows + 1)
    assert agent_in > 5 * api_in
