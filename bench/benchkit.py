"""What the benchmarks share: the simulator started in its own process.

The scripts run as ``python bench/NAME.py``, so this folder is on the import path.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def simulator(config: str) -> Iterator[str]:
    """``python -m orchestrator.sim`` with ``ORCHESTRATE_SIM=config``; yields its URL."""
    env = {**os.environ, "ORCHESTRATE_SIM": config}
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.sim"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the simulator did not start (said {url!r})")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
