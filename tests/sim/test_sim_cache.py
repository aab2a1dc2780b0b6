"""Prompt caching: writes, reads, the minimum prefix, expiry, and keys by model."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from simkit import REFERENCE, client, params

from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]
#: A reference long enough (well over 1,024 tokens) for the default cache minimum.
LONG_REFERENCE = (
    REFERENCE
    + "\n"
    + "\n".join(
        f"Extra paragraph {i}: " + "words that make the reference long enough to cache. " * 8 for i in range(12)
    )
)


def usage(sim: SimServer, **kw: Any) -> Any:
    return client(sim).messages.create(**params(**kw)).usage


def test_long_prefix_is_written_then_read(sim: SimServer) -> None:
    first = usage(sim, title="Quorum", reference=LONG_REFERENCE)
    assert first.cache_creation_input_tokens >= 1024
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert first.cache_creation.ephemeral_1h_input_tokens == 0
    assert first.cache_read_input_tokens == 0
    second = usage(sim, title="Backpressure", reference=LONG_REFERENCE)  # same prefix, new row
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert 0 < second.input_tokens < 40  # only the row's own message is fresh
    snap = sim.stats.snapshot()
    assert snap.cache_read_input_tokens == second.cache_read_input_tokens
    assert snap.cache_creation_input_tokens == first.cache_creation_input_tokens


def test_short_prefix_is_not_cached(sim: SimServer) -> None:
    for _ in range(2):
        u = usage(sim)
        assert u.cache_creation_input_tokens == 0 and u.cache_read_input_tokens == 0
        assert u.input_tokens > 300


def test_minimum_is_configurable(start_sim: Start) -> None:
    sim = start_sim(cache_min_tokens=100)
    assert usage(sim).cache_creation_input_tokens > 300
    assert usage(sim).cache_read_input_tokens > 300


def test_cache_is_keyed_by_model(sim: SimServer) -> None:
    usage(sim, reference=LONG_REFERENCE, model="claude-haiku-5-5")
    other = usage(sim, reference=LONG_REFERENCE, model="claude-sonnet-5-5")
    assert other.cache_read_input_tokens == 0 and other.cache_creation_input_tokens >= 1024


def test_entries_expire_after_the_ttl(start_sim: Start) -> None:
    sim = start_sim(cache_ttl_s=0.2)
    usage(sim, reference=LONG_REFERENCE)
    time.sleep(0.3)
    again = usage(sim, reference=LONG_REFERENCE)
    assert again.cache_read_input_tokens == 0 and again.cache_creation_input_tokens >= 1024


def test_one_hour_ttl_is_reported_separately(sim: SimServer) -> None:
    kwargs = params(reference=LONG_REFERENCE)
    kwargs["system"][1]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    u = client(sim).messages.create(**kwargs).usage
    assert u.cache_creation.ephemeral_1h_input_tokens == u.cache_creation_input_tokens >= 1024
    assert u.cache_creation.ephemeral_5m_input_tokens == 0
