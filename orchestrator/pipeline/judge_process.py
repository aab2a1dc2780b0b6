"""The judge process: judges a run's responses on the other core, off the event loop's.

:class:`~orchestrator.pipeline.judge_helper.JudgeHelper` starts it as
``python -P -m orchestrator.pipeline.judge_process`` (the parent's
environment and ``sys.path`` rules, without the current folder) and talks to
it through its standard input and output in frames: a 4-byte little-endian
length, then a pickle.

* It answers :data:`READY` (one byte) as soon as it has imported the validators.
* The first frame it reads is the run's :class:`~orchestrator.validators.CompiledPlan`
  (the plan's rules and format reference, compiled once by the parent).
* Every later frame is ``(request, output path, response text, stop reason)``;
  it answers ``(request, Judgement)``, or ``(request, None)`` when judging
  raised (the parent then judges that response itself, so an error surfaces
  there exactly as it would have without this process).

Why a process: judging a response is pure-Python CPU work (front matter,
sections, tables: a few tenths of a millisecond each). In the command's own
process every one of them holds the GIL while responses wait to be read; on
a machine with a spare core it costs the run nothing here.

It ends when its standard input does (the parent closed it, or died), and it
ignores Ctrl-C, which the parent handles for the whole command.
"""

from __future__ import annotations

import os
import pickle
import signal
import struct
import sys
from pathlib import Path

from orchestrator.pipeline.judge import Judge
from orchestrator.validators import CompiledPlan

LENGTH = struct.Struct("<I")
READY = b"+"


def read_exactly(fd: int, size: int) -> bytes | None:
    """``size`` bytes from ``fd``, or ``None`` at end of input (a frame cut short counts as the end)."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> object | None:
    head = read_exactly(fd, LENGTH.size)
    if head is None:
        return None
    body = read_exactly(fd, LENGTH.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def frame(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return LENGTH.pack(len(body)) + body


def serve(source: int, sink: int) -> int:
    """Judge what arrives on ``source`` until it ends; answer on ``sink``."""
    write_all(sink, READY)
    compiled = read_frame(source)
    if not isinstance(compiled, CompiledPlan):
        return 0 if compiled is None else 2
    judge = Judge(compiled, Path())  # the parent resolves every output path; this process never does
    while (message := read_frame(source)) is not None:
        assert isinstance(message, tuple)
        request, target, text, stop_reason = message
        try:
            answer: object = (request, judge.judge(Path(target), text, stop_reason))
        except Exception:
            answer = (request, None)
        write_all(sink, frame(answer))
    return 0


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return serve(sys.stdin.fileno(), sys.stdout.fileno())
    except BrokenPipeError:  # the parent stopped reading: it is done with this process
        return 0


if __name__ == "__main__":
    sys.exit(main())
