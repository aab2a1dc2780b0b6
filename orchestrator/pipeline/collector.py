"""Python's cyclic garbage collector in a command, and while PROCESS dispatches.

The SDK allocates thousands of short-lived objects per call, so the
collector runs hundreds of times a run; each full collection walks every
object the command holds (the plan, every item's state and request), which
grows with the batch: 0.25 s of a 1,000-row dispatch and 2.7 s of a
5,000-row one, all of it on the event loop. :func:`quiet` moves what exists
before the calls out of the collector's reach (:func:`gc.freeze`) and lets
the youngest generation grow larger between collections; both are undone
when dispatch ends, so a process that runs several commands (the tests) keeps
collecting as usual. The ``orchestrate`` executable, which runs one command
and exits, collects the young generation that rarely from its start
(:func:`for_command`): importing the SDK alone triggers hundreds of
collections.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: allocations between collections of the youngest generation while dispatching (Python's default is 700)
YOUNG_THRESHOLD = 10_000


def for_command() -> None:
    """Collect the youngest generation at most every :data:`YOUNG_THRESHOLD` allocations (from now on)."""
    threshold = gc.get_threshold()
    gc.set_threshold(max(threshold[0], YOUNG_THRESHOLD), *threshold[1:])


@contextmanager
def quiet() -> Iterator[None]:
    """Freeze the objects that exist now and collect the young ones less often, until the block ends."""
    threshold = gc.get_threshold()
    gc.freeze()
    for_command()
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()
