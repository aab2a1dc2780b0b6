"""``python -m orchestrator.sim`` and ``orchestrate sim serve``."""

from __future__ import annotations

import subprocess
import sys

import anthropic
from click.testing import CliRunner
from simkit import params

from orchestrator.sim.cli import sim_group


def test_module_prints_the_url_first_and_serves() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.sim", "--config", "seed=3,key=sk-proc"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        api = anthropic.Anthropic(api_key="sk-proc", base_url=url, max_retries=0)
        assert api.messages.create(**params()).stop_reason == "end_turn"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0  # SIGTERM stops it cleanly
        if proc.stdout is not None:
            proc.stdout.close()


def test_bad_config_is_a_usage_error() -> None:
    result = CliRunner().invoke(sim_group, ["serve", "--config", "latency=5"])
    assert result.exit_code == 2
    assert "unknown key 'latency'" in result.output
