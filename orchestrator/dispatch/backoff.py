"""How long to wait before retrying a failed call.

Exponential backoff with jitter (so workers that failed together do not retry
together), but when the API said how long to wait (``retry-after-ms`` /
``retry-after``, carried as ``ProviderError.retry_after``) that wait is
honoured: retrying earlier would only be refused again. Both are capped.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

Jitter = Literal["full", "equal"]


@dataclass
class Backoff:
    """Delays for attempt 1, 2, 3, ...: ``base * 2**(n-1)`` capped at ``max_s``, jittered."""

    base_s: float = 0.5
    max_s: float = 30.0
    jitter: Jitter = "full"
    #: the longest server-requested wait we honour (longer ones are clipped to this)
    retry_after_max_s: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def exponential(self, attempt: int) -> float:
        """The un-jittered delay of the ``attempt``-th retry (1-based), capped."""
        return min(self.max_s, self.base_s * 2.0 ** max(0, attempt - 1))

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``attempt``.

        Full jitter draws from ``[0, d]``; equal jitter from ``[d/2, d]``. A
        server's ``retry_after`` is a floor: we never retry before it.
        """
        ceiling = self.exponential(attempt)
        if self.jitter == "full":
            wait = self.rng.uniform(0.0, ceiling)
        else:
            wait = ceiling / 2 + self.rng.uniform(0.0, ceiling / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.retry_after_max_s))
        return wait
