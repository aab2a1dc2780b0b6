"""One writer thread for a command's files, with group commit.

The event loop never touches a disk while calls are in flight: it hands each
write to :class:`Writer` as bytes and goes back to reading responses. The
thread does only system calls (which release the GIL), never parsing or
encoding, so it does not compete with the loop for the interpreter.

Two kinds of write, by what a crash may cost:

* :meth:`Writer.append` adds lines to an append-only journal (the ledger,
  which holds every paid response) and returns a future that completes once
  they are on disk. Every line queued while the previous ``fsync`` ran shares
  the next one (group commit): 1,000 responses arriving together cost a few
  dozen ``fsync`` calls, not 1,000, and none of them is counted as received
  before it is durable.
* :meth:`Writer.replace` replaces a whole file atomically (temp file in the
  same folder, then ``os.replace``). With ``durable=False`` (checkpoints that
  can be derived again) there is no ``fsync``: after a crash the file is old
  or new, and a stale one is redone from its inputs. With ``durable=True``
  (outputs a plan will call complete) the file is fsynced before the rename.

A replacement may also be *deferred* (``deferred=True``, for checkpoints).
The thread then only hands its bytes to the checkpoint process
(:mod:`.checkpoint_process`), which writes it on the other core while the
calls are in flight: a checkpoint costs a handful of system calls, each of
which would make this thread take the GIL back from the event loop, and
creating files is slow on many file systems. While the process lags
(:data:`~.checkpoint_helper.BACKLOG_BYTES` wait for its pipe) they are held
here and handed over as the pipe drains; past :data:`DEFERRED_BYTES` held,
the thread waits for the pipe. Where that process cannot start (or with
``Writer(helper=False)``), deferred replacements are held until the next
:meth:`drain` (at the latest when the writer closes) or until
:data:`DEFERRED_BYTES` of them wait, and written by the thread. Either way a crash loses
nothing that cannot be derived again (the response is in the ledger), and a
:meth:`drain` returns only once they are all in place.

An output (``replace(..., then=...)`` without ``durable``: made durable later
by one ``syncfs`` before the plan names it) goes to the checkpoint process as
well, ahead of the checkpoints held here, followed by a barrier; ``then``
(recording its row) runs in this thread once the process has answered that
barrier, so a row is still never recorded before its output is in place. The
reason is the same as for checkpoints: in this thread each of the file's
system calls would take the GIL back from the event loop, and creating a
file costs this process a fraction of a millisecond of kernel time that the
calls need (measured in docs/benchmarks.md).

Writes to one path keep their order; the last one wins. :meth:`drain` waits
until everything queued so far is done; an error in the thread is raised
there (and by the next call), never lost.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from orchestrator.pipeline.store.checkpoint_helper import CheckpointHelper
from orchestrator.pipeline.store.checkpoint_process import write_staged
from orchestrator.recorder import crashpoint
from orchestrator.recorder.atomic import atomic_write, temp_path

_APPEND_BATCH = 4096  # lines per write() call at most
#: deferred replacements are written once this much of them waits (memory stays bounded on 100,000 rows)
DEFERRED_BYTES = 16 << 20
_FEED_INTERVAL = 0.005  # seconds between offers to a full pipe while nothing else is queued


@dataclass
class _Append:
    path: Path
    data: bytes
    done: Future[None] = field(default_factory=Future)


@dataclass
class _Replace:
    path: Path
    data: bytes
    durable: bool
    then: list[Callable[[], None]] = field(default_factory=list)
    deferred: bool = False


@dataclass
class _Remove:
    path: Path
    deferred: bool = False


@dataclass
class _Barrier:
    done: Future[None] = field(default_factory=Future)
    deferred: bool = True  # deferred replacements are written before the barrier passes, and from then on


@dataclass
class _Release:
    """Deferred replacements are written from now on (those held: at once); nobody waits."""


_Op = _Append | _Replace | _Remove | _Barrier | _Release


class Writer:
    """The writer thread (use as a context manager; leaving it drains and stops)."""

    def __init__(self, *, helper: bool = True) -> None:
        self._ops: deque[_Op] = deque()
        self._wake = threading.Condition(threading.Lock())
        self._open = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._fds: dict[Path, int] = {}
        self._folders: set[Path] = set()
        self._deferred: dict[Path, _Replace | _Remove] = {}  # the thread's own: what waits to be written
        self._deferred_bytes = 0
        self._released = False  # a barrier asked for the deferred ones: none is held any more
        self._use_helper = helper  # deferred replacements go to the checkpoint process (when it starts)
        self._helper: CheckpointHelper | None = None
        self._forwarded: set[int] = set()  # hashes of the paths sent to it since it last answered
        self._sent_then: list[Callable[[], None]] = []  # what waits for outputs sent since the last barrier
        self._acks: deque[list[Callable[[], None]]] = deque()  # per barrier sent: what its answer lets run
        self.fsyncs = 0
        self.replaced = 0
        self.appended = 0

    # --- life cycle ---------------------------------------------------------------

    def __enter__(self) -> Writer:
        self._open = True
        self._thread = threading.Thread(target=self._run, name="orchestrate-writer", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.drain()
        finally:
            with self._wake:
                self._open = False
                self._wake.notify_all()
            if self._thread is not None:
                self._thread.join()
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    # --- the calls (any thread) -----------------------------------------------------

    def append(self, path: Path, data: bytes) -> Future[None]:
        """Append ``data`` (whole lines) to ``path``; the future completes once it is fsynced."""
        op = _Append(path, data)
        self._put(op)
        return op.done

    def replace(
        self,
        path: Path,
        data: bytes,
        *,
        durable: bool = False,
        then: Callable[[], None] | None = None,
        deferred: bool = False,
    ) -> None:
        """Replace ``path`` with ``data`` atomically, in the background.

        ``then`` runs in the writer thread once the file is in place (for a
        durable one, once it is on disk): recording a row complete waits for
        its output this way, so no crash leaves a complete row without one.
        ``deferred``: see the module docstring.
        """
        self._put(_Replace(path, data, durable, [then] if then else [], deferred))

    def remove(self, path: Path, *, deferred: bool = False) -> None:
        """Remove ``path`` (if it exists) after the writes queued before this call."""
        self._put(_Remove(path, deferred))

    def drain(self, *, deferred: bool = True) -> None:
        """Block until every write queued before this call is done; raise the thread's error.

        ``deferred=False`` leaves deferred replacements held: everything else
        is in place when this returns (the outputs, before their rows are
        recorded), while the checkpoints wait for :meth:`release_deferred`.
        """
        if not self._open:
            self._raise_error()
            return
        barrier = _Barrier(deferred=deferred)
        self._put(barrier)
        barrier.done.result()
        self._raise_error()

    def release_deferred(self) -> None:
        """Write the deferred replacements now, and any later ones at once; returns without waiting.

        The calls are done: the thread may have the disk while the command's
        last steps (the report, the summary) run.
        """
        self._put(_Release())

    def _put(self, op: _Op) -> None:
        self._raise_error()
        with self._wake:
            if not self._open:
                raise RuntimeError("the writer is not running (use it as a context manager)")
            self._ops.append(op)
            self._wake.notify()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    # --- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        if hasattr(signal, "pthread_sigmask"):  # Ctrl-C is the main thread's to handle, never this one's
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            while True:
                with self._wake:
                    while self._open and not self._ops:
                        if self._helper is None or not (self._helper.pending or self._deferred or self._acks):
                            self._wake.wait()
                        elif not self._wake.wait(_FEED_INTERVAL):
                            break  # the pipe was full, or outputs wait for its answer: look again
                    if not self._open and not self._ops:
                        return
                    ops = list(self._ops)
                    self._ops.clear()
                self._do(ops)
        finally:
            if self._helper is not None:  # here: on Linux the process dies with the thread that started it
                self._helper.close()

    def _do(self, ops: list[_Op]) -> None:
        """Appends first (one write and one fsync per journal), then replacements, then barriers."""
        appends = [op for op in ops if isinstance(op, _Append)]
        try:
            self._commit(appends)
            latest: dict[Path, _Replace | _Remove] = {}
            for op in ops:
                if isinstance(op, _Replace | _Remove):
                    earlier = latest.pop(op.path, None)
                    if isinstance(earlier, _Replace) and isinstance(op, _Replace):
                        op.then[:0] = earlier.then  # superseded, but what waited for it still runs
                    latest[op.path] = op  # the last change to a path wins; order otherwise kept
            for change in latest.values():
                self._take(change)
            self._ask_for_answer()
            waited = any(isinstance(op, _Barrier) and op.deferred for op in ops)
            self._released = self._released or waited or any(isinstance(op, _Release) for op in ops)
            too_much = self._deferred_bytes > DEFERRED_BYTES
            if self._helper is not None:
                self._feed(everything=waited or too_much, wait=waited)
                if self._acks and any(isinstance(op, _Barrier) for op in ops):
                    self._wait_for_process()  # a drain returns once the outputs are in place
                self._run_answered(self._helper.answered())
            elif self._deferred and (self._released or too_much):
                self._write_deferred()
        except BaseException as exc:  # reported to whoever waits next; the run must not go on silently
            self._error = exc
            self._acks.clear()  # outputs the process may not have written: their rows are never recorded
            self._sent_then = []
            for op in appends:
                if not op.done.done():
                    op.done.set_exception(exc)
        for op in ops:
            if isinstance(op, _Barrier):
                op.done.set_result(None)

    def _take(self, change: _Replace | _Remove) -> None:
        """Apply ``change`` now, send it to the checkpoint process, or hold it; it supersedes a held one."""
        held = self._deferred.pop(change.path, None)
        if isinstance(held, _Replace):
            self._deferred_bytes -= len(held.data)
            if isinstance(change, _Replace):
                change.then[:0] = held.then
        if self._forward(change):
            return
        if self._helper is not None and hash(change.path) in self._forwarded:
            self._ask_for_answer()
            self._wait_for_process()  # an earlier change to this path is the process's: it goes first
        if not change.deferred or (self._released and self._helper is None):
            self._apply(change)
            return
        self._deferred[change.path] = change  # until the pipe has room, or the thread writes it
        if isinstance(change, _Replace):
            self._deferred_bytes += len(change.data)

    def _forward(self, change: _Replace | _Remove) -> bool:
        """Send a change to the checkpoint process (started at the first) if it may go there.

        Deferred changes go unless the process lags. An output (not durable,
        not deferred, someone waiting for it) goes ahead of the held
        checkpoints, and what waits for it runs once the process answers the
        barrier after it; a durable file is written here (it needs its ``fsync``).
        """
        output = isinstance(change, _Replace) and bool(change.then)
        if output:
            assert isinstance(change, _Replace)
            if change.deferred or change.durable:
                return False  # someone waits for it, and it needs its fsync (or was held): written here
        elif not change.deferred:
            return False
        if self._helper is None:
            if not self._use_helper:
                return False
            self._use_helper = False  # one attempt per writer
            self._helper = CheckpointHelper.start()
            if self._helper is None:
                return False
        if isinstance(change, _Replace) and output:
            self._send(self._helper, change)
            self._sent_then.extend(change.then)
            return True
        if self._helper.backlogged:
            return False
        self._send(self._helper, change)
        return True

    def _send(self, helper: CheckpointHelper, change: _Replace | _Remove) -> None:
        self._forwarded.add(hash(change.path))
        if isinstance(change, _Replace):
            helper.replace(change.path, change.data)
            self.replaced += 1
        else:
            helper.remove(change.path)

    def _feed(self, *, everything: bool, wait: bool) -> None:
        """Hand the checkpoint process held changes while its pipe has room (``everything``: all of them).

        ``wait``: until it has written them all.
        """
        helper = self._helper
        if helper is None:
            return
        helper.send()
        while self._deferred and (everything or not helper.backlogged):
            path = next(iter(self._deferred))
            change = self._deferred.pop(path)
            if isinstance(change, _Replace):
                self._deferred_bytes -= len(change.data)
                if change.then:
                    self._apply(change)
                    continue
            self._send(helper, change)
        helper.send()
        if wait:
            self._wait_for_process()
        elif everything:
            helper.flush()

    def _ask_for_answer(self) -> None:
        """A barrier after the outputs just sent: its answer lets what waits for them run."""
        if self._sent_then and self._helper is not None:
            self._helper.barrier()
            self._acks.append(self._sent_then)
            self._sent_then = []
            self._helper.send()

    def _wait_for_process(self) -> None:
        """Block until the checkpoint process has done all it was sent."""
        assert self._helper is not None
        self._run_answered(self._helper.wait())
        self._forwarded.clear()

    def _run_answered(self, count: int) -> None:
        for _ in range(count):
            for callback in self._acks.popleft():
                callback()

    def _write_deferred(self) -> None:
        held, self._deferred, self._deferred_bytes = self._deferred, {}, 0
        for change in held.values():
            self._apply(change)

    def _apply(self, op: _Replace | _Remove) -> None:
        if isinstance(op, _Remove):
            op.path.unlink(missing_ok=True)
            return
        if op.durable:
            op.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(op.path, op.data)
            self.fsyncs += 2
        else:
            self._replace_derived(op.path, op.data)
        self.replaced += 1
        for callback in op.then:
            callback()

    def _replace_derived(self, path: Path, data: bytes) -> None:
        """Temp file beside ``path``, then ``os.replace``: old-or-new, with the fewest system calls.

        The files this takes are the tool's own (checkpoints, outputs made
        durable later in one ``syncfs``): no symlink to follow, no mode to
        keep, folders made once per command.
        """
        folder = path.parent
        if folder not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        write_staged(path, temp_path(path), data, crashpoint.reached)

    def _commit(self, appends: list[_Append]) -> None:
        by_path: dict[Path, list[_Append]] = {}
        for op in appends:
            by_path.setdefault(op.path, []).append(op)
        for path, group in by_path.items():
            fd = self._fd(path)
            for start in range(0, len(group), _APPEND_BATCH):
                view = memoryview(b"".join(op.data for op in group[start : start + _APPEND_BATCH]))
                while view:  # a large write may be partial
                    view = view[os.write(fd, view) :]
            crashpoint.reached("journal")  # written, not yet fsynced: a kill here loses nothing, a power cut may
            os.fsync(fd)
            crashpoint.reached("ledger")  # the crash campaign's instant (a no-op unless set)
            self.fsyncs += 1
            self.appended += len(group)
            for op in group:
                # a waiter abandoned on a second Ctrl-C no longer listens: its line is written all the same
                # (set_running_or_notify_cancel, unlike a check of cancelled(), cannot race a cancel)
                if op.done.set_running_or_notify_cancel():
                    op.done.set_result(None)

    def _fd(self, path: Path) -> int:
        fd = self._fds.get(path)
        if fd is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":  # a crash cut the last line: end it
                os.write(fd, b"\n")
            self._fds[path] = fd
        return fd


def _load_syncfs() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function: Callable[[int], int] = libc.syncfs
    except (OSError, AttributeError):  # not Linux: os.sync() below
        return None
    return function


_SYNCFS = _load_syncfs()


def sync_filesystem(folder: Path) -> None:
    """Make every write so far to the file system holding ``folder`` durable, in one call.

    Outputs are replaced without an ``fsync`` each; before the plan calls a
    group of them complete, this one ``syncfs`` makes them all durable (a
    group commit for outputs: one call per plan write instead of three per
    row).
    """
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except FileNotFoundError:
        return  # nothing was written there
    try:
        if _SYNCFS is None or _SYNCFS(fd) != 0:
            os.sync()
    finally:
        os.close(fd)
