"""The recorder: statuses, tracking entries and Run Notes, coalesced and written safely.

Calls (:meth:`Recorder.set_status`, :meth:`~Recorder.register`,
:meth:`~Recorder.note`) only put the change in a dictionary under a short
mutex and return: the dispatcher calls them from its event loop thread, which
must never wait for a disk. A background thread writes everything pending
``debounce`` seconds after the first change arrives (longer after a slow
write: never more than a fifth of the time is spent writing), so a phase of
10,000 rows finishing together costs a handful of writes instead of 10,000; the final
flush happens on ``__exit__``, on success, error and Ctrl-C alike (a second
Ctrl-C during that flush is held until it ends).

Each write re-reads the file and applies the pending changes to what is
there now, the user may have edited it (:mod:`orchestrator.recorder.writes`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType

from orchestrator.errors import OrchestratorError, RecordError
from orchestrator.plan.model import Plan
from orchestrator.plan.parser import parse_plan
from orchestrator.recorder.atomic import real_path, remove_stale_temps
from orchestrator.recorder.cells import Key, RowIndex, check_status
from orchestrator.recorder.lock import PlanLock
from orchestrator.recorder.reconcile import Reconciled, reconcile
from orchestrator.recorder.tracking import TrackingEntry, register_entries
from orchestrator.recorder.updates import PlanUpdate, apply_plan_updates
from orchestrator.recorder.writes import QUEUED_HINT, Unsettled, Written, read_optional, read_text, rewrite
from orchestrator.safeio import TRACKING

log = logging.getLogger(__name__)

#: After a timed flush that took t seconds, the next waits at least PAUSE_FACTOR * t (at most
#: MAX_PAUSE): a huge plan's parse is CPU work that holds the GIL, and the event loop must keep
#: the larger share of the process.
PAUSE_FACTOR = 4.0
MAX_PAUSE = 10.0
#: The hint of a write that failed when the command ends (nothing is queued any more).
CLOSING_HINT = (
    "outputs already written are kept: run the same command again once the plan stops changing; "
    "it records them without a new call"
)
#: A plan that looks half saved (rows gone, most of it gone) is believed when read again this much later.
SETTLED_AFTER_S = 0.05
#: How long the closing check waits for a plan that is being saved in place (rows not found yet).
VERIFY_PATIENCE_S = 2.0


@dataclass
class RecordReport:
    """What a recorder has written so far (cumulative over all its flushes)."""

    recorded: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    registered: list[Path] = field(default_factory=list)
    writes: int = 0  # files replaced (plan and tracking file)
    bytes_written: int = 0


@dataclass
class _Batch:
    statuses: dict[Key, tuple[str, str]] = field(default_factory=dict)
    notes: dict[Key, tuple[str, str | None]] = field(default_factory=dict)
    entries: dict[str, TrackingEntry] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.statuses or self.notes or self.entries)


class Recorder:
    """Record a plan's statuses while holding its lock (use as a context manager).

    ``wait``: queue behind another process holding the lock instead of
    raising :class:`~orchestrator.errors.LockHeldError`; ``wait_timeout``
    bounds that wait. ``debounce``: seconds between the first pending change
    and its write.

    ``reconcile``: the plan as the command read it; on opening, what a killed
    run left is put right (:mod:`orchestrator.recorder.reconcile`), sweeping
    ``sweep`` folders too. ``strict``: on a clean exit, read the plan back and
    raise :class:`~orchestrator.errors.RecordError` (exit 1) for any status
    asked for that it does not show: skipped (the row was edited meanwhile)
    or undone (a save that did not include it), so a command never reports
    success for a status it did not write.
    """

    def __init__(
        self,
        plan_path: Path | str,
        *,
        wait: bool = False,
        debounce: float = 0.2,
        wait_timeout: float | None = None,
        tracking_path: Path | None = None,
        reconcile: Plan | None = None,
        sweep: Sequence[Path] = (),
        strict: bool = False,
        before_plan_write: Callable[[], None] | None = None,
    ) -> None:
        self.plan_path = real_path(plan_path)
        #: called before statuses are written (the pipeline makes the outputs they name durable there)
        self.before_plan_write = before_plan_write
        self.debounce = debounce
        self._lock = PlanLock(self.plan_path, wait=wait, timeout=wait_timeout)
        self._wake = threading.Condition(threading.Lock())
        self._io = threading.Lock()
        self._pending = _Batch()
        self._due: float | None = None
        self._quiet_until = 0.0
        self._open = False
        self._thread: threading.Thread | None = None
        self._known: str | None = None
        self._tracking_path: Path | None = tracking_path  # None: found from the plan when first needed
        self._recorded: dict[Key, None] = {}
        self._skipped: dict[Key, str] = {}
        self._registered: dict[str, Path] = {}
        self._wanted: dict[Key, tuple[str, str]] = {}  # recorded statuses: what the plan must show
        self._reconcile, self._sweep, self.strict = reconcile, tuple(sweep), strict
        self.reconciled = Reconciled()
        self._writes = 0
        self._bytes = 0
        self.background_error: OrchestratorError | None = None

    # --- life cycle -----------------------------------------------------------

    def __enter__(self) -> Recorder:
        if not self.plan_path.is_file():
            raise RecordError("the plan to record into is missing", path=self.plan_path,
                              hint="check the plan's path; a plan reached through a symlink must still exist")
        self._lock.acquire()
        try:
            remove_stale_temps(self.plan_path)
            self._known = read_text(self.plan_path)
        except BaseException:
            self._lock.release()
            raise
        self._open = True
        self._thread = threading.Thread(target=self._run, name="orchestrate-recorder", daemon=True)
        self._thread.start()
        if self._reconcile is not None:
            try:
                self.reconciled = reconcile(self, self._reconcile, folders=self._sweep)
            except BaseException:
                self.__exit__(None, None, None)
                raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop_timer()
        try:
            with _sigint_deferred():
                self._flush()
                if self.strict and exc_type is None:
                    self._require_recorded()
        except OrchestratorError as error:
            if isinstance(error, RecordError) and error.hint == QUEUED_HINT:
                error.hint = CLOSING_HINT  # nothing stays queued once the command ends
            if exc_type is None:
                raise
            log.error("%s", error.render())
        finally:
            self._lock.release()

    # --- the calls ------------------------------------------------------------

    def set_status(self, phase: int, row_id: str, filename: str, status: str) -> None:
        """Queue a row's new Status (``pending`` or ``complete``); returns at once."""
        wanted = check_status(status)
        with self._wake:
            self._check_open()
            self._pending.statuses[(phase, row_id)] = (filename, wanted)
            self._schedule()

    def register(self, entry: TrackingEntry) -> None:
        """Queue an output's registration in the tracking file; returns at once."""
        entry = dataclasses.replace(entry, path=Path(entry.key()))  # the working folder may change
        with self._wake:
            self._check_open()
            self._pending.entries[entry.key()] = entry
            self._schedule()

    def note(self, phase: int, row_id: str, filename: str, reason: str | None) -> None:
        """Queue a Run Notes line for a row (``None`` clears it); returns at once."""
        with self._wake:
            self._check_open()
            self._pending.notes[(phase, row_id)] = (filename, reason)
            self._schedule()

    def flush(self) -> RecordReport:
        """Write everything pending now (blocking); return the report so far."""
        self._flush()
        return self.report

    @property
    def report(self) -> RecordReport:
        with self._wake:
            return RecordReport(
                recorded=list(self._recorded),
                skipped=[(k[0], k[1], reason) for k, reason in self._skipped.items()],
                registered=list(self._registered.values()),
                writes=self._writes,
                bytes_written=self._bytes,
            )

    # --- timer ----------------------------------------------------------------

    def _check_open(self) -> None:
        if not self._open:
            raise RuntimeError("the recorder is not open (use it as a context manager)")

    def _schedule(self) -> None:
        if self._due is None:
            self._due = max(time.monotonic() + self.debounce, self._quiet_until)
            self._wake.notify()

    def _run(self) -> None:
        while self._wait_until_due():
            started = time.monotonic()
            try:
                self._flush()
            except OrchestratorError as error:
                self.background_error = error  # changes were put back; the next flush retries
            ended = time.monotonic()
            with self._wake:
                self._quiet_until = ended + min(MAX_PAUSE, PAUSE_FACTOR * (ended - started))

    def _wait_until_due(self) -> bool:
        with self._wake:
            while self._open:
                now = time.monotonic()
                if self._due is not None and now >= self._due:
                    return True
                self._wake.wait(None if self._due is None else self._due - now)
            return False

    def _stop_timer(self) -> None:
        with self._wake:
            self._open = False
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join()

    # --- writing --------------------------------------------------------------

    def _flush(self) -> None:
        with self._io:
            with self._wake:
                batch, self._pending, self._due = self._pending, _Batch(), None
            if not batch:
                return
            done = False
            try:
                # The tracking file first: a crash between the two writes then leaves an output
                # registered whose row is still pending (the rerun records it), never a row
                # complete that no later run would register.
                # A broken tracking file still lets the statuses be written (then it is reported).
                tracking_error: RecordError | None = None
                if batch.entries:
                    try:
                        self._write_tracking(batch)
                        batch.entries = {}
                    except RecordError as error:
                        tracking_error = error
                if batch.statuses or batch.notes:
                    if batch.statuses and self.before_plan_write is not None:
                        self.before_plan_write()
                    self._write_plan(batch)
                    batch.statuses, batch.notes = {}, {}
                if tracking_error is not None:
                    raise tracking_error
                done = True
            finally:
                if not done:
                    self._put_back(batch)
            self.background_error = None

    def _put_back(self, batch: _Batch) -> None:
        """Return unwritten changes to the queue; changes queued since then win."""
        with self._wake:
            for key, change in batch.statuses.items():
                self._pending.statuses.setdefault(key, change)
            for key, note in batch.notes.items():
                self._pending.notes.setdefault(key, note)
            for path, entry in batch.entries.items():
                self._pending.entries.setdefault(path, entry)

    def _write_plan(self, batch: _Batch) -> None:
        last: list[tuple[PlanUpdate, dict[Key, str]]] = []
        doubted: dict[str, float] = {}  # doubtful text -> when first read

        def change(text: str | None) -> str:
            update = apply_plan_updates(text or "", self.plan_path, batch.statuses, batch.notes, self._known)
            undone = self._undone(update.plan, batch.statuses)
            if _doubtful(update, text or "", self._known) or undone:
                # maybe an in-place save caught half done: believed only when read again a while later
                # (an empty plan never: the recorder would write over it)
                first = doubted.setdefault(text or "", time.monotonic())
                if not (text or "").strip() or time.monotonic() - first < SETTLED_AFTER_S:
                    raise Unsettled
            last.append((update, undone))
            return update.text

        written = rewrite(self.plan_path, change)
        update, undone = last[-1]
        self._known = update.text
        self._tracking_path = update.plan.tracking_file_path()
        with self._wake:
            self._count(written)
            for key in update.recorded:
                self._skipped.pop(key, None)
                self._recorded[key] = None
                if key in batch.statuses:
                    self._wanted[key] = batch.statuses[key]
            for phase, row_id, reason in update.skipped:
                self._recorded.pop((phase, row_id), None)
                self._wanted.pop((phase, row_id), None)
                self._skipped[(phase, row_id)] = reason
            for key, reason in undone.items():  # written by an earlier flush, gone since
                self._recorded.pop(key, None)
                self._wanted.pop(key, None)
                self._skipped[key] = reason

    def _undone(self, plan: Plan, now: dict[Key, tuple[str, str]]) -> dict[Key, str]:
        """Statuses earlier flushes wrote that ``plan`` no longer shows (a save undid them), with why.

        Kept as they are found here, so that when the command ends a plan
        still holding the recorder's last text needs no parse to be checked.
        """
        with self._wake:
            earlier = {key: wanted for key, wanted in self._wanted.items() if key not in now}
        if not earlier:
            return {}
        index = RowIndex(plan)
        undone: dict[Key, str] = {}
        for key, (filename, status) in earlier.items():
            located = index.locate(key, filename)
            if isinstance(located, str):
                undone[key] = located
            elif located[1].status != status:
                undone[key] = _undone_reason(status, located[1].status_text)
        return undone

    def _write_tracking(self, batch: _Batch) -> None:
        path = self._tracking_path
        if path is None:
            path = parse_plan(self._known or "", self.plan_path).tracking_file_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = list(batch.entries.values())
        written = rewrite(path, lambda text: register_entries(text, entries, path), create=True, kind=TRACKING)
        with self._wake:
            self._count(written)
            self._registered.update((e.key(), e.path) for e in entries)

    def _require_recorded(self) -> None:
        """Raise unless the plan on disk shows every status this recorder was asked to write."""
        missing = self.unrecorded()
        if not missing:
            return
        asked = len({*self._wanted, *self._skipped})
        shown = "; ".join(f"row {row_id}: {why}" for (_, row_id), why in list(missing.items())[:5])
        more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
        raise RecordError(
            f"{len(missing)} of {asked} status(es) were not recorded in the plan: {shown}{more}",
            path=self.plan_path,
            hint="outputs already written are kept: run the same command again to record them (no new call "
            "is made); if an editor holds the plan open, let it reload the file first",
        )

    def unrecorded(self) -> dict[Key, str]:
        """Statuses asked for that the plan does not show now, with why (read from disk).

        A row not found may be a save in progress (an editor writing the file
        in place): the plan is read again for up to :data:`VERIFY_PATIENCE_S`.
        """
        with self._wake:
            wanted, skipped, known = dict(self._wanted), dict(self._skipped), self._known
        missing: dict[Key, str] = {key: why for key, why in skipped.items() if key not in wanted}
        on_disk = read_optional(self.plan_path)
        if known is not None and on_disk == known.encode("utf-8"):
            return missing  # the recorder's last text, which holds every status it recorded: no parse needed
        deadline = time.monotonic() + VERIFY_PATIENCE_S
        while wanted:
            index = RowIndex(parse_plan(read_text(self.plan_path), self.plan_path))
            found: dict[Key, str] = {}
            absent = False
            for key, (filename, status) in wanted.items():
                located = index.locate(key, filename)
                if isinstance(located, str):
                    found[key], absent = located, True
                elif located[1].status != status:
                    found[key] = _undone_reason(status, located[1].status_text)
            if not absent or time.monotonic() >= deadline:
                missing.update(found)
                break
            time.sleep(0.02)
        return missing

    def _count(self, written: Written) -> None:
        self._writes += written.writes
        self._bytes += written.bytes


def _undone_reason(status: str, now: str) -> str:
    return f"written {status}, but a later save of the plan made it {now or 'empty'!r}"


def _doubtful(update: PlanUpdate, text: str, known: str | None) -> bool:
    """Whether ``text`` may be a save caught half done: rows not where they were, or most of it gone."""
    return bool(update.skipped) or (known is not None and len(text) < len(known) // 2)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold Ctrl-C during the final flush, then deliver it (main thread only)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or previous is None:
        yield
        return
    received: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, hold)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)
        elif received and previous == signal.SIG_DFL:
            os.kill(os.getpid(), signal.SIGINT)
