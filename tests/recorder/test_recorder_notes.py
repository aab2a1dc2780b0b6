"""The ``## Run Notes`` section the tool owns."""

from __future__ import annotations

from orchestrator.recorder.notes import read_notes, set_run_notes

PLAN = "# Plan\r\n\r\n## Phase 1\r\n| # | Filename | Status |\r\n|---|---|---|\r\n| 3 | b.md | pending |\r\n"
REASON = "category 'Consistent' is not one of Consistency, Concurrency"


def test_section_is_created_at_the_end_in_the_files_line_endings() -> None:
    text = set_run_notes(PLAN, {(1, "3"): ("b.md", REASON)})
    assert text == PLAN + "\r\n## Run Notes\r\n\r\n- Phase 1, row 3 (b.md): " + REASON + "\r\n"


def test_reason_is_folded_onto_one_line() -> None:
    text = set_run_notes(PLAN, {(1, "3"): ("b.md", "line one\n  line two")})
    assert read_notes(text) == {(1, "3"): ("b.md", "line one line two")}


def test_notes_are_merged_sorted_and_cleared() -> None:
    text = set_run_notes(PLAN, {(1, "10"): ("j.md", "x"), (1, "3"): ("b.md", "y")})
    text = set_run_notes(text, {(1, "2"): ("a.md", "z")})
    items = [line for line in text.splitlines() if line.startswith("- Phase")]
    assert [i.split(" (")[0] for i in items] == ["- Phase 1, row 2", "- Phase 1, row 3", "- Phase 1, row 10"]
    text = set_run_notes(text, {(1, "3"): ("b.md", None)}, complete=[(1, "10")])
    assert read_notes(text) == {(1, "2"): ("a.md", "z")}


def test_empty_section_is_removed_leaving_the_plan_as_it_was() -> None:
    text = set_run_notes(PLAN, {(1, "3"): ("b.md", REASON)})
    assert set_run_notes(text, {}, complete=[(1, "3")]) == PLAN


def test_only_the_section_is_rewritten_when_it_sits_mid_file() -> None:
    before = "# P\n\n## Run Notes\n\nHand-written remark.\n- Phase 1, row 1 (a.md): old\n\n## Later\ntext\n"
    after = set_run_notes(before, {(1, "1"): ("a.md", "new")})
    assert after == "# P\n\n## Run Notes\n\nHand-written remark.\n- Phase 1, row 1 (a.md): new\n\n## Later\ntext\n"


def test_heading_inside_a_code_fence_is_not_the_section() -> None:
    before = "# P\n\n```\n## Run Notes\n- Phase 1, row 1 (a.md): fake\n```\n"
    after = set_run_notes(before, {(1, "2"): ("b.md", "real")})
    assert after.startswith(before)
    assert after.count("## Run Notes") == 2


def test_unchanged_notes_return_the_same_text() -> None:
    text = set_run_notes(PLAN, {(1, "3"): ("b.md", REASON)})
    assert set_run_notes(text, {(1, "3"): ("b.md", REASON)}) is text
