"""Bounded, safe reading of the files a user names: the one way they are read.

A plan, a format reference, an output, a tracking file or a model table may be
anything a path can name. Reading a FIFO waits forever, ``/dev/zero`` never
ends, a 50 MB reference is sent with every request. So :func:`read_bytes`:

1. ``os.stat``s the path first (following symlinks, as ``open`` would) and
   refuses anything that is not a regular file before opening it: a named
   pipe, a character or block device, a socket. A symlink loop or a
   permission error becomes a located :class:`~orchestrator.errors.InputFileError`
   instead of a traceback;
2. refuses a file larger than its kind's limit, naming the size and the limit
   (and, for the kinds parsed as markdown, one with more lines than its line
   limit: markdown-it spends up to about 0.15 ms and 2 KiB per list item, so
   8 MiB of ``- x`` lines would take ten minutes and 4 GB);
3. opens it non-blocking (so a file swapped for a FIFO after the ``stat``
   cannot hang the open), checks the open descriptor again with ``fstat``,
   and reads at most the limit plus one byte, so a file that grows while it
   is read cannot exhaust memory either.

A missing file and a folder are passed through as :class:`FileNotFoundError`
and :class:`IsADirectoryError`, exactly as :meth:`pathlib.Path.read_bytes`
raises them, because each caller words those for its own context (the plan's
"create one with ``orchestrate init``", the reference's plan line).

Each kind's limits can be changed with environment variables
(``ORCHESTRATE_MAX_<KIND>_BYTES``, in bytes or with a ``K``/``M``/``G``
suffix, and ``ORCHESTRATE_MAX_<KIND>_LINES``); docs/reliability.md lists them.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import ConfigError, InputFileError

KIB = 1024
MIB = 1024 * KIB

#: Every value :attr:`InputFileError.reason` takes.
REASONS = ("not_regular", "too_large", "symlink_loop", "permission", "unreadable")


@dataclass(frozen=True)
class Kind:
    """A kind of input file: what to call it, its default size limit, and why that limit."""

    name: str  # also the environment variable's infix
    label: str  # in messages: "format reference"
    default_limit: int  # bytes
    why: str  # the first half of the too-large hint
    default_lines: int | None = None  # for kinds parsed as markdown

    @property
    def env(self) -> str:
        return f"ORCHESTRATE_MAX_{self.name.upper()}_BYTES"

    @property
    def lines_env(self) -> str:
        return f"ORCHESTRATE_MAX_{self.name.upper()}_LINES"

    def limit(self) -> int:
        """The byte limit in force: the environment variable's value, else the default."""
        raw = os.environ.get(self.env, "").strip()
        return parse_size(raw, self.env) if raw else self.default_limit

    def line_limit(self) -> int | None:
        """The line limit in force, or None for a kind without one."""
        raw = os.environ.get(self.lines_env, "").strip()
        if not raw or self.default_lines is None:
            return self.default_lines
        if not raw.isdigit() or int(raw) == 0:
            raise ConfigError(f"{self.lines_env}={raw!r} is not a number of lines",
                              hint=f"give a positive whole number (e.g. {self.lines_env}={self.default_lines}), "
                              "or unset it")
        return int(raw)


PLAN = Kind("plan", "plan file", 8 * MIB,
            "a plan is a table of rows (10,000 rows are about 500 KiB; markdown-it needs about 7 KiB and 0.1 ms "
            "per table row): split a larger one into several plans", 50_000)
REFERENCE = Kind("reference", "format reference", 1 * MIB,
                 "the format reference is sent with every request, so it must fit the model's context window "
                 "(200,000 tokens are about 800 KiB): use a shorter hand-written example", 20_000)
OUTPUT = Kind("output", "output file", 1 * MIB,
              "an output is one generated document (8,192 output tokens are about 32 KiB)", 20_000)
TRACKING = Kind("tracking", "tracking file", 16 * MIB,
                "the tracking file is rewritten on every recording: archive old entries to another file")
CONFIG = Kind("config", "configuration file", 1 * MIB, "a model table is a few KiB of TOML")
CHECKPOINT = Kind("checkpoint", "batch file", 256 * MIB,
                  "a batch folder's files are the tool's own (the ledger holds every paid response): "
                  "clean the stage that wrote it, or raise the limit")
#: Every kind, for docs and tests.
KINDS = (PLAN, REFERENCE, OUTPUT, TRACKING, CONFIG, CHECKPOINT)

_SIZE_RE = re.compile(r"^(\d+)\s*([kmg]?)(?:i?b)?$", re.IGNORECASE)
_UNITS = {"": 1, "k": KIB, "m": MIB, "g": 1024 * MIB}
_CHUNK = 1 << 16
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def parse_size(text: str, variable: str) -> int:
    """``"2M"`` -> 2097152; a :class:`ConfigError` naming ``variable`` if it is not a size."""
    match = _SIZE_RE.match(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise ConfigError(
            f"{variable}={text!r} is not a size",
            hint=f"give a positive number of bytes, optionally with K, M or G (e.g. {variable}=8M), or unset it",
        )
    return int(match.group(1)) * _UNITS[match.group(2).lower()]


def human_size(size: int) -> str:
    """``52428800`` -> ``"50.0 MiB"``; whole units without a decimal (``"2 MiB"``)."""
    for unit, factor in (("GiB", 1024 * MIB), ("MiB", MIB), ("KiB", KIB)):
        if size >= factor:
            value = size / factor
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def read_bytes(path: Path | str, kind: Kind) -> bytes:
    """The whole content of the regular file at ``path``, at most ``kind``'s limit.

    Raises :class:`InputFileError` (exit 2) for anything it refuses, and
    :class:`FileNotFoundError`, :class:`NotADirectoryError` or
    :class:`IsADirectoryError` as ``Path.read_bytes`` would.
    """
    path = Path(path)
    limit = kind.limit()
    _require_regular(path, _stat(path, kind), kind, limit)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise
    except OSError as exc:
        raise _os_error(path, kind, exc) from None
    try:
        _require_regular(path, os.fstat(fd), kind, limit)  # the path may have been swapped since the stat
        data = _read_at_most(fd, limit + 1)
    except OSError as exc:
        raise _os_error(path, kind, exc) from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise _too_large(path, kind, len(data), limit, grew=True)
    _require_few_lines(path, data, kind)
    return data


def _require_few_lines(path: Path, data: bytes, kind: Kind) -> None:
    limit = kind.line_limit()
    if limit is None:
        return
    lines = max(data.count(b"\n"), data.count(b"\r"))  # CR-only files end lines too
    if lines > limit:
        raise InputFileError(
            f"{kind.label} has {lines:,} lines, over the {limit:,}-line limit for a {kind.label}",
            path=path,
            reason="too_large",
            hint=f"{kind.why}; or raise the limit with {kind.lines_env}",
        )


def check_readable(path: Path | str, kind: Kind) -> None:
    """Everything :func:`read_bytes` would refuse before reading, without reading (for ``check``).

    A missing file passes (the caller decides whether that is a problem).
    """
    path = Path(path)
    try:
        info = _stat(path, kind)
    except (FileNotFoundError, NotADirectoryError):
        return
    _require_regular(path, info, kind, kind.limit())
    if not os.access(path, os.R_OK):
        raise InputFileError(f"cannot read {kind.label}: permission denied", path=path, reason="permission",
                             hint=_PERMISSION_HINT)


def _stat(path: Path, kind: Kind) -> os.stat_result:
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise
    except OSError as exc:
        raise _os_error(path, kind, exc) from None
    except ValueError:  # an embedded NUL byte
        raise InputFileError(f"the {kind.label}'s path contains a NUL byte", path=repr(str(path)),
                             reason="unreadable", hint="remove the control character from the path") from None


def _require_regular(path: Path, info: os.stat_result, kind: Kind, limit: int) -> None:
    mode = info.st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    if not stat.S_ISREG(mode):
        raise InputFileError(
            f"{kind.label} is {_special(mode)}, not a regular file",
            path=path,
            reason="not_regular",
            hint="name an ordinary file: reading a pipe, device or socket could wait, or run, forever",
        )
    if info.st_size > limit:
        raise _too_large(path, kind, info.st_size, limit)


def _special(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def _too_large(path: Path, kind: Kind, size: int, limit: int, *, grew: bool = False) -> InputFileError:
    measured = f"grew past {human_size(limit)} while being read" if grew else f"is {human_size(size)} ({size:,} bytes)"
    return InputFileError(
        f"{kind.label} {measured}, over the {human_size(limit)} limit for a {kind.label}",
        path=path,
        reason="too_large",
        hint=f"{kind.why}; or raise the limit with {kind.env} (bytes, or with K, M or G)",
    )


_PERMISSION_HINT = "check the file's permissions (`ls -l`), or run as a user who may read it"


def _os_error(path: Path, kind: Kind, exc: OSError) -> InputFileError:
    if exc.errno == errno.ELOOP:
        return InputFileError(
            f"{kind.label} is a symlink loop (too many levels of symbolic links)",
            path=path,
            reason="symlink_loop",
            hint="a link in this path points back at itself: `ls -l` each part of the path and fix the link",
        )
    if isinstance(exc, PermissionError):
        return InputFileError(f"cannot read {kind.label}: permission denied", path=path, reason="permission",
                              hint=_PERMISSION_HINT)
    return InputFileError(f"cannot read {kind.label}: {exc.strerror or exc}", path=path, reason="unreadable",
                          hint="check the path and that the disk or network share is reachable")


def _read_at_most(fd: int, count: int) -> bytes:
    """Read until EOF or until at least ``count`` bytes, in whole chunks (so at most ``count + _CHUNK``).

    Whole chunks, not an odd remainder, because some kernel files refuse reads
    of odd sizes (``/proc/self/pagemap`` wants multiples of 8).
    """
    chunks: list[bytes] = []
    total = 0
    while total < count:
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)
