"""One writer per plan: ``plan.md.lock`` beside the plan, with its owner named in a sidecar.

The lock is :class:`filelock.FileLock`, which on Unix is ``flock(2)`` on the
lock file. The kernel ties a flock to the open file and releases it when the
process dies, however it dies (SIGKILL, a crash, a closed terminal), so a
lock left by a killed process is never really held: the next writer's
``flock`` simply succeeds. There is no "stale lock" to break by hand and no
pid file to trust. The lock file itself stays in place after release (deleting
a flock'ed file would let two writers lock two different inodes).

Because a flock does not say *who* holds it, the holder writes its pid,
command and start time into ``plan.md.lock.owner`` once it has the lock, so a
refused second run can name it. The sidecar is only a description: after a
kill it is out of date until the next holder overwrites it, which is why a
refusal checks whether that pid still lives.

On a file system without ``flock`` filelock falls back to a lock file whose
existence is the lock (with its own stale-owner detection) and warns.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
import time
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import filelock

from orchestrator.errors import LockHeldError
from orchestrator.recorder.atomic import atomic_write, real_path, remove_stale_temps

LOCK_SUFFIX = ".lock"
OWNER_SUFFIX = ".lock.owner"


def lock_path_for(plan_path: Path | str) -> Path:
    """``plan.md.lock`` beside the plan's real file (two symlinks to one plan share a lock)."""
    real = real_path(plan_path)
    return real.with_name(real.name + LOCK_SUFFIX)


def owner_path_for(plan_path: Path | str) -> Path:
    real = real_path(plan_path)
    return real.with_name(real.name + OWNER_SUFFIX)


@dataclass(frozen=True)
class Owner:
    """Who holds (or last held) a plan's lock, as its sidecar says."""

    pid: int
    command: str
    host: str
    since: float

    def alive(self) -> bool:
        """Whether the recorded process still runs (only meaningful on this host)."""
        if self.host != socket.gethostname():
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        where = "" if self.host == socket.gethostname() else f" on {self.host}"
        return f"pid {self.pid}{where} (`{self.command}`, since {started})"


def current_owner() -> Owner:
    argv = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else ["python"]
    return Owner(os.getpid(), shlex.join(argv), socket.gethostname(), time.time())


def read_owner(owner_path: Path) -> Owner | None:
    """The owner recorded in a sidecar, or None when absent or unreadable."""
    try:
        raw = json.loads(owner_path.read_text(encoding="utf-8"))
        return Owner(int(raw["pid"]), str(raw["command"]), str(raw["host"]), float(raw["since"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def holder_description(plan_path: Path | str) -> str:
    """Who holds the plan's lock, in words (for refusals and "waiting for ..." messages)."""
    owner = read_owner(owner_path_for(plan_path))
    if owner is None:
        return "an unknown process (no owner recorded)"
    if not owner.alive():
        return f"an unknown process (the last recorded owner, {owner.describe()}, has exited)"
    return owner.describe()


class PlanLock:
    """Exclusive lock on one plan for the life of a recorder.

    ``wait=False`` refuses at once with :class:`LockHeldError`; ``wait=True``
    blocks until the holder finishes (or ``timeout`` seconds pass).
    """

    def __init__(self, plan_path: Path | str, *, wait: bool = False, timeout: float | None = None) -> None:
        self.plan_path = real_path(plan_path)
        self.path = lock_path_for(plan_path)
        self.owner_path = owner_path_for(plan_path)
        self._wait = wait
        self._timeout = timeout
        self._lock = filelock.FileLock(self.path, thread_local=False)

    def acquire(self) -> None:
        timeout = (-1 if self._timeout is None else self._timeout) if self._wait else 0
        try:
            self._lock.acquire(timeout=timeout, blocking=self._wait or timeout > 0)
        except filelock.Timeout:
            raise self._held_error() from None
        try:
            remove_stale_temps(self.owner_path)  # a holder killed while describing itself left one
            atomic_write(self.owner_path, json.dumps(current_owner().__dict__).encode() + b"\n")
        except BaseException:
            self._lock.release()
            raise

    def release(self) -> None:
        """Forget the owner record, then let the kernel lock go."""
        if not self._lock.is_locked:
            return
        with suppress(FileNotFoundError):
            self.owner_path.unlink()
        self._lock.release()

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked

    def _held_error(self) -> LockHeldError:
        return LockHeldError(
            "the plan is locked by another orchestrate process: "
            f"{holder_description(self.plan_path)} holds {self.path}",
            path=self.plan_path,
            hint="wait for it to finish, or pass --wait to queue behind it",
        )

    def __enter__(self) -> PlanLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
