"""set_statuses: exact cell rewrites, identity checks, case style, aligned tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.plan.parser import parse_plan
from orchestrator.recorder.cells import case_style, set_statuses
from orchestrator.recorder.updates import apply_plan_updates

GLOSSARY = (Path(__file__).parents[2] / "plans" / "glossary.md").read_text(encoding="utf-8")


def test_compact_row_changes_only_its_status_word() -> None:
    new, skipped = set_statuses(GLOSSARY, {(1, "2"): ("quorum.md", "complete")})
    assert skipped == []
    old_lines, new_lines = GLOSSARY.splitlines(True), new.splitlines(True)
    diff = [(a, b) for a, b in zip(old_lines, new_lines, strict=True) if a != b]
    assert diff == [
        ("| 2 | Quorum | quorum.md | haiku | pending |\n", "| 2 | Quorum | quorum.md | haiku | complete |\n")
    ]


def test_unknown_row_and_changed_filename_are_skipped_with_reasons() -> None:
    new, skipped = set_statuses(GLOSSARY, {(1, "42"): ("x.md", "complete"), (1, "3"): ("renamed.md", "complete")})
    assert new == GLOSSARY
    reasons = {row: reason for _, row, reason in skipped}
    assert "not found" in reasons["42"]
    assert "'backpressure.md'" in reasons["3"] and "'renamed.md'" in reasons["3"]


def test_phase_number_is_part_of_identity() -> None:
    _, skipped = set_statuses(GLOSSARY, {(2, "2"): ("quorum.md", "complete")})
    assert [s[:2] for s in skipped] == [(2, "2")]


def test_user_status_such_as_skipped_is_left_alone() -> None:
    text = GLOSSARY.replace(
        "| 4 | Fencing Token | fencing-token.md | haiku | pending |",
        "| 4 | Fencing Token | fencing-token.md | haiku | skipped |",
    )
    new, skipped = set_statuses(text, {(1, "4"): ("fencing-token.md", "complete")})
    assert new == text
    assert "'skipped'" in skipped[0][2]


@pytest.mark.parametrize("status", ["running", "failed", ""])
def test_only_durable_states_can_be_written(status: str) -> None:
    with pytest.raises(ValueError, match="only records"):
        set_statuses(GLOSSARY, {(1, "2"): ("quorum.md", status)})


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Pending", "Complete", "pending"], "Complete"),
        (["PENDING"], "COMPLETE"),
        (["pending"], "complete"),
        ([], "complete"),
    ],
)
def test_case_style_follows_the_plan(values: list[str], expected: str) -> None:
    assert case_style(values)("complete") == expected


def test_written_value_uses_the_plans_case() -> None:
    text = GLOSSARY.replace("| pending |", "| PENDING |").replace("| complete |", "| COMPLETE |")
    new, _ = set_statuses(text, {(1, "2"): ("quorum.md", "complete")})
    assert "| 2 | Quorum | quorum.md | haiku | COMPLETE |" in new



def test_each_cell_keeps_its_own_case() -> None:
    """A lower-case table in a plan that mostly writes ``Pending`` stays lower case, and vice versa."""
    text = (GLOSSARY.replace("| 2 | Quorum | quorum.md | haiku | pending |",
                             "| 2 | Quorum | quorum.md | haiku | Pending |")
            .replace("| 3 | Backpressure | backpressure.md | haiku | pending |",
                     "| 3 | Backpressure | backpressure.md | haiku | PENDING |"))
    new, _ = set_statuses(text, {(1, "2"): ("quorum.md", "complete"), (1, "3"): ("backpressure.md", "complete"),
                                 (1, "4"): ("fencing-token.md", "complete")})
    assert "| 2 | Quorum | quorum.md | haiku | Complete |" in new
    assert "| 3 | Backpressure | backpressure.md | haiku | COMPLETE |" in new
    assert "| 4 | Fencing Token | fencing-token.md | haiku | complete |" in new


def test_a_cell_in_no_clear_case_follows_the_plan() -> None:
    text = GLOSSARY.replace("| pending |", "| PENDING |").replace(
        "| 2 | Quorum | quorum.md | haiku | PENDING |", "| 2 | Quorum | quorum.md | haiku | pEnding |")
    new, _ = set_statuses(text, {(1, "2"): ("quorum.md", "complete")})
    assert "| 2 | Quorum | quorum.md | haiku | COMPLETE |" in new

def test_crlf_bom_and_trailing_spaces_survive() -> None:
    text = "\ufeff" + GLOSSARY.replace("\n", "  \r\n")
    new, _ = set_statuses(text, {(1, "2"): ("quorum.md", "complete")})
    assert new == text.replace(
        "| 2 | Quorum | quorum.md | haiku | pending |", "| 2 | Quorum | quorum.md | haiku | complete |"
    )


ALIGNED = """## Phase 1
| #   | Title  | Filename | Status  |
| --- | ------ | -------- | ------- |
| 1   | A \\| B | a.md     | pending |
| 2   | B      | b.md     | skipped |
"""


def test_aligned_column_is_repadded_in_every_row_and_delimiter() -> None:
    new, _ = set_statuses(ALIGNED, {(1, "1"): ("a.md", "complete")})
    assert (
        new
        == """## Phase 1
| #   | Title  | Filename | Status   |
| --- | ------ | -------- | -------- |
| 1   | A \\| B | a.md     | complete |
| 2   | B      | b.md     | skipped  |
"""
    )
    assert set_statuses(new, {(1, "1"): ("a.md", "pending")})[0] == new.replace("complete", "pending ")


def test_right_aligned_column_pads_on_the_left() -> None:
    text = "## Phase 1\n| # | Filename |  Status |\n|---|----------|--------:|\n| 1 | a.md     | pending |\n"
    new, _ = set_statuses(text, {(1, "1"): ("a.md", "complete")})
    assert new == (
        "## Phase 1\n| # | Filename |   Status |\n|---|----------|---------:|\n| 1 | a.md     | complete |\n"
    )


def test_missing_status_cell_is_reported() -> None:
    text = "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n| 1 | A | a.md | haiku |\n"
    new, skipped = set_statuses(text, {(1, "1"): ("a.md", "complete")})
    assert new == text
    assert "empty" in skipped[0][2]


def test_edit_guard_keeps_a_status_the_user_changed_meanwhile() -> None:
    known = GLOSSARY
    users = GLOSSARY.replace(
        "| 1 | Idempotency | idempotency.md | haiku | complete |",
        "| 1 | Idempotency | idempotency.md | haiku | pending |",
    )
    update = apply_plan_updates(users, Path("plan.md"), {(1, "1"): ("idempotency.md", "complete")}, {}, known)
    assert update.text == users
    assert "changed in the plan meanwhile" in update.skipped[0][2]


def test_recorded_complete_drops_the_rows_run_note() -> None:
    noted = apply_plan_updates(GLOSSARY, Path("p.md"), {}, {(1, "2"): ("quorum.md", "bad category")})
    assert "- Phase 1, row 2 (quorum.md): bad category" in noted.text
    done = apply_plan_updates(noted.text, Path("p.md"), {(1, "2"): ("quorum.md", "complete")}, {})
    assert "Run Notes" not in done.text
    assert done.text == set_statuses(GLOSSARY, {(1, "2"): ("quorum.md", "complete")})[0]
    assert parse_plan(done.text).find_row("2", 1).status == "complete"  # type: ignore[union-attr]


def test_a_table_in_a_blockquote_keeps_its_markers() -> None:
    text = GLOSSARY.replace("| 2 | Quorum | quorum.md | haiku | pending |",
                            "> | 2 | Quorum | quorum.md | haiku | pending |")
    # the whole Phase 1 table quoted, so it is still one table
    lines = text.split("\n")
    start = lines.index("## Phase 1") + 1
    end = lines.index("## Phase 2") - 1
    for i in range(start, end):
        if not lines[i].startswith(">"):
            lines[i] = "> " + lines[i]
    text = "\n".join(lines)
    new, skipped = set_statuses(text, {(1, "2"): ("quorum.md", "complete")})
    assert skipped == []
    assert new == text.replace("> | 2 | Quorum | quorum.md | haiku | pending |",
                               "> | 2 | Quorum | quorum.md | haiku | complete |")
