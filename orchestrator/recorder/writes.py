"""Read, change, write back: the loop behind every recorder write.

The file is read fresh, the change is computed from that text, and the
result replaces the file only if it still holds that text
(:func:`~orchestrator.recorder.atomic.replace_if_unchanged`); if someone
saved meanwhile, the loop reads their version and computes the change again.
So a concurrent edit is merged, never overwritten, and the change itself is
never applied to stale text.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import InputFileError, RecordError
from orchestrator.recorder.atomic import replace_if_unchanged
from orchestrator.safeio import PLAN, Kind, read_bytes

#: How many times one write re-applies its change to a file that keeps changing under it.
MAX_ATTEMPTS = 40
#: Longest pause between two attempts. Attempts back off (with jitter) so that a
#: writer that saves in a tight loop cannot starve the recorder for long.
MAX_PAUSE_S = 0.1
_MISSING_HINT = "it was moved or deleted during the run: put it back (or pass its new path) and run again"


@dataclass(frozen=True)
class Written:
    """What one :func:`rewrite` put on disk (no write when the text was already right)."""

    writes: int = 0
    bytes: int = 0


def rewrite(path: Path, change: Callable[[str | None], str], *, create: bool = False, kind: Kind = PLAN) -> Written:
    """Replace the text of ``path`` with ``change(text)`` (``text=None``: no file, if ``create``).

    ``change`` may run several times, each on newer text; the result of its
    last run is what was written. ``kind`` bounds the read (see :mod:`orchestrator.safeio`).
    """
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(min(MAX_PAUSE_S, 0.001 * 2**attempt) * random.uniform(0.5, 1.0))
        base = read_optional(path, kind)
        if base is None and not create:
            raise RecordError("the file to record into is missing", path=path, hint=_MISSING_HINT)
        new = change(None if base is None else decode(base, path)).encode("utf-8")
        if new == base:
            return Written()
        try:
            done = replace_if_unchanged(path, new, base)
        except OSError as exc:
            raise RecordError(
                f"cannot write: {exc.strerror or exc}", path=path,
                hint="the recorder writes a temporary file beside it and renames it: check that you may "
                "write to its folder and that the disk is not full; the changes stay queued",
            ) from exc
        if done:
            return Written(1, len(new))
    raise RecordError(
        f"the file kept changing while recording ({MAX_ATTEMPTS} attempts)",
        path=path,
        hint="the changes stay queued; they are written on the next flush",
    )


def read_text(path: Path, kind: Kind = PLAN) -> str:
    data = read_optional(path, kind)
    if data is None:
        raise RecordError("the file to record into is missing", path=path, hint=_MISSING_HINT)
    return decode(data, path)


def read_optional(path: Path, kind: Kind = PLAN) -> bytes | None:
    """The file's bytes, or None when it does not exist; a :class:`RecordError` (exit 1) if unusable.

    Read through :mod:`orchestrator.safeio`: a FIFO or device never hangs
    the recorder, and an oversized file is refused with its limit.
    """
    try:
        return read_bytes(path, kind)
    except FileNotFoundError:
        return None
    except InputFileError as exc:  # outputs may already be written: work that failed, not bad input
        raise RecordError(exc.message, path=path, hint=exc.hint) from None
    except OSError as exc:
        raise RecordError(f"cannot read: {exc.strerror or exc}", path=path,
                          hint="check the file's permissions (`ls -l`)") from exc


def decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError("the file is not valid UTF-8", path=path, hint="save it as UTF-8") from None
