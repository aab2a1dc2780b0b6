"""Recorder end to end in one process: coalescing, exits, concurrent edits, tracking."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from orchestrator.errors import LockHeldError, RecordError
from orchestrator.plan.parser import read_plan
from orchestrator.recorder import Recorder, TrackingEntry, writes
from orchestrator.recorder import recorder as recorder_module
from orchestrator.recorder.atomic import replace_if_unchanged

HEAD = (
    "# Plan\n\n## Output Directory\nout/\n\n"
    "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
)


def _plan(tmp_path: Path, rows: int = 6) -> Path:
    lines = [f"| {i} | T{i} | f{i}.md | haiku | pending |\n" for i in range(1, rows + 1)]
    path = tmp_path / "plan.md"
    path.write_text(HEAD + "".join(lines) + "\nTail prose.\n")
    return path


def _statuses(path: Path) -> dict[str, str]:
    return {row.id: row.status for row in read_plan(path).rows()}


def test_many_rows_are_coalesced_into_few_writes(tmp_path: Path) -> None:
    plan = _plan(tmp_path, rows=500)
    with Recorder(plan, debounce=0.2) as rec:
        for i in range(1, 501):
            rec.set_status(1, str(i), f"f{i}.md", "complete")
    report = rec.report
    assert set(_statuses(plan).values()) == {"complete"}
    assert len(report.recorded) == 500
    assert report.writes <= 3


def test_timer_writes_without_an_explicit_flush(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with Recorder(plan, debounce=0.05) as rec:
        rec.set_status(1, "2", "f2.md", "complete")
        deadline = time.monotonic() + 5
        while _statuses(plan)["2"] != "complete" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _statuses(plan)["2"] == "complete"


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_pending_changes_are_flushed_on_error_exit(tmp_path: Path, error: type[BaseException]) -> None:
    plan = _plan(tmp_path)
    with pytest.raises(error), Recorder(plan, debounce=60) as rec:
        rec.set_status(1, "3", "f3.md", "complete")
        raise error
    assert _statuses(plan)["3"] == "complete"
    assert not Path(str(plan) + ".lock.owner").exists()


def test_a_second_recorder_on_the_same_plan_is_refused(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with Recorder(plan), pytest.raises(LockHeldError, match=r"plan\.md\.lock"):
        Recorder(plan).__enter__()


def test_user_edit_between_flushes_is_kept(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with Recorder(plan, debounce=60) as rec:
        text = plan.read_text()
        edited = "# Plan\n\nA new paragraph the user typed.\n" + text[len("# Plan\n") :]
        edited = edited.replace("| 4 | T4 |", "| 4 | Better title |")
        plan.write_text(edited)
        rec.set_status(1, "5", "f5.md", "complete")
        report = rec.flush()
    assert plan.read_text() == edited.replace("| f5.md | haiku | pending |", "| f5.md | haiku | complete |")
    assert report.recorded == [(1, "5")]


def test_row_the_user_removed_or_repointed_or_parked_is_reported(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with Recorder(plan, debounce=60) as rec:
        edited = (
            plan.read_text()
            .replace("| 1 | T1 | f1.md | haiku | pending |\n", "")
            .replace("| f2.md |", "| other.md |")
            .replace("| 3 | T3 | f3.md | haiku | pending |", "| 3 | T3 | f3.md | haiku | skipped |")
        )
        plan.write_text(edited)
        for i in (1, 2, 3):
            rec.set_status(1, str(i), f"f{i}.md", "complete")
        report = rec.flush()
    assert plan.read_text() == edited
    assert sorted(s[1] for s in report.skipped) == ["1", "2", "3"]
    assert report.recorded == []


def test_a_save_racing_the_swap_is_merged_not_lost(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path)
    raced: list[bool] = []

    def racing_swap(path: Path, data: bytes, expected: bytes | None) -> bool:
        if not raced:  # the user saves after our read, just before our replace
            raced.append(True)
            plan.write_text(plan.read_text() + "User line saved mid-write.\n")
        return replace_if_unchanged(path, data, expected)

    monkeypatch.setattr(writes, "replace_if_unchanged", racing_swap)
    with Recorder(plan, debounce=60) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
    text = plan.read_text()
    assert text.endswith("Tail prose.\nUser line saved mid-write.\n")
    assert _statuses(plan)["1"] == "complete"


def test_set_status_never_waits_for_a_write_in_progress(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with Recorder(plan, debounce=60) as rec, rec._io:  # a flush holding the disk
        started = time.perf_counter()
        for i in range(1, 7):
            rec.set_status(1, str(i), f"f{i}.md", "complete")
        assert time.perf_counter() - started < 0.05
    assert set(_statuses(plan).values()) == {"complete"}


def test_threads_recording_at_once_lose_nothing(tmp_path: Path) -> None:
    plan = _plan(tmp_path, rows=80)
    with Recorder(plan, debounce=0.001) as rec:

        def work(first: int) -> None:
            for i in range(first, 81, 8):
                rec.set_status(1, str(i), f"f{i}.md", "complete")
                time.sleep(0.001)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(1, 9)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert set(_statuses(plan).values()) == {"complete"}


def test_outputs_are_registered_once_in_the_plans_tracking_file(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    output = tmp_path / "out" / "f1.md"
    output.parent.mkdir()
    output.write_text("content\n")
    entry = TrackingEntry.for_output(output, title="T1", phase=1, row="1", model="haiku", tokens=10)
    with Recorder(plan, debounce=60) as rec:
        rec.register(entry)
        rec.flush()
        rec.register(entry)
    data = YAML(typ="safe").load((tmp_path / "plan.tracking.yaml").read_text())
    assert [e["path"] for e in data["outputs"]] == ["out/f1.md"]
    assert rec.report.registered == [output]


def test_broken_tracking_file_raises_but_statuses_are_written(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    (tmp_path / "plan.tracking.yaml").write_text("outputs: [broken\n")
    output = tmp_path / "f1.md"
    output.write_text("x")
    with pytest.raises(RecordError, match="not valid YAML"), Recorder(plan, debounce=60) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        rec.register(TrackingEntry.for_output(output, title="T", phase=1, row="1", model="m"))
    assert _statuses(plan)["1"] == "complete"
    assert (tmp_path / "plan.tracking.yaml").read_text() == "outputs: [broken\n"


def test_notes_are_written_and_dropped_when_the_row_completes(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    original = plan.read_text()
    with Recorder(plan, debounce=60) as rec:
        rec.note(1, "2", "f2.md", "category 'Consistent' is not one of the four")
        rec.flush()
        assert "- Phase 1, row 2 (f2.md): category 'Consistent'" in plan.read_text()
        rec.set_status(1, "2", "f2.md", "complete")
    assert plan.read_text() == original.replace("| f2.md | haiku | pending |", "| f2.md | haiku | complete |")


def test_a_symlinked_plan_is_recorded_through_the_link(tmp_path: Path) -> None:
    real = _plan(tmp_path)
    link = tmp_path / "link.md"
    link.symlink_to(real)
    with Recorder(link, debounce=60) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
    assert link.is_symlink()
    assert _statuses(real)["1"] == "complete"
    assert (tmp_path / "plan.md.lock").exists() and not (tmp_path / "link.md.lock").exists()


def test_missing_plan_is_an_error_and_leaves_no_lock_file(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="missing"):
        Recorder(tmp_path / "nope.md").__enter__()
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_the_final_flush_waits_for_it() -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), recorder_module._sigint_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        finished.append(True)
    assert finished == [True]


def test_plan_deleted_during_a_run_is_reported_with_a_fix(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with pytest.raises(RecordError) as err, Recorder(plan, debounce=60) as rec:
        plan.unlink()
        rec.set_status(1, "1", "f1.md", "complete")
        rec.flush()
    assert "missing" in err.value.message
    assert err.value.hint and "put it back" in err.value.hint


def test_a_failed_write_says_how_to_fix_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = _plan(tmp_path)

    def no_space(path: Path, data: bytes, expected: bytes | None) -> bool:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writes, "replace_if_unchanged", no_space)
    with pytest.raises(RecordError) as err, Recorder(plan, debounce=60) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        rec.flush()
    assert "No space left on device" in err.value.message
    assert err.value.hint and "folder" in err.value.hint
