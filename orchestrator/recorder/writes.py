"""Read, change, write back: the loop behind every recorder write.

The file is read fresh, the change is computed from that text, and the
result replaces the file only if it still holds that text
(:func:`~orchestrator.recorder.atomic.replace_if_unchanged`); if someone
saved meanwhile, the loop reads their version and computes the change again.
So a concurrent edit is merged, never overwritten, and the change itself is
never applied to stale text.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from orchestrator.errors import BadInputError, InputFileError, RecordError
from orchestrator.recorder.atomic import replace_if_unchanged
from orchestrator.safeio import PLAN, Kind, read_bytes

T = TypeVar("T")

#: How many times one write re-applies its change to a file that keeps changing under it.
MAX_ATTEMPTS = 40
#: Longest pause between two attempts. Attempts back off (with jitter) so that a
#: writer that saves in a tight loop cannot starve the recorder for long.
MAX_PAUSE_S = 0.1
QUEUED_HINT = "the changes stay queued; they are written on the next flush"
_MISSING_HINT = "it was moved or deleted during the run: put it back (or pass its new path) and run again"


class Unsettled(Exception):
    """Raised by a change whose input looks like a save caught half done: read the file again.

    An editor saving in place truncates the file and then writes it, so a
    read can return nothing, or a beginning. A change that would act on such
    text (rows it cannot find, most of the file gone) raises this instead;
    :func:`rewrite` reads again after a pause, and the change accepts the
    same text once it reads it again a while later (it was no save in
    progress; see :data:`orchestrator.recorder.recorder.SETTLED_AFTER_S`).
    """


@dataclass(frozen=True)
class Written:
    """What one :func:`rewrite` put on disk (no write when the text was already right)."""

    writes: int = 0
    bytes: int = 0


def rewrite(path: Path, change: Callable[[str | None], str], *, create: bool = False, kind: Kind = PLAN) -> Written:
    """Replace the text of ``path`` with ``change(text)`` (``text=None``: no file, if ``create``).

    ``change`` may run several times, each on newer text; the result of its
    last run is what was written. It may raise :class:`Unsettled` to have the
    file read again. ``kind`` bounds the read (see :mod:`orchestrator.safeio`).
    """
    for attempt in range(MAX_ATTEMPTS):
        if attempt:
            time.sleep(min(MAX_PAUSE_S, 0.001 * 2**attempt) * random.uniform(0.5, 1.0))
        base = read_optional(path, kind)
        if base is None and not create:
            raise RecordError("the file to record into is missing", path=path, hint=_MISSING_HINT)
        try:
            new = change(None if base is None else decode(base, path)).encode("utf-8")
        except Unsettled:
            continue
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
        hint=QUEUED_HINT,
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


#: How long :func:`load_settled` keeps reading a file that is being saved before it believes a refusal.
SETTLE_PATIENCE_S = 2.0


def load_settled(path: Path, load: Callable[[Path], T], *, patience: float = SETTLE_PATIENCE_S) -> T:
    """``load(path)``, read again while a refusal may come from a save caught half done.

    A plan saved in place is empty, then partly written, for an instant: a
    command that reads it then must not report bad input (exit 2) mid-run, or
    even at its start. When ``load`` raises :class:`~orchestrator.errors.BadInputError`
    and the file is not as it was read (size, time or inode, 20 ms later),
    it is read again, for up to ``patience`` seconds; the refusal of a file
    that stood still is raised (20 ms later).
    """
    deadline = time.monotonic() + patience
    while True:
        before = _identity(path)
        try:
            return load(path)
        except BadInputError:
            time.sleep(0.02)  # a save in progress ends within that: then the file is not as it was read
            if _identity(path) == before or time.monotonic() >= deadline:
                raise


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
