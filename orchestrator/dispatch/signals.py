"""Ctrl-C as a graceful stop: the first press sets the dispatcher's ``stop`` event.

Without this, Ctrl-C raises ``KeyboardInterrupt`` wherever the loop happens to
be, cancelling calls that are already paid for. With it, the first SIGINT (or
a SIGTERM) asks :func:`orchestrator.dispatch.dispatch` to start nothing new
and let in-flight calls finish within ``grace_s`` (``on_first`` says how many
there are). A second Ctrl-C calls ``on_second``: the driver abandons the calls
still in flight, but still drains what was received, prints its summary and
exits 130. Without ``on_second`` (or on a third press) Ctrl-C is back to
Python's default, so an impatient user can always abort at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def stop_on_signals(
    stop: asyncio.Event,
    on_first: Callable[[], None] | None = None,
    on_second: Callable[[], None] | None = None,
) -> Iterator[None]:
    """While inside, SIGINT/SIGTERM set ``stop`` (call from the running loop's thread).

    ``on_first`` runs on the first signal (e.g. print "finishing N calls in
    flight; Ctrl-C again to abandon them"), ``on_second`` on the second
    SIGINT. Where the loop cannot handle signals (Windows, a non-main thread),
    this does nothing and Ctrl-C works as usual.
    """
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    presses = {signal.SIGINT: 0, signal.SIGTERM: 0}

    def handle(sig: signal.Signals) -> None:
        presses[sig] += 1
        if not stop.is_set():
            stop.set()
            if on_first is not None:
                on_first()
        elif sig == signal.SIGINT and presses[sig] == 2 and on_second is not None:
            on_second()
        if sig == signal.SIGINT and sig in installed and presses[sig] >= (2 if on_second is not None else 1):
            _restore(loop, sig, previous[sig])  # the next Ctrl-C aborts as usual
            installed.remove(sig)

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, handle, sig)
        except (NotImplementedError, RuntimeError, ValueError):
            continue
        installed.append(sig)
    try:
        yield
    finally:
        for sig in installed:
            _restore(loop, sig, previous[sig])


def _restore(loop: asyncio.AbstractEventLoop, sig: signal.Signals, handler: object) -> None:
    """Remove our handler and put back whatever was there before (asyncio would reset it)."""
    loop.remove_signal_handler(sig)
    if callable(handler) or handler in (signal.SIG_DFL, signal.SIG_IGN):
        signal.signal(sig, handler)  # type: ignore[arg-type]
