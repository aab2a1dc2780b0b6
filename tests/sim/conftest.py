"""Fixtures for the simulator tests (helpers live in ``simkit``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from simkit import FAST, close_clients

from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimServer]]:
    """``start_sim(p429=1, ...)``: a running simulator, stopped after the test."""
    servers: list[SimServer] = []

    def start(**settings: Any) -> SimServer:
        server = SimServer(SimConfig(**{**FAST, **settings}))
        server.start()
        servers.append(server)
        return server

    yield start
    close_clients()
    for server in servers:
        server.stop()
    # a 500 from a simulator bug must never pass as an injected fault that retries absorbed
    assert [s.stats.snapshot().internal_errors for s in servers] == [0] * len(servers)


@pytest.fixture
def sim(start_sim: Callable[..., SimServer]) -> SimServer:
    return start_sim()
