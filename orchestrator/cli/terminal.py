"""The ``[y/N]`` question before money is spent or files are deleted, with defined outcomes.

``y`` proceeds. ``n``, an empty answer or end of input is *not confirmed*:
:class:`~orchestrator.errors.NotConfirmed` (exit 2, the same as having no
terminal to ask on). Ctrl-C at the question cancels at once:
:class:`~orchestrator.errors.Interrupted` (exit 130), nothing dispatched.

Why not ``click.confirm``: commands ask from inside ``asyncio.run``, whose
SIGINT handler only cancels the main task, which cannot interrupt a blocking
read. The first Ctrl-C was swallowed and the next line typed became the
answer. While the question waits, SIGINT is given back to Python's default
handler, so Ctrl-C interrupts the read itself; the previous handler is put
back afterwards.
"""

from __future__ import annotations

import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from orchestrator.errors import Interrupted, NotConfirmed

_YES = ("y", "yes")
_SLICE_S = 0.1
_NO = ("n", "no", "")


@contextmanager
def _interruptible() -> Iterator[None]:
    """Ctrl-C raises KeyboardInterrupt right away while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_readable(source: TextIO) -> None:
    """Wait for input in short slices, so a Ctrl-C is acted on at once.

    The kernel may deliver SIGINT to any thread of the process (the writer or
    the recorder thread, say); Python then runs its handler only when the main
    thread next runs, which a blocking read would delay until Enter.
    """
    try:
        fd = source.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test's StringIO): read at once
    while not select.select([fd], [], [], _SLICE_S)[0]:
        pass


def ask_yes_no(
    question: str,
    *,
    consequence: str,
    hint: str,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> bool:
    """Ask ``question [y/N]``; True on yes, otherwise raise (see the module docstring).

    ``consequence`` completes "not confirmed: ..." (e.g. "nothing was
    dispatched"); ``hint`` says how to proceed without being asked.
    """
    source = stdin or sys.stdin
    target = out or sys.stdout
    while True:
        try:
            # Ctrl-C is taken over before the question shows: one typed the moment it appears counts too
            with _interruptible():
                print(f"{question} [y/N]: ", end="", file=target, flush=True)
                _wait_readable(source)
                line = source.readline()
        except KeyboardInterrupt:
            print(file=target, flush=True)  # end the line the terminal echoed ^C on
            raise Interrupted(f"interrupted at the confirmation: {consequence}", hint=hint) from None
        if not line:
            print(file=target, flush=True)
            raise NotConfirmed(f"not confirmed (no answer): {consequence}", hint=hint)
        answer = line.strip().lower()
        if answer in _YES:
            return True
        if answer in _NO:
            raise NotConfirmed(f"not confirmed: {consequence}", hint=hint)
        print("Please answer y or n.", file=target, flush=True)


def confirmer(*, consequence: str, hint: str, to_stderr: bool) -> Callable[[str], bool]:
    """A ``Terminal.ask`` for one command (questions on stderr when stdout carries ``--json``)."""

    def ask(question: str) -> bool:
        return ask_yes_no(question, consequence=consequence, hint=hint, out=sys.stderr if to_stderr else sys.stdout)

    return ask
