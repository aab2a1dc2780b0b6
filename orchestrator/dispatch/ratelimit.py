"""Client-side rate limits per model: requests per minute and input tokens per minute.

Limits come from the settings (``--rpm``/``--input-tpm``), else from the model
table (``ModelInfo.rpm``/``input_tpm``), and are then *adjusted* from what the
API reports in its ``anthropic-ratelimit-*`` headers: a reported limit lower
than ours replaces ours (and one is adopted when none was configured), and a
budget reported as exhausted pauses that model's calls until it holds one
more call.

The buckets are ``aiolimiter.AsyncLimiter`` leaky buckets holding one
second's worth rather than a whole minute's: a one-minute bucket would let
the first minute's budget out in one burst, which the API (whose buckets
refill continuously) answers with 429s. Input tokens are estimated before a
call (about four characters per token; the shared prefix is no longer counted
once the API reports cache reads, since cached tokens do not count towards the
input-token limit). What a bucket cannot take at once (a request larger than
one second's budget) and what the estimate missed (known once the usage is
reported) is carried over and charged to the next acquire: a leaky bucket
cannot charge after the fact, so the average rate still holds.
"""

from __future__ import annotations

import math

from aiolimiter import AsyncLimiter

from orchestrator.dispatch.cooldown import CoolDown
from orchestrator.models import ModelInfo, Usage
from orchestrator.providers.base import CallRequest, RateLimitState

WINDOW_S = 1.0
CHARS_PER_TOKEN = 4.0


class Bucket:
    """A per-minute budget as a leaky bucket with a short window; amounts are clamped."""

    def __init__(self, per_minute: float, window_s: float) -> None:
        self.per_minute = per_minute
        per_second = per_minute / 60.0
        # the window must hold at least one unit, or a single acquire could never pass
        window = max(window_s, 1.0 / per_second)
        self.limiter = AsyncLimiter(per_second * window, window)

    async def acquire(self, amount: float = 1.0) -> float:
        """Take up to the bucket's size (aiolimiter refuses more); return what was left over."""
        taken = min(max(0.0, amount), self.limiter.max_rate)
        await self.limiter.acquire(taken)
        return amount - taken

    def refill_s(self, amount: float) -> float:
        """Seconds the API's budget needs to refill ``amount``."""
        return 60.0 * amount / self.per_minute


def estimate_tokens(request: CallRequest, *, include_shared: bool) -> int:
    """Input tokens a request will count against the limit (rough: chars / 4)."""
    chars = len(request.system) + sum(len(turn.text) for turn in request.turns)
    if include_shared:
        chars += len(request.shared)
    return math.ceil(chars / CHARS_PER_TOKEN)


class ModelLimits:
    """The request and input-token buckets of one model, plus its own pause."""

    def __init__(self, rpm: int | None, input_tpm: int | None) -> None:
        self.requests = Bucket(rpm, WINDOW_S) if rpm else None
        self.tokens = Bucket(input_tpm, WINDOW_S) if input_tpm else None
        self.pause = CoolDown()
        self.cache_warm = False
        self._debt = 0  # tokens used beyond what was charged, owed by the next acquire
        self._last_estimate = 1

    async def acquire(self, request: CallRequest) -> int:
        """Wait for this model's pause and budgets; return the tokens charged (see ``settle``)."""
        await self.pause.wait()
        if self.requests is not None:
            await self.requests.acquire(1)
        estimate = estimate_tokens(request, include_shared=not self.cache_warm)
        if self.tokens is not None:
            owed, self._debt = self._debt, 0
            self._debt += math.ceil(await self.tokens.acquire(estimate + owed))
        self._last_estimate = estimate
        return estimate

    def settle(self, charged: int, usage: Usage) -> None:
        """Carry any under-estimate over to the next acquire; note when the prefix is cached."""
        if usage.cache_read_input_tokens:
            self.cache_warm = True
        if self.tokens is not None:
            counted = usage.input_tokens + usage.cache_creation_input_tokens
            self._debt += max(0, counted - charged)

    def observe(self, state: RateLimitState | None) -> None:
        """Adopt a lower reported limit; pause when a budget is reported exhausted.

        The pause lasts until the budget holds one more call (the reset time
        the API reports is when it is *full* again, which would waste it).
        """
        if state is None:
            return
        if state.requests_limit and (self.requests is None or state.requests_limit < self.requests.per_minute):
            self.requests = Bucket(state.requests_limit, WINDOW_S)
        if state.input_tokens_limit and (self.tokens is None or state.input_tokens_limit < self.tokens.per_minute):
            self.tokens = Bucket(state.input_tokens_limit, WINDOW_S)
        if state.requests_remaining == 0 and state.requests_reset_s and self.requests:
            self.pause.extend(min(state.requests_reset_s, self.requests.refill_s(1)))
        if state.input_tokens_remaining == 0 and state.input_tokens_reset_s and self.tokens:
            wait = self.tokens.refill_s(self._last_estimate)
            self.pause.extend(min(state.input_tokens_reset_s, wait))


class RateLimiter:
    """Every model's limits, created on first use from the settings or the model table."""

    def __init__(self, rpm: int | None = None, input_tpm: int | None = None) -> None:
        self._rpm = rpm
        self._input_tpm = input_tpm
        self._models: dict[str, ModelLimits] = {}

    def for_model(self, model: ModelInfo) -> ModelLimits:
        limits = self._models.get(model.id)
        if limits is None:
            limits = ModelLimits(self._rpm or model.rpm, self._input_tpm or model.input_tpm)
            self._models[model.id] = limits
        return limits
