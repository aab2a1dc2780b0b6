"""The writer thread's side of the checkpoint process (see :mod:`.checkpoint_process`).

:class:`CheckpointHelper` is used by one thread only (the writer's). Frames
are written to the process's pipe without blocking: what the pipe does not
take yet waits in :attr:`CheckpointHelper.pending` and goes with the next
:meth:`~CheckpointHelper.send`, so a slow disk never holds up a ledger line
queued behind a checkpoint. The writer stops handing over checkpoints while
:data:`BACKLOG_BYTES` wait (it holds the rest itself), so the pipe's backlog
stays small; only :meth:`~CheckpointHelper.wait` and
:meth:`~CheckpointHelper.flush` block.

Outputs go the same way, each followed by a barrier (:meth:`~CheckpointHelper.barrier`):
the process answers every barrier once all before it is in place, and
:meth:`~CheckpointHelper.answered` counts those answers without blocking, so
the writer thread runs what waits for an output (recording its row) only
once the file is there.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import subprocess
import sys
from pathlib import Path

from orchestrator.pipeline.store import checkpoint_process as program
from orchestrator.recorder import crashpoint
from orchestrator.recorder.atomic import temp_path

#: bytes waiting for the pipe beyond which the writer thread holds further checkpoints itself
BACKLOG_BYTES = 1 << 20
_PIPE_SIZE = 1 << 20  # what Linux allows an unprivileged pipe by default
_CHUNK = 1 << 20  # bytes per blocking write


class CheckpointProcessError(OSError):
    """The checkpoint process could not write a checkpoint, or stopped."""


class CheckpointHelper:
    """A running checkpoint process and the frames on their way to it."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self._process = process
        self._pipe = process.stdin.fileno()
        os.set_blocking(self._pipe, False)
        with contextlib.suppress(AttributeError, OSError):  # Linux only; the default 64 KiB works too
            import fcntl

            fcntl.fcntl(self._pipe, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        self._pending = bytearray()  # frames the pipe has not taken yet
        self._answers = process.stdout.fileno()  # read without blocking; waits poll it first
        os.set_blocking(self._answers, False)
        self._answer_ready = select.poll()
        self._answer_ready.register(self._answers, select.POLLIN)
        self.unanswered = 0  # barriers sent that the process has not answered yet

    @classmethod
    def start(cls) -> CheckpointHelper | None:
        """Start the process; ``None`` where it cannot run (the writer thread then writes them itself)."""
        if not sys.executable:
            return None
        crashpoint.targets()  # a malformed test variable fails here, in the parent, with its message
        argv = [sys.executable, "-I", "-S", program.__file__, str(os.getpid())]
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        except OSError:
            return None
        assert process.stdout is not None and process.stdin is not None
        try:
            if process.stdout.read(1) == program.READY:  # an interpreter that cannot run it says nothing
                return cls(process)
        except OSError:  # a pipe that cannot be made non-blocking (not POSIX): the thread writes them
            pass
        process.kill()
        process.wait()
        process.stdin.close()
        process.stdout.close()
        return None

    @property
    def pending(self) -> int:
        """Bytes not yet taken by the pipe."""
        return len(self._pending)

    def replace(self, path: Path, data: bytes) -> None:
        self._frame(program.REPLACE, os.fsencode(path), os.fsencode(temp_path(path)), data)

    def remove(self, path: Path) -> None:
        self._frame(program.REMOVE, os.fsencode(path))

    def _frame(self, kind: bytes, target: bytes = b"", temp: bytes = b"", data: bytes = b"") -> None:
        self._pending += program.HEADER.pack(kind, len(target), len(temp), len(data))
        self._pending += target
        self._pending += temp
        self._pending += data

    @property
    def backlogged(self) -> bool:
        """Whether enough waits for the pipe that further checkpoints should wait elsewhere."""
        return self.pending > BACKLOG_BYTES

    def send(self) -> None:
        """Hand the pipe what it takes now, without waiting."""
        self._write_some()

    def flush(self) -> None:
        """Hand the pipe everything, waiting for it to take it."""
        self._write_all()

    def barrier(self) -> None:
        """Ask the process to answer once everything framed so far is done (see :meth:`answered`)."""
        self._frame(program.BARRIER)
        self.unanswered += 1

    def answered(self) -> int:
        """How many barriers the process has answered since the last call, without waiting.

        Raises :class:`CheckpointProcessError` with the process's reason if it failed.
        """
        if not self.unanswered:
            return 0
        answers = self._read(self.unanswered, block=False)
        return 0 if answers is None else self._count(answers)

    def wait(self) -> int:
        """Return once the process has done everything sent so far; raise what it failed on.

        The count is of the barriers answered meanwhile, as :meth:`answered`
        gives it (this call's own barrier not included).
        """
        self.barrier()
        self.flush()
        count = 0
        while self.unanswered:
            answers = self._read(self.unanswered, block=True)
            count += self._count(answers or b"")
        return count - 1

    def close(self) -> None:
        """End the process (after :meth:`wait`, it has nothing left to do) and reap it."""
        assert self._process.stdin is not None
        with contextlib.suppress(OSError):
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:  # stuck on a dead disk: the command must still end
            self._process.kill()
            self._process.wait()
        finally:
            assert self._process.stdout is not None
            self._process.stdout.close()

    # --- the pipe ---------------------------------------------------------------------------------

    def _write_some(self) -> None:
        try:
            while self._pending:
                written = os.write(self._pipe, self._pending)
                del self._pending[:written]
        except BlockingIOError:
            return
        except BrokenPipeError:
            self._failed()

    def _write_all(self) -> None:
        os.set_blocking(self._pipe, True)
        try:
            while self._pending:
                with memoryview(self._pending) as view, view[:_CHUNK] as chunk:
                    written = os.write(self._pipe, chunk)
                del self._pending[:written]
        except BrokenPipeError:
            self._failed()
        finally:
            os.set_blocking(self._pipe, False)

    def _read(self, size: int, *, block: bool) -> bytes | None:
        """Up to ``size`` bytes of the process's answers (``b""``: it ended); ``None``: none yet, not blocking."""
        while True:
            try:
                return os.read(self._answers, size)
            except BlockingIOError:
                if not block:
                    return None
                self._answer_ready.poll()

    def _count(self, answers: bytes) -> int:
        """Barriers answered in ``answers`` (all :data:`~.checkpoint_process.DONE` unless it failed)."""
        if answers != program.DONE * len(answers) or not answers:
            self._failed(answers[answers.find(program.FAILED) :] if program.FAILED in answers else b"")
        self.unanswered -= len(answers)
        return len(answers)

    def _failed(self, answer: bytes = b"") -> None:
        if answer[:1] == program.FAILED:
            reason = self._reason(answer[1:])
        else:
            code = self._process.wait()
            reason = f"it stopped (exit status {code})"
        raise CheckpointProcessError(errno.EIO, f"writing checkpoints failed: {reason}")

    def _reason(self, start: bytes) -> str:
        """The rest of a :data:`~.checkpoint_process.FAILED` answer's line."""
        line = bytearray(start)
        while b"\n" not in line:
            chunk = self._read(4096, block=True)
            if not chunk:
                break
            line += chunk
        return bytes(line).split(b"\n", 1)[0].decode("utf-8", "replace").strip()
