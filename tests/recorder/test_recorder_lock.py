"""The plan lock: refusal naming the holder, waiting, takeover after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestrator.errors import LockHeldError
from orchestrator.recorder.lock import PlanLock, holder_description

HOLD = """
import sys, time
from orchestrator.recorder.lock import PlanLock
lock = PlanLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(60)
"""


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.md"
    path.write_text("# Plan\n")
    return path


def test_second_holder_is_refused_with_lock_file_pid_and_command(plan: Path) -> None:
    with PlanLock(plan), pytest.raises(LockHeldError) as caught:
        PlanLock(plan).acquire()
    error = caught.value
    assert str(plan) + ".lock" in error.message
    assert f"pid {os.getpid()}" in error.message
    assert error.hint is not None and "--wait" in error.hint


def test_owner_sidecar_names_holder_and_goes_on_release(plan: Path) -> None:
    lock = PlanLock(plan)
    with lock:
        owner = json.loads(lock.owner_path.read_text())
        assert owner["pid"] == os.getpid()
        assert owner["command"]
    assert not lock.owner_path.exists()
    assert lock.path.exists()  # flock files stay: deleting one would split waiters


def test_wait_queues_behind_the_holder(plan: Path) -> None:
    first = PlanLock(plan)
    first.acquire()
    timer = threading.Timer(0.3, first.release)
    timer.start()
    started = time.monotonic()
    with PlanLock(plan, wait=True, timeout=10):
        waited = time.monotonic() - started
    timer.join()
    assert waited >= 0.25


def test_wait_with_timeout_gives_up_with_the_same_error(plan: Path) -> None:
    with PlanLock(plan), pytest.raises(LockHeldError):
        PlanLock(plan, wait=True, timeout=0.2).acquire()


def test_lock_of_a_killed_process_is_taken_over(plan: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", HOLD, str(plan)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with pytest.raises(LockHeldError, match=f"pid {child.pid}"):
            PlanLock(plan).acquire()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert "has exited" in holder_description(plan)  # the sidecar is stale now
    with PlanLock(plan) as lock:  # no manual cleanup: the kernel dropped the flock
        assert json.loads(lock.owner_path.read_text())["pid"] == os.getpid()
