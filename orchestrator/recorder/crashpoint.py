"""Kill this process at a named instant: the crash campaign's instrument (tests only).

``ORCHESTRATE_CRASH_AT=NAME:N`` (several, comma-separated) makes the N-th
time this process reaches point ``NAME`` end in ``SIGKILL``, so a test can
die exactly where a crash costs most, not only at random instants:

* ``temp``: a temporary file was just created (empty) beside its target;
* ``staged``: its content is written, before the rename;
* ``replaced``: a file was just given its new content by rename;
* ``plan``: the plan was just replaced by the recorder's compare-and-swap;
* ``journal``: ledger lines were just written, before their group's fsync;
* ``ledger``: ledger lines were just appended and fsynced, before the
  response counts as received.

Unset (always, outside tests), :func:`reached` is one dictionary lookup.
"""

from __future__ import annotations

import functools
import os
import signal
import threading

VARIABLE = "ORCHESTRATE_CRASH_AT"
POINTS = ("temp", "staged", "replaced", "plan", "journal", "ledger")

_counts: dict[str, int] = {}
_lock = threading.Lock()


@functools.cache
def targets() -> dict[str, int]:
    """The points and counts ``ORCHESTRATE_CRASH_AT`` names (``ValueError`` when it is malformed)."""
    value = os.environ.get(VARIABLE, "")
    found: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, count = item.partition(":")
        if name not in POINTS or not count.isdigit() or int(count) < 1:
            raise ValueError(f"{VARIABLE}: expected NAME:N with NAME one of {', '.join(POINTS)}, got {item!r}")
        found[name] = int(count)
    return found


def reached(name: str) -> None:
    """Count one pass through point ``name``; SIGKILL this process when the target count is hit."""
    wanted = targets()
    if not wanted or name not in wanted:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        hit = _counts[name] == wanted[name]
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)
