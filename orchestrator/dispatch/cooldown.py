"""A shared cool-down: one 429 pauses every worker, not only the one that got it.

Rate limits are per organisation and model, so when one request is told to
wait, the others would be refused too; letting them fire anyway only earns
more 429s (and, on the real API, can lengthen the penalty).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class CoolDown:
    """A point in time before which no worker starts a call."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def extend(self, seconds: float) -> None:
        """Nobody starts a call in the next ``seconds`` (never shortens a longer pause)."""
        self._until = max(self._until, self._clock() + max(0.0, seconds))

    @property
    def remaining(self) -> float:
        return max(0.0, self._until - self._clock())

    async def wait(self) -> float:
        """Sleep until the pause is over (it may grow meanwhile); return the seconds slept."""
        slept = 0.0
        while (left := self.remaining) > 0:
            await asyncio.sleep(left)
            slept += left
        return slept
