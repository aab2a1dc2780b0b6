"""Record a run's results in the user's own files without losing a byte of theirs.

``Recorder`` sets Status cells in the plan, registers outputs in the tracking
file and keeps the plan's ``## Run Notes`` section, under the plan's lock,
with coalesced crash-safe writes. See ``docs/recorder.md``.
"""

from __future__ import annotations

from orchestrator.recorder.atomic import atomic_write, replace_if_unchanged
from orchestrator.recorder.cells import set_statuses
from orchestrator.recorder.lock import PlanLock
from orchestrator.recorder.recorder import Recorder, RecordReport
from orchestrator.recorder.tracking import TrackingEntry

__all__ = [
    "PlanLock",
    "RecordReport",
    "Recorder",
    "TrackingEntry",
    "atomic_write",
    "replace_if_unchanged",
    "set_statuses",
]
