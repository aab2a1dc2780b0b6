"""atomic_write and replace_if_unchanged: mode, symlinks, compare-and-swap, leftovers."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.recorder import atomic
from orchestrator.recorder.atomic import (
    atomic_write,
    remove_stale_temps,
    replace_if_unchanged,
)


def test_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_bytes(b"old")
    target.chmod(0o640)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["plan.md"]


def test_new_file_gets_0644_minus_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write(tmp_path / "new.txt", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o640


def test_symlink_stays_a_link_and_its_target_is_written(tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_bytes(b"old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    atomic_write(link, b"new")
    assert link.is_symlink()
    assert real.read_bytes() == b"new"


def test_swap_refuses_when_the_file_changed_and_leaves_their_bytes(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_bytes(b"user edit")
    assert not replace_if_unchanged(target, b"ours", expected=b"what we read")
    assert target.read_bytes() == b"user edit"
    assert os.listdir(tmp_path) == ["plan.md"]
    assert replace_if_unchanged(target, b"ours", expected=b"user edit")
    assert target.read_bytes() == b"ours"


def test_save_landing_between_check_and_exchange_is_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if atomic._renameat2() is None:
        pytest.skip("no renameat2 here")
    target = tmp_path / "plan.md"
    target.write_bytes(b"first save")
    real_exchange = atomic._exchange
    calls: list[int] = []

    def exchange_after_a_save(a: Path, b: Path) -> bool:
        calls.append(1)
        if len(calls) == 1:  # an editor saves (by rename) after our check, just before our exchange
            saved = tmp_path / "editor.tmp"
            saved.write_bytes(b"second save")
            os.replace(saved, b)
        return real_exchange(a, b)

    monkeypatch.setattr(atomic, "_exchange", exchange_after_a_save)
    assert not replace_if_unchanged(target, b"ours", expected=b"first save")
    assert target.read_bytes() == b"second save"
    assert len(calls) == 2  # exchanged, then swapped straight back


def test_a_save_made_while_the_change_was_computed_is_never_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "plan.md"
    target.write_bytes(b"second save")  # what the editor saved after we read "first save"
    exchanged: list[int] = []
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: exchanged.append(1) or False)
    assert not replace_if_unchanged(target, b"ours", expected=b"first save")
    assert exchanged == [], "the file was compared before the exchange: ours never took its name"
    assert target.read_bytes() == b"second save"


def test_swap_without_exchange_support_compares_then_replaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "plan.md"
    target.write_bytes(b"user edit")
    assert not replace_if_unchanged(target, b"ours", b"old")
    assert target.read_bytes() == b"user edit"
    assert replace_if_unchanged(target, b"ours", b"user edit")
    assert target.read_bytes() == b"ours"


def test_swap_creates_only_if_absent(tmp_path: Path) -> None:
    target = tmp_path / "tracking.yaml"
    assert replace_if_unchanged(target, b"a", None)
    assert not replace_if_unchanged(target, b"b", None)
    assert target.read_bytes() == b"a"


def test_only_temps_of_dead_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_text("x")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".plan.md.{dead.stdout.strip()}-0123456789ab.tmp"
    live = tmp_path / f".plan.md.{os.getpid()}-0123456789ab.tmp"
    other = tmp_path / ".plan.md.notours.tmp"
    for path in (stale, live, other):
        path.write_text("partial")
    assert remove_stale_temps(target) == 1
    assert not stale.exists() and live.exists() and other.exists()


def test_failed_write_leaves_no_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "plan.md"
    target.write_bytes(b"old")

    def boom(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", boom)
    with pytest.raises(OSError, match="No space"):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["plan.md"]
