"""Fixtures for the pipeline tests: a demo tree per test and a simulator to count calls."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pipekit import FAST_SIM, Demo, make_demo

from orchestrator.sim.config import SimConfig, parse_pairs
from orchestrator.sim.server import SimServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: needs headless Chromium (skips locally without it, fails when CI=true)"
    )


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """The example plan copied under tmp_path, which is also the working folder."""
    root = tmp_path / "demo"
    made = make_demo(root)
    monkeypatch.chdir(root)
    return made


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SimServer]]:
    """``sim("p429=0.2")``: a running simulator that ``--provider sim`` talks to (via its URL)."""
    servers: list[SimServer] = []

    def start(extra: str = "") -> SimServer:
        server = SimServer(SimConfig(**{**parse_pairs(FAST_SIM), **parse_pairs(extra)}))
        url = server.start()
        servers.append(server)
        monkeypatch.setenv("ORCHESTRATE_SIM_URL", url)
        return server

    yield start
    for server in servers:
        server.stop()
