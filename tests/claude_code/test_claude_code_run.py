"""End to end: ``orchestrate run --provider claude-code`` with the real CLI against the simulator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cckit import EXPECTED_ENDPOINTS, CatchAllProxy, glossary_failures, loopback_env, make_demo, real_cli
from click.testing import CliRunner

from orchestrator.cli.main import main
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer


def test_orchestrate_run_completes_a_phase_with_agents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cli = real_cli()
    demo = make_demo(tmp_path / "demo")
    monkeypatch.chdir(demo.root)
    with SimServer(SimConfig(seed=7, pbad_enum=0.4)) as sim, CatchAllProxy() as proxy:
        env = loopback_env(tmp_path / "home", sim.url, proxy.url, cli)
        env["PATH"] = os.pathsep.join([str(cli.parent), os.environ.get("PATH", "")])
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        runner = CliRunner()
        with runner.isolation() as (out, err, _):
            try:
                main(["run", str(demo.plan_path), "--phase", "1", "--provider", "claude-code", "--yes",
                      "--workers", "3", "--json"])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        log = sim.stats.snapshot().log
    assert code == 0, stderr[-2000:]
    summary = json.loads(stdout)
    assert summary  # the run's JSON summary
    rows = demo.rows()  # pending rows left after the run
    assert rows == [], [r.title for r in rows]
    files = sorted(p.name for p in demo.outputs.iterdir() if p.suffix == ".md")
    assert files == sorted(["quorum.md", "backpressure.md", "fencing-token.md", "vector-clock.md",
                            "circuit-breaker.md"])
    for name in files:
        assert glossary_failures((demo.outputs / name).read_text(encoding="utf-8")) == []
    assert {r.endpoint for r in log} <= EXPECTED_ENDPOINTS
    assert proxy.requests == []
