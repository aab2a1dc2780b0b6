"""What a killed run leaves is put right, and a status the plan does not show is never success.

Unit level, in one process: the temporary-file sweep, the tracking file
reconciled with the plan's statuses, and the recorder's closing check
(``strict``) against saves that undo or hide its statuses.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from orchestrator.errors import RecordError
from orchestrator.plan.parser import read_plan
from orchestrator.recorder import Recorder
from orchestrator.recorder.atomic import remove_stale_temps_in
from orchestrator.recorder.reconcile import missing_entries

HEAD = (
    "# Plan\n\n## Output Directory\nout/\n\n## Validation Checklist\n1. Output registered in out/tracking.yaml\n\n"
    "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
)


def _plan(tmp_path: Path, statuses: list[str]) -> Path:
    lines = [f"| {i} | T{i} | f{i}.md | haiku | {s} |\n" for i, s in enumerate(statuses, start=1)]
    path = tmp_path / "plan.md"
    path.write_text(HEAD + "".join(lines))
    (tmp_path / "out").mkdir(exist_ok=True)
    return path


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_sweep_removes_dead_writers_temps_in_nested_folders_and_nothing_else(tmp_path: Path) -> None:
    dead = _dead_pid()
    nested = tmp_path / "batch" / "item-0001"
    nested.mkdir(parents=True)
    stale = [tmp_path / f".a.md.{dead}-0123456789ab.tmp", nested / f".response.json.{dead}-abcdefabcdef.tmp"]
    kept = [
        tmp_path / f".a.md.{os.getpid()}-0123456789ab.tmp",  # a live writer's (this process)
        tmp_path / ".a.md.notours.tmp",  # not our naming
        tmp_path / f"a.md.{dead}-0123456789ab.tmp",  # no leading dot: not ours
        tmp_path / f".a.md.{dead}-0123456789ab.tmp.bak",  # someone's copy
        nested / "notes.tmp",
    ]
    for path in (*stale, *kept):
        path.write_text("partial")
    assert sorted(remove_stale_temps_in(tmp_path)) == sorted(stale)
    assert all(p.exists() for p in kept) and not any(p.exists() for p in stale)
    assert remove_stale_temps_in(tmp_path / "missing") == []


def test_complete_rows_missing_from_the_tracking_file_are_registered_on_open(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["complete", "complete", "pending", "complete"])
    out = tmp_path / "out"
    for i in (1, 2, 3):  # row 4 is complete but its output is gone: nothing to register
        (out / f"f{i}.md").write_text(f"# doc {i}\n")
    (out / "tracking.yaml").write_text("outputs:\n- path: f2.md\n  title: T2\n")
    plan = read_plan(plan_path)
    assert [e.path.name for e in missing_entries(plan)] == ["f1.md"]
    with Recorder(plan_path, reconcile=plan) as rec:
        assert [p.name for p in rec.reconciled.registered] == ["f1.md"]
    tracking = (out / "tracking.yaml").read_text()
    assert "path: f1.md" in tracking and "path: f2.md" in tracking
    assert "f3.md" not in tracking and "f4.md" not in tracking, "pending rows and missing outputs are left alone"
    assert missing_entries(read_plan(plan_path)) == []


def test_opening_sweeps_the_output_folder_and_the_given_folders(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending"])
    dead = _dead_pid()
    batch = tmp_path / "data" / "b"
    batch.mkdir(parents=True)
    left = [tmp_path / "out" / f".f1.md.{dead}-0123456789ab.tmp", batch / f".ledger.jsonl.{dead}-0123456789ab.tmp"]
    for path in left:
        path.write_text("")
    with Recorder(plan_path, reconcile=read_plan(plan_path), sweep=[batch]) as rec:
        assert sorted(rec.reconciled.temps_removed) == sorted(left)
    assert not any(p.exists() for p in left)


def test_strict_recorder_fails_when_a_later_save_undoes_its_status(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending", "pending"])
    original = plan_path.read_text()
    undone = r"1 of 2 status\(es\) were not recorded.*row 2: written complete"
    with pytest.raises(RecordError, match=undone), Recorder(plan_path, debounce=60, strict=True) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        rec.set_status(1, "2", "f2.md", "complete")
        rec.flush()
        # an editor that held the old text saves it again, keeping row 1's status only
        plan_path.write_text(original.replace("| f1.md | haiku | pending |", "| f1.md | haiku | complete |"))


def test_strict_recorder_fails_for_a_row_it_could_not_record(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending", "pending"])
    plan_path.write_text(plan_path.read_text().replace("| 2 | T2 | f2.md |", "| 2 | T2 | renamed.md |"))
    with (
        pytest.raises(RecordError, match=r"row 2: row now names 'renamed\.md'") as caught,
        Recorder(plan_path, debounce=60, strict=True) as rec,
    ):
        rec.set_status(1, "1", "f1.md", "complete")
        rec.set_status(1, "2", "f2.md", "complete")
    assert "run the same command again" in (caught.value.hint or "")
    assert "| f1.md | haiku | complete |" in plan_path.read_text()


def test_strict_check_waits_for_a_plan_being_saved_in_place(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending"])
    with Recorder(plan_path, debounce=60, strict=True) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        rec.flush()
        text = plan_path.read_text()
        plan_path.write_text("")  # an in-place save: truncated, then written 0.2 s later

        def finish() -> None:
            time.sleep(0.2)
            plan_path.write_text(text + "\nA line the editor added.\n")

        saver = threading.Thread(target=finish)
        saver.start()
    saver.join()
    assert read_plan(plan_path).phases[0].rows[0].status == "complete"


def test_strict_recorder_is_quiet_when_everything_landed(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending", "pending"])
    with Recorder(plan_path, debounce=60, strict=True) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        rec.set_status(1, "2", "f2.md", "complete")
    assert {row.status for row in read_plan(plan_path).rows()} == {"complete"}


def test_a_plan_caught_empty_mid_save_is_never_written_over(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending", "pending"])
    text = plan_path.read_text()
    with Recorder(plan_path, debounce=60, strict=True) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        plan_path.write_text("")  # an editor saving in place: truncated...

        def finish() -> None:
            time.sleep(0.3)  # ... and written 0.3 s later, with a line of its own
            plan_path.write_text(text + "\nThe editor's line.\n")

        saver = threading.Thread(target=finish)
        saver.start()
        rec.flush()
        saver.join()
    after = plan_path.read_text()
    assert "The editor's line." in after, "the save was not overwritten"
    assert "| f1.md | haiku | complete |" in after and "| f2.md | haiku | pending |" in after


def test_rows_missing_from_a_plan_cut_short_are_believed_only_once_it_stands_still(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending", "pending"])
    cut = plan_path.read_text().split("| 2 | T2")[0]
    with Recorder(plan_path, debounce=60) as rec:
        rec.set_status(1, "2", "f2.md", "complete")
        plan_path.write_text(cut)  # row 2 really removed (the file then stands still)
        started = time.monotonic()
        report = rec.flush()
    assert time.monotonic() - started >= 0.05, "read again before believing the row is gone"
    assert [s[1] for s in report.skipped] == ["2"] and plan_path.read_text() == cut


def test_load_settled_reads_again_a_plan_refused_while_it_is_being_saved(tmp_path: Path) -> None:
    from campaignkit import make_project

    from orchestrator.errors import BadInputError
    from orchestrator.plan.check import load_checked_plan
    from orchestrator.recorder.writes import load_settled

    plan_path = make_project(tmp_path / "p", rows=3).plan
    text = plan_path.read_text()
    plan_path.write_text(text.split("## Phase 1")[0])  # caught half saved: no phase yet
    reads: list[int] = []

    def load(path: Path) -> object:
        reads.append(1)
        if len(reads) == 1:
            try:
                return load_checked_plan(path)
            finally:
                plan_path.write_text(text)  # the save completes while the first read is judged
        return load_checked_plan(path)

    plan = load_settled(plan_path, load)
    assert len(reads) == 2 and len(list(plan.rows())) == 3  # type: ignore[attr-defined]
    plan_path.write_text("# a plan that is simply bad\n")
    started = time.monotonic()
    with pytest.raises(BadInputError):
        load_settled(plan_path, load_checked_plan)
    assert time.monotonic() - started < 1.0, "the refusal of a file that stands still is not retried for long"


def test_a_holder_killed_while_writing_the_lock_owner_leaves_no_temp_file(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending"])
    left = tmp_path / f".plan.md.lock.owner.{_dead_pid()}-0123456789ab.tmp"  # found by the crash campaign
    left.write_text('{"pid": ')
    with Recorder(plan_path):
        pass
    assert not left.exists()


def test_a_status_undone_between_two_flushes_fails_the_strict_recorder(tmp_path: Path) -> None:
    plan_path = _plan(tmp_path, ["pending", "pending"])
    with (
        pytest.raises(RecordError, match=r"row 1: written complete, but a later save of the plan made it 'pending'"),
        Recorder(plan_path, debounce=60, strict=True) as rec,
    ):
        rec.set_status(1, "1", "f1.md", "complete")
        rec.flush()
        undone = plan_path.read_text().replace("| f1.md | haiku | complete |", "| f1.md | haiku | pending |")
        plan_path.write_text(undone)  # an editor holding the older text saves it
        rec.set_status(1, "2", "f2.md", "complete")
        rec.flush()
    assert "| f2.md | haiku | complete |" in plan_path.read_text()


def test_closing_check_of_a_plan_still_holding_the_last_write_parses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from orchestrator.recorder import recorder as recorder_module

    plan_path = _plan(tmp_path, ["pending", "pending"])
    with Recorder(plan_path, debounce=60, strict=True) as rec:
        rec.set_status(1, "1", "f1.md", "complete")
        rec.set_status(1, "2", "f2.md", "complete")
        rec.flush()

        def no_parse(*args: object, **kwargs: object) -> None:
            raise AssertionError("a 10,000-row plan would be parsed once more for nothing")

        monkeypatch.setattr(recorder_module, "parse_plan", no_parse)
    assert {row.status for row in read_plan(plan_path).rows()} == {"complete"}


def test_outputs_folders_are_swept_but_a_whole_repository_is_not_walked(tmp_path: Path) -> None:
    plan_path = tmp_path / "plan.md"  # the Output Directory is the plan's own folder, e.g. a repository
    plan_path.write_text(HEAD.replace("out/", "./") + "| 1 | T1 | cards/f1.md | haiku | pending |\n")
    dead = _dead_pid()
    (tmp_path / "cards").mkdir()
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    beside_output = tmp_path / "cards" / f".f1.md.{dead}-0123456789ab.tmp"
    elsewhere = tmp_path / "node_modules" / "pkg" / f".x.js.{dead}-0123456789ab.tmp"
    for path in (beside_output, elsewhere):
        path.write_text("")
    with Recorder(plan_path, reconcile=read_plan(plan_path)) as rec:
        assert rec.reconciled.temps_removed == [beside_output]
    assert elsewhere.exists(), "folders holding no output are not walked"
