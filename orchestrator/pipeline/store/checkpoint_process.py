"""The checkpoint process: a small program that writes a command's checkpoints and outputs.

:class:`~orchestrator.pipeline.store.checkpoint_helper.CheckpointHelper`
starts it as ``python -I -S checkpoint_process.py PARENT_PID`` and streams it
frames on standard input; it needs only the standard library, so it starts
in milliseconds and never imports the package.

Why a process and not the writer thread: a checkpoint costs a handful of
system calls (make a temporary file, write it, rename it), and in a thread
each of them gives the GIL up and must take it back from the event loop that
reads responses. Creating files is slow on many file systems (a third of a
millisecond each is common), so 6,000 of them held until the end of a
1,000-row run added seconds to it. Here they run on the other core while the
calls are in flight, and the command only hands over bytes.

A frame is :data:`HEADER` (kind, then the lengths of three fields) followed
by the fields: the target path, the temporary path beside it (named by the
parent as :func:`orchestrator.recorder.atomic.temp_path` names its own, so a
killed run's leftovers are found and removed the same way), and the content.

* :data:`REPLACE`: write the content to the temporary file, then rename it
  over the target (no ``fsync``: checkpoints can be derived again, outputs
  are made durable by one ``syncfs`` before the plan names them, and after a
  crash each file is old or new);
* :data:`REMOVE`: remove the target if it exists;
* :data:`BARRIER`: answer :data:`DONE` once everything before it is done.

It answers :data:`READY` first, once it runs and knows it dies with its parent.

A failure is answered :data:`FAILED` and a one-line reason, after which the
process ends. It ends when standard input does (a frame cut short by a
killed parent is dropped whole), and on Linux it is killed with its parent,
so it never writes after the command is gone (a rerun may already run).

``ORCHESTRATE_CRASH_AT`` (tests only, see
:mod:`orchestrator.recorder.crashpoint`) is honoured for ``temp``,
``staged`` and ``replaced``: reaching one kills the parent, then this
process, as killing the command at that instant would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import sys
from collections.abc import Callable
from typing import BinaryIO

_Path = str | bytes | os.PathLike[str]

HEADER = struct.Struct("<cIII")
REPLACE = b"R"
REMOVE = b"D"
BARRIER = b"B"
DONE = b"A"
FAILED = b"E"
READY = b"+"  # the first answer: the process runs (else the writer thread writes the checkpoints itself)

_PR_SET_PDEATHSIG = 1
_CRASH_VARIABLE = "ORCHESTRATE_CRASH_AT"  # orchestrator.recorder.crashpoint.VARIABLE (not imported: stdlib only)


class _Crash:
    """The crash instants this process counts (the parent has validated the variable)."""

    def __init__(self, value: str, parent: int) -> None:
        self.parent = parent
        self.targets: dict[str, int] = {}
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, _, count = item.partition(":")
            self.targets[name] = int(count)
        self.counts: dict[str, int] = {}

    def reached(self, name: str) -> None:
        if name not in self.targets:
            return
        self.counts[name] = self.counts.get(name, 0) + 1
        if self.counts[name] == self.targets[name]:
            os.kill(self.parent, signal.SIGKILL)
            os.kill(os.getpid(), signal.SIGKILL)


def _die_with(parent: int) -> None:
    """Be killed when the parent is (Linux); end now if it is already gone."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        raise SystemExit(0)


def _replace(target: bytes, temp: bytes, data: bytes, folders: set[bytes], crash: _Crash) -> None:
    folder = os.path.dirname(target)
    if folder not in folders:
        os.makedirs(folder, exist_ok=True)
        folders.add(folder)
    write_staged(target, temp, data, crash.reached)


def write_staged(target: _Path, temp: _Path, data: bytes, reached: Callable[[str], None]) -> None:
    """``data`` into the new file ``temp``, then renamed over ``target``: old or new, the fewest calls.

    No ``fsync`` and no mode or symlink kept: for the tool's own files (the
    writer thread's derived files use it too). ``reached`` names the crash
    instants (``temp``, ``staged``, ``replaced``).
    """
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        reached("temp")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        reached("staged")
    except BaseException:
        os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    os.close(fd)
    os.replace(temp, target)
    reached("replaced")


def serve(source: BinaryIO, answers: BinaryIO, crash: _Crash) -> int:
    """Apply frames from ``source`` until it ends; the exit status."""
    folders: set[bytes] = set()
    while True:
        header = source.read(HEADER.size)
        if len(header) < HEADER.size:
            return 0
        kind, *sizes = HEADER.unpack(header)
        fields = [source.read(size) for size in sizes]
        if any(len(field) < size for field, size in zip(fields, sizes, strict=True)):
            return 0  # the parent was killed mid-frame: nothing of it is applied
        target, temp, data = fields
        try:
            if kind == REPLACE:
                _replace(target, temp, data, folders, crash)
            elif kind == REMOVE:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(target)
            elif kind == BARRIER:
                answers.write(DONE)
                answers.flush()
            else:
                raise ValueError(f"unknown frame kind {kind!r}")
        except (OSError, ValueError) as exc:
            where = os.fsdecode(target) if target else "a frame"
            answers.write(FAILED + f"{where}: {exc}".replace("\n", " ").encode("utf-8", "replace") + b"\n")
            answers.flush()
            return 1


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the command's to handle; it drains this process
    parent = int(argv[1])
    _die_with(parent)
    sys.stdout.buffer.write(READY)
    sys.stdout.buffer.flush()
    return serve(sys.stdin.buffer, sys.stdout.buffer, _Crash(os.environ.get(_CRASH_VARIABLE, ""), parent))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
