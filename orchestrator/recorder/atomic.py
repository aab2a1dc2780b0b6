"""Crash-safe file replacement.

A reader of the target path sees either the old content or the new content,
never a mix: the new bytes go to a temporary file in the same folder (same
file system, so the final rename is atomic), are fsynced, and only then take
the target's name; the folder is fsynced so the rename itself survives a
power cut. The target's real path is written (a symlink stays a symlink), its
mode is kept, and a new file gets ``0o644`` minus the umask.

:func:`replace_if_unchanged` adds a compare-and-swap for a file someone else
may save at the same time (the plan, which the user keeps editing): the new
content goes in only if the file still holds what the caller computed it
from. On Linux the names are swapped with ``renameat2(RENAME_EXCHANGE)``, and
what was swapped out is compared afterwards: if someone saved in between,
their file is swapped straight back (microseconds later) and the caller
starts again from a fresh read, so their save is never lost. Elsewhere the
file is compared just before ``os.replace``, which leaves a window of
microseconds in which a save can be overwritten.
"""

from __future__ import annotations

import ctypes
import errno
import filecmp
import functools
import os
import re
import secrets
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from orchestrator.recorder import crashpoint

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Unix
    fcntl = None  # type: ignore[assignment]

NEW_FILE_MODE = 0o644
_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_RENAME_EXCHANGE = 2
_TEMP_SUFFIX = ".tmp"


def real_path(path: Path | str) -> Path:
    """``path`` with symlinks resolved, so a write replaces the file and not the link."""
    return Path(os.path.realpath(path))


def temp_name_prefix(target: Path) -> str:
    """Prefix of the temporary files written beside ``target`` (for stale-file cleanup)."""
    return f".{target.name}."


def temp_path(target: Path) -> Path:
    """A new temporary file name beside ``target``, naming this process (see :func:`remove_stale_temps`)."""
    return target.with_name(f"{temp_name_prefix(target)}{os.getpid()}-{secrets.token_hex(6)}{_TEMP_SUFFIX}")


def atomic_write(path: Path | str, data: bytes, *, fsync: bool = True) -> Path:
    """Replace the content of ``path`` with ``data`` atomically; return the real path written.

    The folder must exist. Unconditional: use :func:`replace_if_unchanged`
    when another process may edit the file concurrently. ``fsync=False`` keeps
    the old-or-new guarantee against a killed process but not against a power
    cut: for files that can be derived again.
    """
    target = real_path(path)
    with _staged(target, data, fsync=fsync) as (temp, _):
        os.replace(temp, target)
    crashpoint.reached("replaced")
    if fsync:
        fsync_dir(target.parent)
    return target


def write_if_different(path: Path, chunks: Iterable[bytes]) -> bool:
    """Write ``chunks`` into a temp file beside ``path``; replace ``path`` only if that changes it.

    For large derived files (``all_results.json``, the report): never held in
    memory whole, not fsynced (rebuilt by the next run), and left alone (same
    mtime) when their content is already there. True when ``path`` was replaced.
    """
    temp = temp_path(path)
    try:
        with open(temp, "xb") as out:
            for chunk in chunks:
                out.write(chunk)
        try:
            same = temp.stat().st_size == path.stat().st_size and filecmp.cmp(temp, path, shallow=False)
        except OSError:
            same = False
        if same:
            temp.unlink()
        else:
            os.replace(temp, path)
        return not same
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def replace_if_unchanged(path: Path | str, data: bytes, expected: bytes | None) -> bool:
    """Write ``data`` to ``path`` if it still holds ``expected`` (``None``: does not exist).

    Returns False, with the file as the other writer left it, when it did
    not: read it again, redo the change, and retry.
    """
    target = real_path(path)
    with _staged(target, data) as (temp, temp_fd):
        if expected is None:
            done = _create_exclusive(temp, target)
        else:
            _flock(temp_fd)  # a writer that opens the name after our exchange waits for us
            with _swap_lock(target) as current:
                done = _swap(temp, target, data, expected, current)
    if done:
        crashpoint.reached("plan")
    fsync_dir(target.parent)
    return done


def _swap(temp: Path, target: Path, data: bytes, expected: bytes, current: int) -> bool:
    """Exchange ``temp`` and ``target`` if ``target`` holds ``expected``; ``current`` is its locked fd.

    The file is compared before the exchange, so a save that landed while the
    caller computed its change is never hidden, even for an instant; and
    after it, in case a save landed in the microseconds in between (then the
    saved file is swapped straight back).
    """
    if _read_fd(current) != expected:
        return False
    if not _same_file(os.stat(target), os.fstat(current)):  # renamed over since the lock: last chance
        return False
    if not _exchange(temp, target):
        return _replace_after_compare(temp, target, expected)
    if _same_file(os.stat(temp), os.fstat(current)) and temp.read_bytes() == expected:
        return True
    _exchange(temp, target)  # not what we read: put theirs back at once
    if temp.read_bytes() != data:  # a foreign save landed in between: it is the newest
        _exchange(temp, target)
    return False


def _read_fd(fd: int) -> bytes:
    """Everything in the open file ``fd``, from its start."""
    chunks: list[bytes] = []
    offset = 0
    while chunk := os.pread(fd, 1 << 16, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


@contextmanager
def _swap_lock(target: Path) -> Iterator[int]:
    """Hold ``flock`` on the file now at ``target`` (serialises writers using this module); yield its fd.

    The name may be swapped to another file while we wait, so the lock counts
    only once the locked file is still the one at ``target``. Editors do not
    take it; it only makes our own concurrent writers (two recorders, a
    recorder and another command) exact rather than nearly so.
    """
    while True:
        fd = os.open(target, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        keep = False
        try:
            _flock(fd)
            keep = _same_file(os.fstat(fd), os.stat(target))
            if keep:
                yield fd
                return
        finally:
            os.close(fd)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _flock(fd: int) -> None:
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)


def _create_exclusive(temp: Path, target: Path) -> bool:
    """Give ``temp`` the name ``target`` only if nothing has that name yet."""
    try:
        os.link(temp, target)
    except FileExistsError:
        return False
    except OSError:  # no hard links on this file system: check, then rename
        if target.exists():
            return False
        os.replace(temp, target)
    return True


def _replace_after_compare(temp: Path, target: Path, expected: bytes) -> bool:
    if _read_or_none(target) != expected:
        return False
    os.replace(temp, target)
    return True


def _read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


@contextmanager
def _staged(target: Path, data: bytes, *, fsync: bool = True) -> Iterator[tuple[Path, int]]:
    """A fsynced temporary copy of ``data`` beside ``target`` (and its open descriptor).

    The file is removed afterwards if it still has its temporary name.
    """
    temp = temp_path(target)
    fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), NEW_FILE_MODE)
    try:
        crashpoint.reached("temp")
        _copy_owner_and_mode(fd, target)
        _write_all(fd, data)
        if fsync:
            os.fsync(fd)
        crashpoint.reached("staged")
        yield temp, fd
    finally:
        os.close(fd)
        with suppress(FileNotFoundError):
            os.unlink(temp)


def _copy_owner_and_mode(fd: int, target: Path) -> None:
    """Give the temporary file the target's mode (and owner, when allowed)."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return
    os.fchmod(fd, stat.S_IMODE(info.st_mode))
    if hasattr(os, "fchown") and (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
        with suppress(PermissionError):
            os.fchown(fd, info.st_uid, info.st_gid)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the names ``a`` and ``b``; False where the system cannot."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(b))


@functools.cache
def _renameat2() -> Callable[..., int] | None:
    """The C library's ``renameat2``, looked up once (Linux with glibc 2.28+ or musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    found: Callable[..., int] = func
    return found


#: ``.NAME.PID-TOKEN.tmp``: the names :func:`_staged` gives (PID: the writer; TOKEN: 12 hex digits)
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)-[0-9a-f]{12}" + re.escape(_TEMP_SUFFIX) + "$")


def remove_stale_temps(target: Path, *, max_age: float = 3600.0) -> int:
    """Delete temporary files that dead writers left beside ``target``; return how many.

    A temporary file is named after the process writing it, so one is stale
    when that process no longer exists (or, for a pid reused or on another
    host, when it is older than ``max_age`` seconds). A live writer's file is
    never touched.
    """
    prefix = temp_name_prefix(target)
    return sum(
        _remove_if_stale(entry, max_age)
        for entry in target.parent.glob(f"{prefix}*{_TEMP_SUFFIX}")
        if (match := _TEMP_NAME.match(entry.name)) and match["name"] == target.name
    )


def remove_stale_temps_in(folder: Path, *, recursive: bool = True, max_age: float = 3600.0) -> list[Path]:
    """Delete every temporary file a dead writer of this module left in ``folder``; return them.

    Only names of the exact form :func:`_staged` gives (``.NAME.PID-TOKEN.tmp``)
    are considered, and only those whose writer is gone (see
    :func:`remove_stale_temps`): another program's files and a live run's
    temporary files are never touched. A missing folder is no error.
    """
    if not folder.is_dir():
        return []
    return [entry for entry in sorted(_temp_names(folder, recursive)) if _remove_if_stale(entry, max_age)]


def _temp_names(folder: Path, recursive: bool) -> list[Path]:
    """Files named like our temporary files under ``folder`` (``scandir``: 10,000 item folders in 0.1 s)."""
    found: list[Path] = []
    stack = [str(folder)]
    while stack:
        try:
            listing = os.scandir(stack.pop())
        except OSError:  # gone meanwhile, or not ours to read
            continue
        with listing:
            for entry in listing:
                name = entry.name
                if recursive and entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif name.startswith(".") and name.endswith(_TEMP_SUFFIX) and _TEMP_NAME.match(name):
                    found.append(Path(entry.path))
    return found


def _remove_if_stale(entry: Path, max_age: float) -> bool:
    match = _TEMP_NAME.match(entry.name)
    if match is None:
        return False
    with suppress(FileNotFoundError):
        if entry.is_file() and (not _alive(int(match["pid"])) or time.time() - entry.stat().st_mtime > max_age):
            entry.unlink()
            return True
    return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
