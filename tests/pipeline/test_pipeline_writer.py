"""The writer thread and its checkpoint process: what lands, in which order, and what a failure says."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from orchestrator.pipeline.store import checkpoint_helper, checkpoint_process
from orchestrator.pipeline.store.checkpoint_helper import CheckpointProcessError
from orchestrator.pipeline.store.writer import Writer

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="POSIX signals; dies with its parent on Linux")


def _temps(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


@pytest.mark.parametrize("helper", [True, False], ids=["process", "thread"])
def test_deferred_checkpoints_land_by_the_drain_and_the_last_change_wins(tmp_path: Path, helper: bool) -> None:
    with Writer(helper=helper) as writer:
        for i in range(200):
            writer.replace(tmp_path / f"item-{i:04d}" / "raw.json", f"first {i}".encode(), deferred=True)
        writer.replace(tmp_path / "item-0007" / "raw.json", b"second", deferred=True)
        writer.remove(tmp_path / "item-0008" / "raw.json", deferred=True)
        writer.replace(tmp_path / "item-0009" / "raw.json", b"now", deferred=False)  # after its deferred one
        writer.drain()
        assert (tmp_path / "item-0000" / "raw.json").read_bytes() == b"first 0"
        assert (tmp_path / "item-0199" / "raw.json").read_bytes() == b"first 199"
        assert (tmp_path / "item-0007" / "raw.json").read_bytes() == b"second"
        assert not (tmp_path / "item-0008" / "raw.json").exists()
        assert (tmp_path / "item-0009" / "raw.json").read_bytes() == b"now"
    assert (writer._helper is not None) == helper  # the process ran only where asked for
    assert _temps(tmp_path) == []


def test_a_drain_that_leaves_deferred_ones_does_not_wait_for_them_but_the_writers_end_does(tmp_path: Path) -> None:
    with Writer() as writer:
        writer.replace(tmp_path / "a" / "out.md", b"output")
        writer.replace(tmp_path / "a" / "raw.json", b"checkpoint", deferred=True)
        writer.drain(deferred=False)
        assert (tmp_path / "a" / "out.md").read_bytes() == b"output"
    assert (tmp_path / "a" / "raw.json").read_bytes() == b"checkpoint"


def test_more_than_the_pipe_holds_is_sent_whole_while_ledger_lines_keep_committing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint_helper, "BACKLOG_BYTES", 1 << 16)
    blob = os.urandom(1 << 17)  # each checkpoint larger than the backlog allowed: the thread holds the rest
    with Writer() as writer:
        for i in range(40):
            writer.replace(tmp_path / f"i{i}" / "response.md", blob + bytes([i]), deferred=True)
            writer.append(tmp_path / "ledger.jsonl", f'{{"n": {i}}}\n'.encode()).result(timeout=30)
        writer.drain()
    assert all((tmp_path / f"i{i}" / "response.md").read_bytes() == blob + bytes([i]) for i in range(40))
    assert len((tmp_path / "ledger.jsonl").read_text().splitlines()) == 40


def test_a_checkpoint_the_process_cannot_write_fails_the_drain_naming_it(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be")
    with pytest.raises(CheckpointProcessError, match=r"blocked/raw\.json"), Writer() as writer:
        writer.replace(tmp_path / "blocked" / "raw.json", b"x", deferred=True)
        writer.drain()


@linux_only
def test_a_killed_checkpoint_process_fails_the_drain_instead_of_losing_files_silently(tmp_path: Path) -> None:
    with pytest.raises(CheckpointProcessError, match="stopped"), Writer() as writer:
        writer.replace(tmp_path / "a" / "raw.json", b"x", deferred=True)
        writer.drain()
        assert writer._helper is not None
        os.kill(writer._helper._process.pid, signal.SIGKILL)
        writer._helper._process.wait()
        writer.replace(tmp_path / "b" / "raw.json", b"y", deferred=True)
        writer.drain()


def test_a_frame_cut_short_by_a_killed_parent_is_not_applied(tmp_path: Path) -> None:
    target, temp = os.fsencode(tmp_path / "raw.json"), os.fsencode(tmp_path / ".raw.json.1-000000000000.tmp")
    frame = checkpoint_process.HEADER.pack(checkpoint_process.REPLACE, len(target), len(temp), 5) + target + temp
    answers = io.BytesIO()
    crash = checkpoint_process._Crash("", os.getpid())
    assert checkpoint_process.serve(io.BytesIO(frame + b"par"), answers, crash) == 0
    assert list(tmp_path.iterdir()) == [] and answers.getvalue() == b""
    assert checkpoint_process.serve(io.BytesIO(frame + b"whole"), answers, crash) == 0
    assert (tmp_path / "raw.json").read_bytes() == b"whole" and _temps(tmp_path) == []


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from orchestrator.pipeline.store.writer import Writer
    root = Path(sys.argv[1])
    with Writer() as writer:
        for i in range(50):
            writer.replace(root / f"i{i}" / "raw.json", b"x", deferred=True)
        writer.drain()
        print("drained", flush=True)
        time.sleep(60)
    """
)


@linux_only
@pytest.mark.parametrize("point", ["staged:3", "replaced:20"])
def test_a_crash_instant_in_the_checkpoint_process_kills_the_command_too(tmp_path: Path, point: str) -> None:
    env = {**os.environ, "ORCHESTRATE_CRASH_AT": point}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path)], env=env, capture_output=True, timeout=60)
    assert done.returncode == -signal.SIGKILL and b"drained" not in done.stdout
    replaced = list(tmp_path.rglob("raw.json"))
    assert len(replaced) == int(point.split(":")[1]) - (point.startswith("staged"))


@linux_only
def test_the_checkpoint_process_dies_with_a_killed_command(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "drained"
        helpers = _children(child.pid)
        assert len(helpers) == 1
    finally:
        child.kill()
        child.wait()
    for pid in helpers:
        _wait_gone(pid)


def _children(pid: int) -> list[int]:
    """Every child of ``pid``, whichever of its threads started it."""
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return [int(child) for task in tasks for child in (task / "children").read_text().split()]


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            status = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except FileNotFoundError:
            return
        if status in {"Z", "X"}:
            return
        time.sleep(0.02)
    raise AssertionError(f"checkpoint process {pid} outlived the killed command")


@pytest.mark.parametrize("executable", ["/bin/true", "/nonexistent/python", ""], ids=["silent", "missing", "none"])
def test_where_the_checkpoint_process_cannot_run_the_thread_writes_the_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, executable: str
) -> None:
    monkeypatch.setattr(sys, "executable", executable)
    with Writer() as writer:
        writer.replace(tmp_path / "a" / "raw.json", b"held", deferred=True)
        writer.drain()
        assert writer._helper is None
        assert (tmp_path / "a" / "raw.json").read_bytes() == b"held"


def test_an_output_goes_through_the_checkpoint_process_and_what_waits_for_it_runs_once_it_is_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def not_here(self: Writer, path: Path, data: bytes) -> None:
        raise AssertionError(f"{path} was written by the writer thread")

    monkeypatch.setattr(Writer, "_replace_derived", not_here)
    seen: list[tuple[int, bytes]] = []

    def recorded(i: int) -> None:
        seen.append((i, (tmp_path / "out" / f"{i}.md").read_bytes()))  # in place when its row is recorded

    with Writer() as writer:
        writer.replace(tmp_path / "item" / "raw.json", b"checkpoint", deferred=True)  # starts the process
        for i in range(50):
            writer.replace(tmp_path / "out" / f"{i}.md", f"output {i}".encode(), then=lambda i=i: recorded(i))
        writer.drain(deferred=False)  # the outputs before their rows are recorded, as the recorder asks
        assert seen == [(i, f"output {i}".encode()) for i in range(50)]
        assert writer._helper is not None and writer._helper.unanswered == 0
    assert _temps(tmp_path) == []


def test_an_output_the_process_cannot_write_fails_the_drain_and_its_row_is_never_recorded(tmp_path: Path) -> None:
    (tmp_path / "blocked").write_text("a file where a folder should be")
    recorded: list[str] = []
    with pytest.raises(CheckpointProcessError, match=r"blocked/out\.md"), Writer() as writer:
        writer.replace(tmp_path / "item" / "raw.json", b"checkpoint", deferred=True)
        writer.replace(tmp_path / "blocked" / "out.md", b"x", then=lambda: recorded.append("row"))
        writer.drain(deferred=False)
    assert recorded == []


def test_outputs_are_answered_without_a_drain_while_the_calls_go_on(tmp_path: Path) -> None:
    recorded: list[int] = []
    with Writer() as writer:
        writer.replace(tmp_path / "item" / "raw.json", b"checkpoint", deferred=True)
        writer.replace(tmp_path / "out.md", b"x", then=lambda: recorded.append(1))
        deadline = time.monotonic() + 30
        while not recorded and time.monotonic() < deadline:  # the thread looks for the answer by itself
            time.sleep(0.01)
        assert recorded == [1]


def test_the_checkpoint_helper_counts_the_barriers_answered(tmp_path: Path) -> None:
    helper = checkpoint_helper.CheckpointHelper.start()
    assert helper is not None
    try:
        helper.replace(tmp_path / "a.md", b"a")
        helper.barrier()
        helper.replace(tmp_path / "b.md", b"b")
        helper.barrier()
        helper.send()
        answered = 0
        deadline = time.monotonic() + 30
        while answered < 2 and time.monotonic() < deadline:
            answered += helper.answered()
        assert answered == 2 and helper.unanswered == 0
        assert (tmp_path / "b.md").read_bytes() == b"b"
        helper.barrier()
        assert helper.wait() == 1  # the earlier barrier, answered meanwhile; its own is not counted
        assert helper.answered() == 0
    finally:
        helper.close()
