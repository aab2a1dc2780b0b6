"""Rate limits, backoff and the shared cool-down, as units."""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from dispatch_fakes import MODEL, make_job

from orchestrator.dispatch.backoff import Backoff
from orchestrator.dispatch.cooldown import CoolDown
from orchestrator.dispatch.ratelimit import Bucket, ModelLimits, RateLimiter, estimate_tokens
from orchestrator.models import Usage
from orchestrator.providers.base import RateLimitState

REQUEST = make_job("0000").request


def test_full_jitter_stays_within_zero_and_the_capped_exponential() -> None:
    backoff = Backoff(base_s=0.5, max_s=4.0, rng=random.Random(1))
    assert [backoff.exponential(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]
    delays = [backoff.delay(5) for _ in range(200)]
    assert all(0.0 <= d <= 4.0 for d in delays) and min(delays) < 1.0 < max(delays)


def test_equal_jitter_keeps_at_least_half() -> None:
    backoff = Backoff(base_s=1.0, max_s=8.0, jitter="equal", rng=random.Random(2))
    assert all(4.0 <= backoff.delay(4) <= 8.0 for _ in range(200))


def test_retry_after_is_a_floor_and_is_capped() -> None:
    backoff = Backoff(base_s=0.01, max_s=0.02, retry_after_max_s=5.0, rng=random.Random(3))
    assert backoff.delay(1, retry_after=2.5) == 2.5
    assert backoff.delay(1, retry_after=60.0) == 5.0


async def test_cool_down_never_shortens_and_waits() -> None:
    cool = CoolDown()
    cool.extend(0.1)
    cool.extend(0.01)
    assert 0.05 < cool.remaining <= 0.1
    started = time.monotonic()
    await cool.wait()
    assert time.monotonic() - started >= 0.09 and cool.remaining == 0.0


async def test_bucket_clamps_an_oversized_amount_instead_of_raising() -> None:
    bucket = Bucket(600, 1.0)  # 10 per second
    left = await bucket.acquire(25)
    assert left == 15


async def test_request_bucket_holds_the_rate() -> None:
    bucket = Bucket(1200, 1.0)  # 20 per second, 20 at once
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire() for _ in range(30)))
    assert 0.4 <= time.monotonic() - started < 1.0


def test_limits_come_from_settings_else_from_the_model() -> None:
    assert RateLimiter().for_model(MODEL).requests is None
    from_model = RateLimiter().for_model(MODEL.__class__(**{**MODEL.__dict__, "rpm": 50}))
    assert from_model.requests is not None and from_model.requests.per_minute == 50
    limits = RateLimiter(rpm=100, input_tpm=9000).for_model(MODEL)
    assert limits.requests is not None and limits.requests.per_minute == 100
    assert limits.tokens is not None and limits.tokens.per_minute == 9000


def test_a_lower_reported_limit_replaces_ours_and_a_higher_one_does_not() -> None:
    limits = ModelLimits(rpm=6000, input_tpm=None)
    limits.observe(RateLimitState(requests_limit=9000))
    assert limits.requests is not None and limits.requests.per_minute == 6000
    limits.observe(RateLimitState(requests_limit=600, input_tokens_limit=40000))
    assert limits.requests.per_minute == 600
    assert limits.tokens is not None and limits.tokens.per_minute == 40000


def test_an_exhausted_budget_pauses_the_model_until_one_more_call_fits() -> None:
    limits = ModelLimits(rpm=600, input_tpm=None)
    limits.observe(RateLimitState(requests_limit=600, requests_remaining=3, requests_reset_s=1.0))
    assert limits.pause.remaining == 0.0
    limits.observe(RateLimitState(requests_limit=600, requests_remaining=0, requests_reset_s=1.0))
    assert 0.05 < limits.pause.remaining <= 0.1  # 60 s / 600


async def test_token_estimate_drops_the_shared_prefix_once_the_cache_is_warm() -> None:
    limits = ModelLimits(rpm=None, input_tpm=600_000)
    full = estimate_tokens(REQUEST, include_shared=True)
    assert await limits.acquire(REQUEST) == full
    limits.settle(full, Usage(input_tokens=10, cache_read_input_tokens=500))
    assert await limits.acquire(REQUEST) == estimate_tokens(REQUEST, include_shared=False) < full


async def test_under_estimated_tokens_are_charged_to_the_next_acquire() -> None:
    limits = ModelLimits(rpm=None, input_tpm=60_000)  # 1,000 per second
    charged = await limits.acquire(REQUEST)
    limits.settle(charged, Usage(input_tokens=charged + 1500))
    started = time.monotonic()
    await limits.acquire(REQUEST)  # takes a full bucket (1,000); the rest stays owed
    await limits.acquire(REQUEST)
    # without the debt both would pass at once (two small requests, an empty bucket)
    assert time.monotonic() - started >= 0.5, "the 1,500 tokens owed must be waited for"


@pytest.mark.parametrize("rpm", [1, 30])
def test_slow_limits_still_admit_one_call(rpm: int) -> None:
    assert Bucket(rpm, 1.0).limiter.max_rate >= 1.0
