"""Fixtures for the Message Batches tests: a simulator per test (helpers live in ``batchkit``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))  # simkit: the shared reference and rules
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "pipeline"))  # pipekit: a demo tree, the CLI

from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimServer]]:
    """``start_sim(pbatch_error=0.3, ...)``: a running simulator (batches end after 50 ms unless told)."""
    servers: list[SimServer] = []

    def start(**settings: Any) -> SimServer:
        server = SimServer(SimConfig(**{"batch_delay_ms": 50, **settings}))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    assert [s.stats.snapshot().internal_errors for s in servers] == [0] * len(servers)


@pytest.fixture
def sim(start_sim: Callable[..., SimServer]) -> SimServer:
    return start_sim()
