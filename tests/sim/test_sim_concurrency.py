"""Many concurrent clients through AsyncAnthropic, and the rate a limit lets through."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import anthropic
from simkit import params

from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]


async def test_fifty_concurrent_clients(start_sim: Start) -> None:
    sim = start_sim(latency_ms=100, jitter_ms=20)
    api = anthropic.AsyncAnthropic(api_key="sk-test", base_url=sim.url, max_retries=0)
    queue = list(range(250))

    async def worker() -> int:
        done = 0
        while queue:
            queue.pop()
            message = await api.messages.create(**params(f"Term {len(queue)}"))
            done += message.type == "message"
        return done

    started = time.monotonic()
    counts = await asyncio.gather(*(worker() for _ in range(50)))
    elapsed = time.monotonic() - started
    await api.close()
    assert sum(counts) == 250
    assert elapsed < 5.0  # 5 rounds of ~100 ms when truly concurrent; 25 s if serialised
    snap = sim.stats.snapshot()
    assert snap.messages_created == 250 and snap.responses == {200: 250}
    assert len(snap.request_times) == 250


async def test_achieved_rate_matches_rpm(start_sim: Start) -> None:
    sim = start_sim(rpm=1200)  # 20 per second, burst 20
    api = anthropic.AsyncAnthropic(api_key="sk-test", base_url=sim.url, max_retries=0)
    stop_at = time.monotonic() + 1.0

    async def worker() -> None:
        while time.monotonic() < stop_at:
            try:
                await api.messages.create(**params())
            except anthropic.RateLimitError as err:
                wait_ms = int(err.response.headers["retry-after-ms"])
                await asyncio.sleep(min(wait_ms / 1000, max(0.0, stop_at - time.monotonic())))

    await asyncio.gather(*(worker() for _ in range(20)))
    await api.close()
    ok = sim.stats.messages_created
    assert 20 + 20 * 1.0 * 0.8 <= ok <= 20 + 20 * 1.0 + 2, ok
    assert sim.stats.snapshot().rate_limited > 0
