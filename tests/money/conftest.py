"""Fixtures for the money tests: the demo tree, a rehearsal simulator, and a simulator as the "real" API.

``sim`` is what ``--provider sim`` talks to (``ORCHESTRATE_SIM_URL``);
``api`` is a second simulator standing in for the Anthropic API: the real
``anthropic`` provider and SDK reach it through ``ANTHROPIC_BASE_URL`` with a
key set, exactly as a paid run would reach api.anthropic.com.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

for _kit in ("pipeline", "dispatch"):  # pipekit (the demo tree, the CLI in-process) and dispatch_fakes
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / _kit))

from pipekit import FAST_SIM, Demo, make_demo  # noqa: E402

from orchestrator.sim.config import SimConfig, parse_pairs  # noqa: E402
from orchestrator.sim.server import SimServer  # noqa: E402


def _server(extra: str) -> SimServer:
    return SimServer(SimConfig(**{**parse_pairs(FAST_SIM), **parse_pairs(extra)}))


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Demo:
    root = tmp_path / "demo"
    made = make_demo(root)
    monkeypatch.chdir(root)
    return made


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SimServer]]:
    """``sim("p429=0.2")``: the simulator ``--provider sim`` talks to."""
    servers: list[SimServer] = []

    def start(extra: str = "") -> SimServer:
        server = _server(extra)
        monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.start())
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., SimServer]]:
    """``api()``: a simulator as the Anthropic API; call ``api.enable(server)`` to set the key and URL."""
    servers: list[SimServer] = []

    def start(extra: str = "") -> SimServer:
        server = _server(extra)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
