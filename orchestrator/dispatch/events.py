"""Progress events: what the dispatcher tells the progress UI, as it happens.

One small frozen record for every kind, so a UI can switch on ``kind`` and
read the few fields that kind sets. Events are informational: nothing the
dispatcher does depends on how a hook handles them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from orchestrator.models import Usage

EventKind = Literal[
    "started",  # a job was taken from the queue
    "response",  # a call returned (usage and cost set; before validation)
    "retry",  # a call failed and will be retried after ``delay_s`` (``reason`` says why)
    "repaired",  # a draft failed; a repair turn is being sent (``message`` lists failures)
    "finished",  # a job ended (``ok`` set; ``message`` is the error or first failure)
    "fatal",  # a fatal provider error: no new calls (``message`` is the error)
    "cost_limit",  # spend reached ``max_cost``: no new calls
    "interrupted",  # the stop event was set: no new calls, in-flight ones get ``grace_s``
    "environment",  # a check cannot run on this machine: no repair, no new calls
]


@dataclass(frozen=True)
class DispatchEvent:
    """One thing that happened; ``key``/``row_id`` are None for run-wide events."""

    kind: EventKind
    key: str | None = None
    row_id: str | None = None
    attempt: int = 0
    reason: str | None = None
    delay_s: float | None = None
    ok: bool | None = None
    message: str | None = None
    usage: Usage | None = None
    cost_usd: float = 0.0
    #: total spend so far, including ``spent_before``
    spent_usd: float = 0.0
    at: float = field(default_factory=time.monotonic)
