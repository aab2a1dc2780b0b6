"""atomic_write and replace_if_unchanged: mode, symlinks, compare-and-swap, leftovers."""

from __future__ import annotations

import os
import stat
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


def test_swap_refuses_when_the_file_changed(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_bytes(b"user edit")
    outcome = replace_if_unchanged(target, b"ours", expected=b"what we read")
    assert not outcome.ok
    assert outcome.found == b"user edit"
    if outcome.written:  # exchanged: our bytes are in place, theirs handed back
        assert target.read_bytes() == b"ours"
    else:
        assert target.read_bytes() == b"user edit"
    assert sorted(os.listdir(tmp_path)) == ["plan.md"]


def test_swap_without_exchange_support_compares_then_replaces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(atomic, "_exchange", lambda a, b: False)
    target = tmp_path / "plan.md"
    target.write_bytes(b"user edit")
    assert replace_if_unchanged(target, b"ours", b"old") == atomic.Swap(False, b"user edit")
    assert target.read_bytes() == b"user edit"
    assert replace_if_unchanged(target, b"ours", b"user edit").ok
    assert target.read_bytes() == b"ours"


def test_swap_creates_only_if_absent(tmp_path: Path) -> None:
    target = tmp_path / "tracking.yaml"
    assert replace_if_unchanged(target, b"a", None).ok
    outcome = replace_if_unchanged(target, b"b", None)
    assert (outcome.ok, outcome.found) == (False, b"a")
    assert target.read_bytes() == b"a"


def test_stale_temps_are_removed_but_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "plan.md"
    target.write_text("x")
    stale = tmp_path / ".plan.md.0123456789ab.tmp"
    stale.write_text("partial")
    other = tmp_path / ".plan.md.notours.tmp"
    other.write_text("keep")
    assert remove_stale_temps(target) == 1
    assert not stale.exists() and other.exists()


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
