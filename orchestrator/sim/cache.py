"""The prompt cache: which part of a request's input is written, read, or neither.

A content block with ``cache_control`` ends a cacheable prefix (everything up
to and including it). A prefix shorter than ``min_tokens`` is never cached and
raises no error, as with the real API. The longest marked prefix already in the
cache (same model, same text, not expired) is *read*; if the last marked prefix
is longer, the extra part is *written*, and every marked prefix becomes an
entry (a later request sharing only the first of them reads it). A read
refreshes the entry's lifetime.

As with the real API, a read also looks back up to :data:`LOOKBACK` blocks
before each marked block for a prefix cached earlier: an agent's conversation
moves its mark to the newest message on every turn, and the previous turn's
prefix (written at the old mark) is read.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from orchestrator.sim.tokens import Segment

_TTL_1H = 3600.0
#: Blocks before a marked block whose prefixes are also checked for a cache hit.
LOOKBACK = 20


@dataclass(frozen=True)
class CacheUsage:
    """How a request's input tokens split between fresh, written and read."""

    input_tokens: int
    creation_5m: int = 0
    creation_1h: int = 0
    read: int = 0

    @property
    def creation(self) -> int:
        return self.creation_5m + self.creation_1h


@dataclass(frozen=True)
class _Breakpoint:
    key: tuple[str, str]
    tokens: int
    ttl: str | None  # None: an unmarked block (only read through the lookback)
    index: int


class PromptCache:
    """Thread-safe cache of prefix hashes, keyed by model."""

    def __init__(
        self,
        min_tokens: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._min = min_tokens
        self._ttl_5m = ttl_s
        self._clock = clock
        self._expiry: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def peek(self, model: str, segs: Sequence[Segment]) -> CacheUsage:
        """The split this request would get now, without changing the cache."""
        with self._lock:
            return self._split(model, segs, commit=False)

    def use(self, model: str, segs: Sequence[Segment]) -> CacheUsage:
        """The split this request gets, recording writes and refreshing reads."""
        with self._lock:
            return self._split(model, segs, commit=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._expiry)

    def _split(self, model: str, segs: Sequence[Segment], *, commit: bool) -> CacheUsage:
        total = sum(s.tokens for s in segs)
        prefixes = _breakpoints(model, segs)
        points = [p for p in prefixes if p.ttl is not None and p.tokens >= self._min]
        if not points:
            return CacheUsage(input_tokens=total)
        now = self._clock()
        readable = [p for p in prefixes if any(0 <= m.index - p.index <= LOOKBACK for m in points)]
        hit = next((p for p in reversed(readable) if self._expiry.get(p.key, 0.0) > now), None)
        read = hit.tokens if hit else 0
        last = points[-1]
        written = last.tokens - read
        if commit:
            if len(self._expiry) > 10_000:
                self._expiry = {k: t for k, t in self._expiry.items() if t > now}
            for p in (*points, hit):  # every marked prefix is an entry of its own, as in the API
                if p is None:
                    continue
                ttl = _TTL_1H if p.ttl == "1h" else self._ttl_5m
                self._expiry[p.key] = max(self._expiry.get(p.key, 0.0), now + ttl)
        if written <= 0:
            return CacheUsage(input_tokens=total - read, read=read)
        if last.ttl == "1h":
            return CacheUsage(input_tokens=total - last.tokens, creation_1h=written, read=read)
        return CacheUsage(input_tokens=total - last.tokens, creation_5m=written, read=read)


def _breakpoints(model: str, segs: Sequence[Segment]) -> list[_Breakpoint]:
    """One per block: the hash and token count of its prefix (``ttl`` set on marked blocks)."""
    digest = hashlib.sha256()
    tokens = 0
    out: list[_Breakpoint] = []
    for index, seg in enumerate(segs):
        digest.update(f"{seg.role}\x00{seg.tokens}\x00".encode())
        digest.update(seg.text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x01")
        tokens += seg.tokens
        out.append(_Breakpoint((model, digest.copy().hexdigest()), tokens, seg.cache_ttl, index))
    return out
