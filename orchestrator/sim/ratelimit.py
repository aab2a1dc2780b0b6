"""Rate limits as continuously refilling token buckets.

Each limit per minute (requests, input tokens, output tokens) is a bucket that
refills at ``limit / 60`` per second up to a burst capacity of
``max(1, limit // 60)``: one second's worth. So a client that pushes as hard as
it can achieves the configured rate within a second or two, which keeps
benchmarks short, instead of the minute a sliding 60 s window would need.

A request that costs more than the capacity is let through once the bucket is
full, leaving the bucket in debt; the average rate still holds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BucketState:
    """A bucket as the rate-limit headers describe it."""

    limit: int  # the per-minute limit
    remaining: int  # what may be spent right now
    reset_s: float  # seconds until the bucket is full again


class TokenBucket:
    """One per-minute limit. Not locked: :class:`RateLimiter` locks around it."""

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self.limit = per_minute
        self.rate = per_minute / 60.0
        self.capacity = float(max(1, per_minute // 60))
        self._clock = clock
        self._level = self.capacity
        self._stamp = clock()

    def _refill(self) -> float:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now
        return self._level

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` could be taken (0 when it can be taken now)."""
        need = min(amount, self.capacity)
        level = self._refill()
        return 0.0 if level >= need else (need - level) / self.rate

    def take(self, amount: float) -> None:
        self._refill()
        self._level -= amount

    def state(self) -> BucketState:
        level = self._refill()
        reset = max(0.0, (self.capacity - level) / self.rate)
        return BucketState(self.limit, max(0, math.floor(level)), reset)


@dataclass(frozen=True)
class Decision:
    """Whether a request may go ahead and, if not, how long to wait."""

    allowed: bool
    retry_after_s: float
    states: dict[str, BucketState]  # keyed "requests", "input-tokens", "output-tokens"
    blocked: tuple[str, ...] = ()  # the buckets that refused


class RateLimiter:
    """The requests, input-token and output-token buckets of one server (0 = unlimited).

    Input tokens are charged when a request is admitted; output tokens only
    once they are known (:meth:`charge_output`), so an output limit refuses the
    *next* request after the budget is spent, as the real API does.
    """

    def __init__(
        self,
        rpm: int,
        itpm: int,
        otpm: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {
            name: TokenBucket(limit, clock)
            for name, limit in (("requests", rpm), ("input-tokens", itpm), ("output-tokens", otpm))
            if limit > 0
        }

    @property
    def enabled(self) -> bool:
        return bool(self._buckets)

    def admit(self, input_tokens: int) -> Decision:
        """Take one request and its input tokens, or refuse with the wait needed."""
        costs = {"requests": 1.0, "input-tokens": float(input_tokens), "output-tokens": 1.0}
        with self._lock:
            waits = {name: b.wait_for(costs[name]) for name, b in self._buckets.items()}
            wait = max(waits.values(), default=0.0)
            if wait <= 0.0:
                for name, bucket in self._buckets.items():
                    if name != "output-tokens":
                        bucket.take(costs[name])
            blocked = tuple(name for name, w in waits.items() if w > 0.0)
            return Decision(wait <= 0.0, wait, self._states(), blocked)

    def charge_output(self, output_tokens: int) -> None:
        with self._lock:
            bucket = self._buckets.get("output-tokens")
            if bucket is not None:
                bucket.take(output_tokens)

    def states(self) -> dict[str, BucketState]:
        with self._lock:
            return self._states()

    def _states(self) -> dict[str, BucketState]:
        return {name: b.state() for name, b in self._buckets.items()}
