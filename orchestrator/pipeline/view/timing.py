"""Where a command's time went, stage by stage: ``ORCHESTRATE_TIMINGS=1`` prints it to stderr.

For benchmarks and for a user who wants to know why a run took as long as
it did; off by default, and costs two clock reads per stage when on.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Timings:
    started: float = field(default_factory=time.perf_counter)
    spans: list[tuple[str, float]] = field(default_factory=list)
    enabled: bool = field(default_factory=lambda: os.environ.get("ORCHESTRATE_TIMINGS") == "1")

    @contextmanager
    def span(self, name: str) -> Iterator[None]:
        begun = time.perf_counter()
        try:
            yield
        finally:
            self.spans.append((name, time.perf_counter() - begun))

    def report(self) -> None:
        if not self.enabled:
            return
        total = time.perf_counter() - self.started
        parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.spans)
        print(f"timings: {parts}; command {total:.2f} s", file=sys.stderr, flush=True)
