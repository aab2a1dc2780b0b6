"""Named points where a test may kill the process, to prove a rerun recovers from there.

``ORCHESTRATE_BATCH_CRASH_AT=after_post`` makes the process SIGKILL itself the
moment it reaches that point (no cleanup, no ``finally``: as a power cut or
``kill -9`` would). Unset, each point costs one dictionary lookup.

Points: ``after_intent`` (intent written, before the POST), ``after_post``
(the batch exists, its id not yet written), ``polling`` (after the first
poll), ``collecting`` (after the first results were recorded).
"""

from __future__ import annotations

import os
import signal

CRASH_VARIABLE = "ORCHESTRATE_BATCH_CRASH_AT"


def crash_point(name: str) -> None:
    """Kill this process now if ``ORCHESTRATE_BATCH_CRASH_AT`` names ``name``."""
    if os.environ.get(CRASH_VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
