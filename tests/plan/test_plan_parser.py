"""The plan parser on every GFM table and plan form a person writes.

Each variant is a small plan built here, written to ``tmp_path`` as bytes (so
CRLF, CR and the BOM are exactly what the file holds), read back with
``read_plan``, and compared row by row: phase, #, title, filename, model,
status and the 1-based source line. Lines are given either as numbers or as a
marker: a substring found on exactly one line of the plan text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from orchestrator.plan.model import Plan
from orchestrator.plan.parser import parse_plan, read_plan
from orchestrator.plan.table_syntax import (
    content_bounds,
    escape,
    is_delimiter_row,
    split_cells,
    unescape,
)

Where = int | str  # a 1-based line number, or a marker found on exactly one line
# phase, #, title, filename, model, status, line
RowSpec = tuple[int, str, str, str, str, str, Where]
SectionSpec = tuple[Where, list[tuple[str, Where]]]  # heading line, [(item text, item line)]


def line_of(text: str, where: Where) -> int:
    """The 1-based line holding ``where`` (which must occur on exactly one line)."""
    if isinstance(where, int):
        return where
    hits = [n for n, line in enumerate(text.split("\n"), start=1) if where in line]
    assert len(hits) == 1, f"marker {where!r} found on lines {hits}"
    return hits[0]


HEAD = """\
# Batch Creation Plan

## Format Reference
output/idempotency.md

## Output Directory
output/

## Content Rules
- Every output needs front matter: term, category, tags
- Blank line before every markdown table

## Validation Checklist
1. Front matter includes term, category, and at least 2 tags
2. Output registered in output/tracking.yaml

"""

STD_SECTIONS: dict[str, SectionSpec] = {
    "format reference": (3, [("output/idempotency.md", 4)]),
    "output directory": (6, [("output/", 7)]),
    "content rules": (9, [("Every output needs front matter: term, category, tags", 10),
                          ("Blank line before every markdown table", 11)]),
    "validation checklist": (13, [("Front matter includes term, category, and at least 2 tags", 14),
                                  ("Output registered in output/tracking.yaml", 15)]),
}

T = "| # | Title | Filename | Model | Status |\n|---|-------|----------|-------|--------|\n"

SEED_PLAN = """\
# Batch Creation Plan

## Format Reference
output/idempotency.md

## Output Directory
output/

## Content Rules
- Every output needs front matter: term, category, tags
- category must be one of: Consistency, Concurrency, Scalability, Reliability
- Include Definition, Details, and Related Terms sections, in that order
- Blank line before every markdown table

## Validation Checklist
1. Front matter includes term, category, and at least 2 tags
2. category is one of the four values listed in Content Rules
3. Definition, Details, and Related Terms sections present, in that order
4. Linter passes: <lint-command> <filepath>
5. Output registered in <tracking-file>

## Phase 1
| # | Title | Filename | Model | Status |
|---|-------|----------|-------|--------|
| 1 | Idempotency | idempotency.md | haiku | complete |
| 2 | Quorum | quorum.md | haiku | pending |
| 3 | Backpressure | backpressure.md | haiku | pending |
| 4 | Fencing Token | fencing-token.md | haiku | pending |
| 5 | Vector Clock | vector-clock.md | haiku | pending |
| 6 | Circuit Breaker | circuit-breaker.md | haiku | pending |

## Phase 2
| # | Title | Filename | Model | Status |
|---|-------|----------|-------|--------|
| 7 | CAP Theorem: What Consistency and Availability Each Cost (synthesis) | cap-theorem.md | sonnet | pending |
| 8 | Optimistic vs Pessimistic Concurrency Control (synthesis) | optimistic-vs-pessimistic-locking.md | sonnet | pending |
| 9 | Vector Clocks vs Lamport Timestamps: Ordering Events Without a Shared Clock (synthesis) | vector-clocks-vs-lamport-timestamps.md | sonnet | pending |

## Model Selection Rules
- Default: haiku for a single glossary term
- Use sonnet for any task that compares or synthesizes across multiple terms
"""  # noqa: E501


@dataclass(frozen=True)
class Variant:
    name: str
    text: str  # with "\n" line ends and no BOM; ``newline``/``bom`` are applied when writing
    rows: tuple[RowSpec, ...]
    sections: dict[str, SectionSpec] = field(default_factory=lambda: STD_SECTIONS)
    newline: str = "\n"
    bom: bool = False
    extra: Callable[[Plan, str], None] | None = None


# --- extra assertions, one per variant that needs more than rows and sections ----------


def _seed_extra(plan: Plan, text: str) -> None:
    assert plan.title == "Batch Creation Plan"
    assert [(p.number, p.heading_line) for p in plan.phases] == [(1, 22), (2, 32)]
    table = plan.phases[0].table
    assert table is not None
    assert (table.header_line, table.end_line) == (23, 30)
    assert table.columns == ("#", "Title", "Filename", "Model", "Status")
    assert table.missing_columns == ()
    assert [(i.text, i.line) for i in plan.model_rules] == [
        ("Default: haiku for a single glossary term", 40),
        ("Use sonnet for any task that compares or synthesizes across multiple terms", 41),
    ]
    # "<tracking-file>" is a placeholder, not a path: the default applies.
    assert plan.tracking_file_text() is None
    assert plan.tracking_file_path() == plan.base_dir / "plan.tracking.yaml"
    assert plan.orphan_tables == ()
    assert plan.duplicate_sections == ()
    assert [r.id for r in plan.phases[0].pending] == ["2", "3", "4", "5", "6"]
    assert plan.phases[0].counts() == {"complete": 1, "pending": 5}


def _escaped_pipe_extra(plan: Plan, text: str) -> None:
    row = plan.rows().__next__()
    assert row.cells == {"#": "2", "Title": "A | B", "Filename": "quorum.md", "Model": "haiku",
                         "Status": "pending"}


def _raw_text_kept(plan: Plan, text: str) -> None:
    # Plan.text is the file as read (BOM and line endings included); only the
    # parser's view is normalised.
    assert plan.title == "Batch Creation Plan"
    assert plan.text != text


def _mixed_case_extra(plan: Plan, text: str) -> None:
    assert plan.sections["format reference"].heading == "FORMAT REFERENCE"
    assert plan.sections["content rules"].heading == "content rules:"
    assert plan.sections["output directory"].heading == "output directory:"
    assert [p.number for p in plan.phases] == [1]


def _phase_titles_extra(plan: Plan, text: str) -> None:
    assert [(p.number, p.heading_line) for p in plan.phases] == [
        (1, line_of(text, "## Phase 1 —")),
        (2, line_of(text, "## Phase 2: Synthesis")),
        (3, line_of(text, "## phase 3 (later)")),
    ]


def _h3_phase_extra(plan: Plan, text: str) -> None:
    assert [(p.number, p.heading_line) for p in plan.phases] == [
        (1, line_of(text, "### Phase 1")),
        (2, line_of(text, "### Phase 2")),
    ]
    assert plan.orphan_tables == ()


def _nested_phase_extra(plan: Plan, text: str) -> None:
    one, two = plan.phases
    # Phase 1 has no table of its own: the table under `### Phase 2` is Phase 2's only.
    assert (one.number, one.table, one.rows) == (1, None, ())
    assert two.table is not None
    assert two.table.header_line == line_of(text, "| # | Title |")
    assert plan.orphan_tables == ()


def _status_first_extra(plan: Plan, text: str) -> None:
    table = plan.phases[0].table
    assert table is not None
    assert table.columns == ("Status", "Model", "Filename", "Title", "#")
    assert table.missing_columns == ()


def _extra_columns_extra(plan: Plan, text: str) -> None:
    table = plan.phases[0].table
    assert table is not None
    assert table.columns == ("#", "Owner", "Title", "Filename", "Model", "Status", "Notes")
    assert table.missing_columns == ()
    first, second = plan.phases[0].rows
    assert first.cells == {"#": "2", "Owner": "ana", "Title": "Quorum", "Filename": "quorum.md",
                           "Model": "haiku", "Status": "pending", "Notes": "needs a diagram"}
    assert second.cells["Owner"] == ""
    assert second.cells["Notes"] == "see RFC 1 | 2"


def _aliases_extra(plan: Plan, text: str) -> None:
    assert [p.table.missing_columns for p in plan.phases if p.table] == [(), (), ()]
    assert plan.phases[0].table is not None
    assert plan.phases[0].table.columns == ("ID", "title", "FILENAME", "model", "Status")
    assert plan.phases[0].rows[0].cells["ID"] == "2"


def _status_case_extra(plan: Plan, text: str) -> None:
    assert [r.status_text for r in plan.rows()] == [
        "Pending", "PENDING", "complete", "Skipped", "COMPLETE",
    ]
    assert [r.is_pending for r in plan.rows()] == [True, True, False, False, False]
    assert [r.id for r in plan.phases[0].pending] == ["2", "3"]


def _backticks_extra(plan: Plan, text: str) -> None:
    assert plan.format_reference_path() == (plan.base_dir / "output" / "idempotency.md").resolve()
    assert plan.output_dir_path() == (plan.base_dir / "output").resolve()


def _link_extra(plan: Plan, text: str) -> None:
    expected = (plan.base_dir / "format_refs" / "idempotency.md").resolve()
    assert plan.format_reference_path() == expected


def _outdir_slash_extra(plan: Plan, text: str) -> None:
    expected = (plan.base_dir / "output").resolve()
    assert plan.output_dir_path() == expected
    row = next(plan.rows())
    assert plan.output_path(row) == expected / "quorum.md"


def _outdir_dot_extra(plan: Plan, text: str) -> None:
    assert plan.output_dir_path() == (plan.base_dir / "output").resolve()


def _reordered_extra(plan: Plan, text: str) -> None:
    assert list(plan.sections) == [
        "validation checklist", "content rules", "tracking file", "output directory",
        "format reference",
    ]
    tracking = plan.tracking_file
    assert tracking is not None
    assert tracking.text == "state/tracking.yaml"
    assert tracking.line == line_of(text, "state/tracking")
    # A ## Tracking File section wins over the checklist's "registered in".
    assert plan.tracking_file_path() == (plan.base_dir / "state" / "tracking.yaml").resolve()
    # The last section runs to the end of the file.
    assert plan.sections["format reference"].end_line == len(text.split("\n"))


def _two_tables_extra(plan: Plan, text: str) -> None:
    # Documented behaviour: only the FIRST table under a Phase heading is that
    # phase's table. A second one is left unclaimed and reported as an orphan
    # (`orchestrate check` flags it when it looks like a task table).
    (phase,) = plan.phases
    assert phase.table is not None
    assert phase.table.header_line == line_of(text, "| # | Title | Filename | Model | Status |")
    assert plan.orphan_tables == (line_of(text, "|  #  | Title | Filename | Model | Status |"),)


def _orphan_extra(plan: Plan, text: str) -> None:
    assert [p.number for p in plan.phases] == [1]
    assert plan.orphan_tables == (
        line_of(text, "| Term | Why |"),
        line_of(text, "| No | Title | Filename | Model | Status |"),
    )


def _empty_phase_extra(plan: Plan, text: str) -> None:
    one, two, three = plan.phases
    assert one.table is not None and len(one.rows) == 1
    assert (two.number, two.table, two.rows) == (2, None, ())
    assert two.heading_line == line_of(text, "## Phase 2")
    assert three.table is not None
    assert three.rows == ()
    assert three.table.header_line == line_of(text, "|  #  | Title | Filename | Model | Status |")
    assert three.table.missing_columns == ()


def _missing_cells_extra(plan: Plan, text: str) -> None:
    first, second = plan.phases[0].rows
    assert first.cells == {"#": "2", "Title": "Quorum", "Filename": "quorum.md", "Model": "",
                           "Status": ""}
    assert second.status_text == ""


def _pipeless_extra(plan: Plan, text: str) -> None:
    table = plan.phases[0].table
    assert table is not None
    assert table.end_line == line_of(text, "a lazy line")
    assert len(plan.phases[0].rows) == 2


def _missing_column_extra(plan: Plan, text: str) -> None:
    table = plan.phases[0].table
    assert table is not None
    assert table.missing_columns == ("status",)
    assert table.columns == ("#", "Title", "Filename", "Model")


def _duplicate_section_extra(plan: Plan, text: str) -> None:
    (dup,) = plan.duplicate_sections
    assert (dup.key, dup.line) == ("content rules", line_of(text, "## content rules"))
    assert [i.text for i in dup.items] == ["A second rule list"]
    # The first section keeps its place and items.
    assert plan.sections["content rules"].line == 9


def _no_sections_extra(plan: Plan, text: str) -> None:
    assert plan.title is None
    assert plan.format_reference is None
    assert plan.output_directory is None
    assert plan.content_rules == ()
    assert plan.checklist == ()


def _extra_cell_extra(plan: Plan, text: str) -> None:
    row = next(plan.rows())
    assert row.cells == {"#": "2", "Title": "A", "Filename": "B", "Model": "quorum.md",
                         "Status": "haiku"}


def _h1_sections_extra(plan: Plan, text: str) -> None:
    assert plan.title is None
    assert [p.number for p in plan.phases] == [1]


def _setext_extra(plan: Plan, text: str) -> None:
    assert [(p.number, p.heading_line) for p in plan.phases] == [(1, line_of(text, "Phase 1"))]


VARIANTS: list[Variant] = [
    Variant(
        "seed-plan",
        SEED_PLAN,
        (
            (1, "1", "Idempotency", "idempotency.md", "haiku", "complete", 25),
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 26),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "pending", 27),
            (1, "4", "Fencing Token", "fencing-token.md", "haiku", "pending", 28),
            (1, "5", "Vector Clock", "vector-clock.md", "haiku", "pending", 29),
            (1, "6", "Circuit Breaker", "circuit-breaker.md", "haiku", "pending", 30),
            (2, "7", "CAP Theorem: What Consistency and Availability Each Cost (synthesis)",
             "cap-theorem.md", "sonnet", "pending", 35),
            (2, "8", "Optimistic vs Pessimistic Concurrency Control (synthesis)",
             "optimistic-vs-pessimistic-locking.md", "sonnet", "pending", 36),
            (2, "9", "Vector Clocks vs Lamport Timestamps: Ordering Events Without a Shared Clock"
             " (synthesis)",
             "vector-clocks-vs-lamport-timestamps.md", "sonnet", "pending", 37),
        ),
        sections={
            "format reference": (3, [("output/idempotency.md", 4)]),
            "output directory": (6, [("output/", 7)]),
            "content rules": (9, [
                ("Every output needs front matter: term, category, tags", 10),
                ("category must be one of: Consistency, Concurrency, Scalability, Reliability", 11),
                ("Include Definition, Details, and Related Terms sections, in that order", 12),
                ("Blank line before every markdown table", 13),
            ]),
            "validation checklist": (15, [
                ("Front matter includes term, category, and at least 2 tags", 16),
                ("category is one of the four values listed in Content Rules", 17),
                ("Definition, Details, and Related Terms sections present, in that order", 18),
                ("Linter passes: <lint-command> <filepath>", 19),
                ("Output registered in <tracking-file>", 20),
            ]),
            "model selection rules": (39, [
                ("Default: haiku for a single glossary term", 40),
                ("Use sonnet for any task that compares or synthesizes across multiple terms", 41),
            ]),
        },
        extra=_seed_extra,
    ),
    Variant(
        "no-outer-pipes",
        HEAD + "## Phase 1\n# | Title | Filename | Model | Status\n--|---|---|---|--\n"
        "2 | Quorum | quorum.md | haiku | pending\n"
        "3 | Backpressure | backpressure.md | sonnet | complete\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Backpressure", "backpressure.md", "sonnet", "complete", 21),
        ),
    ),
    Variant(
        "only-leading-pipes",
        HEAD + "## Phase 1\n| # | Title | Filename | Model | Status\n|---|---|---|---|---\n"
        "| 2 | Quorum | quorum.md | haiku | pending\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
    ),
    Variant(
        "only-trailing-pipes",
        HEAD + "## Phase 1\n# | Title | Filename | Model | Status |\n---|---|---|---|---|\n"
        "2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
    ),
    Variant(
        "alignment-colons",
        HEAD + "## Phase 1\n| # | Title | Filename | Model | Status |\n"
        "|:-:|:------|------:|:---:|---|\n"
        "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
    ),
    Variant(
        "compact-cells",
        HEAD + "## Phase 1\n|#|Title|Filename|Model|Status|\n|-|-|-|-|-|\n"
        "|2|Quorum|quorum.md|haiku|pending|\n"
        "|3|Back pressure|backpressure.md|sonnet|complete|\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Back pressure", "backpressure.md", "sonnet", "complete", 21),
        ),
    ),
    Variant(
        "padded-aligned",
        HEAD + "## Phase 1\n"
        "|  #  |  Title                  |  Filename            |  Model   |  Status     |\n"
        "| :-: | :---------------------- | :------------------- | :------: | ----------: |\n"
        "|  2  |  Quorum                 |  quorum.md           |  haiku   |  pending    |\n"
        "|  10 |  Fencing   Token        |  fencing-token.md    |  opus    |  complete   |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            # Inner spacing of a cell is kept as written; only the padding goes.
            (1, "10", "Fencing   Token", "fencing-token.md", "opus", "complete", 21),
        ),
    ),
    Variant(
        "escaped-pipe-in-title",
        HEAD + "## Phase 1\n" + T + "| 2 | A \\| B | quorum.md | haiku | pending |\n"
        "| 3 | Ends with a pipe \\| | backpressure.md | sonnet | complete |\n"
        "| 4 | \\|leading | fencing-token.md | haiku | pending |\n"
        "|5|x\\|y|vector-clock.md|opus|skipped|\n",
        (
            (1, "2", "A | B", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Ends with a pipe |", "backpressure.md", "sonnet", "complete", 21),
            (1, "4", "|leading", "fencing-token.md", "haiku", "pending", 22),
            (1, "5", "x|y", "vector-clock.md", "opus", "skipped", 23),
        ),
        extra=_escaped_pipe_extra,
    ),
    Variant(
        # GFM (cmark-gfm and markdown-it alike) treat any "|" right after a
        # backslash as escaped, even when that backslash is itself escaped:
        # "\\|" does NOT end a cell. Only the backslash before the pipe goes.
        "backslash-backslash-pipe",
        HEAD + "## Phase 1\n" + T + "| 2 | A \\\\| B | quorum.md | haiku | pending |\n"
        "| 3 | C:\\\\ | backpressure.md | haiku | pending |\n",
        (
            (1, "2", "A \\| B", "quorum.md", "haiku", "pending", 20),
            (1, "3", "C:\\\\", "backpressure.md", "haiku", "pending", 21),
        ),
    ),
    Variant(
        "prose-between-heading-and-table",
        HEAD + "## Phase 1\n\nSix single-term definitions. Run these first;\n"
        "they share one model.\n\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 24),),
    ),
    Variant(
        "table-right-after-paragraph-line",
        HEAD + "## Phase 1\n"
        "Run these first:\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 21),),
    ),
    Variant(
        "crlf",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n"
        "| 3 | Backpressure | backpressure.md | haiku | pending |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "pending", 21),
        ),
        newline="\r\n",
        extra=_raw_text_kept,
    ),
    Variant(
        "bom",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        bom=True,
        extra=_raw_text_kept,
    ),
    Variant(
        "bom-and-crlf",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        newline="\r\n",
        bom=True,
        extra=_raw_text_kept,
    ),
    Variant(
        "cr-only-line-endings",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        newline="\r",
    ),
    Variant(
        "trailing-spaces-and-tabs",
        "# Batch Creation Plan  \n\n## Format Reference \t\noutput/idempotency.md \t\n\n"
        "## Output Directory\t\noutput/   \n\n## Content Rules  \n"
        "- Every output needs front matter: term, category, tags   \n"
        "- Blank line before every markdown table\t\n\n## Validation Checklist \n"
        "1. Front matter includes term, category, and at least 2 tags \t \n"
        "2. Output registered in output/tracking.yaml  \n\n## Phase 1   \n"
        "| # | Title | Filename | Model | Status |   \n|---|---|---|---|---|\t\n"
        "|\t2\t| Quorum \t|\tquorum.md | haiku |\tpending\t|  \t\n"
        "| 3 | Backpressure | backpressure.md | haiku | complete \n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "complete", 21),
        ),
    ),
    Variant(
        "mixed-case-headings",
        "# batch plan\n\n## FORMAT REFERENCE\noutput/idempotency.md\n\n## output directory:\n"
        "output/\n\n"
        "## content rules:\n- Rule one\n\n## Validation CHECKLIST\n1. Check one\n\n## PHASE 1\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 18),),
        sections={
            "format reference": (3, [("output/idempotency.md", 4)]),
            "output directory": (6, [("output/", 7)]),
            "content rules": (9, [("Rule one", 10)]),
            "validation checklist": (12, [("Check one", 13)]),
        },
        extra=_mixed_case_extra,
    ),
    Variant(
        "phase-heading-text-after-number",
        HEAD + "## Phase 1 — Definitions\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n\n"
        "## Phase 2: Synthesis\n" + T + "| 7 | CAP | cap-theorem.md | sonnet | pending |\n\n"
        "## phase 3 (later)\n" + T + "| 8 | OCC | occ.md | opus | skipped |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),
            (2, "7", "CAP", "cap-theorem.md", "sonnet", "pending", "| 7 |"),
            (3, "8", "OCC", "occ.md", "opus", "skipped", "| 8 |"),
        ),
        extra=_phase_titles_extra,
    ),
    Variant(
        "h3-phases-under-h2",
        HEAD + "## Phases\n\nTwo phases follow.\n\n### Phase 1\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n\n### Phase 2\n" + T
        + "| 7 | CAP | cap-theorem.md | sonnet | pending |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),
            (2, "7", "CAP", "cap-theorem.md", "sonnet", "pending", "| 7 |"),
        ),
        extra=_h3_phase_extra,
    ),
    Variant(
        "phase-heading-nested-under-a-phase",
        HEAD + "## Phase 1\n\nDefinitions come later.\n\n### Phase 2\n" + T
        + "| 7 | CAP | cap-theorem.md | sonnet | pending |\n",
        ((2, "7", "CAP", "cap-theorem.md", "sonnet", "pending", "| 7 |"),),
        extra=_nested_phase_extra,
    ),
    Variant(
        "columns-in-another-order",
        HEAD + "## Phase 1\n| Status | Model | Filename | Title | # |\n|---|---|---|---|---|\n"
        "| pending | haiku | quorum.md | Quorum | 2 |\n"
        "| complete | sonnet | cap-theorem.md | CAP | 7 |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "7", "CAP", "cap-theorem.md", "sonnet", "complete", 21),
        ),
        extra=_status_first_extra,
    ),
    Variant(
        "extra-columns-kept",
        HEAD + "## Phase 1\n| # | Owner | Title | Filename | Model | Status | Notes |\n"
        "|---|---|---|---|---|---|---|\n"
        "| 2 | ana | Quorum | quorum.md | haiku | pending | needs a diagram |\n"
        "| 3 | | Backpressure | backpressure.md | haiku | pending | see RFC 1 \\| 2 |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "pending", 21),
        ),
        extra=_extra_columns_extra,
    ),
    Variant(
        "header-aliases",
        HEAD + "## Phase 1\n| ID | title | FILENAME | model | Status |\n|---|---|---|---|---|\n"
        "| 2 | Quorum | quorum.md | haiku | pending |\n\n## Phase 2\n"
        "| No. | Title | Filename | Model | Status |\n"
        "|---|---|---|---|---|\n| 7 | CAP | cap-theorem.md | sonnet | pending |\n\n"
        "## Phase 3\n| no | Title | Filename | Model | STATUS |\n|---|---|---|---|---|\n"
        "| 8 | OCC | occ.md | opus | pending |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),
            (2, "7", "CAP", "cap-theorem.md", "sonnet", "pending", "| 7 |"),
            (3, "8", "OCC", "occ.md", "opus", "pending", "| 8 |"),
        ),
        extra=_aliases_extra,
    ),
    Variant(
        "status-any-case",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | Pending |\n"
        "| 3 | Backpressure | backpressure.md | haiku | PENDING |\n"
        "| 4 | Fencing Token | fencing-token.md | haiku |  complete  |\n"
        "| 5 | Vector Clock | vector-clock.md | haiku | Skipped |\n"
        "| 6 | Circuit Breaker | circuit-breaker.md | Haiku | COMPLETE |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "pending", 21),
            (1, "4", "Fencing Token", "fencing-token.md", "haiku", "complete", 22),
            (1, "5", "Vector Clock", "vector-clock.md", "haiku", "skipped", 23),
            # The model name is kept as written; the model table resolves it case-insensitively.
            (1, "6", "Circuit Breaker", "circuit-breaker.md", "Haiku", "complete", 24),
        ),
        extra=_status_case_extra,
    ),
    Variant(
        "backticked-paths",
        HEAD.replace("output/idempotency.md\n", "`output/idempotency.md`\n").replace(
            "output/\n", "`output`\n") + "## Phase 1\n" + T
        + "| 2 | Quorum | `quorum.md` | haiku | pending |\n"
        "| 3 | Backpressure | [bp](backpressure.md) | haiku |"
        " pending |\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "pending", 21),
        ),
        sections={**STD_SECTIONS, "format reference": (3, [("output/idempotency.md", 4)]),
                  "output directory": (6, [("output", 7)])},
        extra=_backticks_extra,
    ),
    Variant(
        "format-reference-as-link",
        HEAD.replace("output/idempotency.md\n",
                     "[the hand-written example](format_refs/idempotency.md)\n")
        + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        sections={**STD_SECTIONS, "format reference": (3, [("format_refs/idempotency.md", 4)])},
        extra=_link_extra,
    ),
    Variant(
        "output-directory-trailing-slash",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        extra=_outdir_slash_extra,
    ),
    Variant(
        "output-directory-no-slash",
        HEAD.replace("output/\n", "./output\n") + "## Phase 1\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        sections={**STD_SECTIONS, "output directory": (6, [("./output", 7)])},
        extra=_outdir_dot_extra,
    ),
    Variant(
        "multi-line-list-items",
        "# Plan\n\n## Format Reference\noutput/idempotency.md\n\n## Output Directory\noutput/\n\n"
        "## Content Rules\n- Every output needs front matter:\n  term, category, tags\n"
        "- category must be one of: Consistency,\nConcurrency, Scalability, Reliability\n"
        "- Blank line before every markdown table\n\n"
        "## Validation Checklist\n1) Front matter includes term,\n   category, and tags\n"
        "2) Sections in order\n\n"
        "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),),
        sections={
            "format reference": (3, [("output/idempotency.md", 4)]),
            "output directory": (6, [("output/", 7)]),
            "content rules": (9, [
                ("Every output needs front matter: term, category, tags", 10),
                ("category must be one of: Consistency, Concurrency, Scalability, Reliability", 12),
                ("Blank line before every markdown table", 14),
            ]),
            "validation checklist": (16, [("Front matter includes term, category, and tags", 17),
                                          ("Sections in order", 19)]),
        },
    ),
    Variant(
        "star-bullets-and-paragraph-sections",
        "# Plan\n\n## Format Reference\n\noutput/idempotency.md\n\n## Output Directory\n\n"
        "output/\n\n"
        "## Content Rules\n\nSome prose the list ignores.\n\n* Rule one\n* Rule two\n\n"
        "## Validation Checklist\n\n3. Starts at three\n4. Then four\n\n## Phase 1\n\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),),
        sections={
            "format reference": (3, [("output/idempotency.md", 5)]),
            "output directory": (7, [("output/", 9)]),
            "content rules": (11, [("Rule one", 15), ("Rule two", 16)]),
            "validation checklist": (18, [("Starts at three", 20), ("Then four", 21)]),
        },
    ),
    Variant(
        "sections-in-another-order",
        "# Plan\n\n## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n\n"
        "## Validation Checklist\n1. Check one\n\n## Content Rules\n- Rule one\n\n"
        "## Tracking File\nstate/tracking.yaml\n\n## Output Directory\nout/\n\n"
        "## Format Reference\nref.md\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 6),),
        sections={
            "validation checklist": (8, [("Check one", 9)]),
            "content rules": (11, [("Rule one", 12)]),
            "tracking file": (14, [("state/tracking.yaml", 15)]),
            "output directory": (17, [("out/", 18)]),
            "format reference": (20, [("ref.md", 21)]),
        },
        extra=_reordered_extra,
    ),
    Variant(
        "two-tables-under-one-phase",
        HEAD + "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
        "| 2 | Quorum | quorum.md | haiku | pending |\n\nAnd later:\n\n"
        "|  #  | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
        "| 3 | Backpressure | backpressure.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        extra=_two_tables_extra,
    ),
    Variant(
        "tables-under-no-phase",
        HEAD.replace("## Content Rules", "| Term | Why |\n|---|---|\n| x | y |\n\n## Content Rules")
        + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n\n## Backlog\n"
        "| No | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
        "| 3 | Backpressure | backpressure.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),),
        sections={
            "format reference": (3, [("output/idempotency.md", 4)]),
            # The table under Output Directory is not an item of that section.
            "output directory": (6, [("output/", 7)]),
            "content rules": (13, [("Every output needs front matter: term, category, tags", 14),
                                   ("Blank line before every markdown table", 15)]),
            "validation checklist": (17, [
                ("Front matter includes term, category, and at least 2 tags", 18),
                                          ("Output registered in output/tracking.yaml", 19)]),
        },
        extra=_orphan_extra,
    ),
    Variant(
        "empty-phase-and-header-only-table",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n\n## Phase 2\n"
        "\nTo be planned.\n\n"
        "## Phase 3\n|  #  | Title | Filename | Model | Status |\n|---|---|---|---|---|\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
        extra=_empty_phase_extra,
    ),
    Variant(
        "rows-with-missing-trailing-cells",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md |\n"
        "| 3 | Backpressure | backpressure.md | haiku |\n",
        (
            (1, "2", "Quorum", "quorum.md", "", "", 20),
            (1, "3", "Backpressure", "backpressure.md", "haiku", "", 21),
        ),
        extra=_missing_cells_extra,
    ),
    Variant(
        "unicode-titles",
        HEAD + "## Phase 1\n" + T
        + "| 2 | Théorème CAP — 一致性と可用性 | cap-théorème.md | haiku | pending |\n"
        "| 3 | 🚦 Backpressure | backpressure.md | haiku | pending |\n"
        "| \uff14 | Ωμέγα \\| Ἀλφα | omega.md | haiku | pending |\n",
        (
            (1, "2", "Théorème CAP — 一致性と可用性", "cap-théorème.md", "haiku", "pending", 20),
            (1, "3", "🚦 Backpressure", "backpressure.md", "haiku", "pending", 21),
            (1, "\uff14", "Ωμέγα | Ἀλφα", "omega.md", "haiku", "pending", 22),
        ),
    ),
    Variant(
        "pipeless-line-after-table-is-a-row",
        HEAD + "## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\na lazy line\n\n"
        "After a blank line, prose again.\n",
        (
            (1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),
            (1, "a lazy line", "", "", "", "", 21),
        ),
        extra=_pipeless_extra,
    ),
    Variant(
        "indented-table-and-closing-hashes",
        HEAD.replace("## Content Rules", "## Content Rules ##") + "## Phase 1 ##\n"
        "   | # | Title | Filename | Model | Status |\n  |---|---|---|---|---|\n"
        " | 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 20),),
    ),
    Variant(
        "setext-headings",
        "Plan\n====\n\nFormat Reference\n----------------\noutput/idempotency.md\n\n"
        "Output Directory\n----------------\noutput/\n\nContent Rules\n-------------\n"
        "- Rule one\n\n"
        "Validation Checklist\n--------------------\n1. Check one\n\nPhase 1\n-------\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),),
        sections={
            "format reference": (4, [("output/idempotency.md", 6)]),
            "output directory": (8, [("output/", 10)]),
            "content rules": (12, [("Rule one", 14)]),
            "validation checklist": (16, [("Check one", 18)]),
        },
        extra=_setext_extra,
    ),
    Variant(
        # A plan without a title whose first heading is a level-1 section
        # heading: that heading names a section, not the plan.
        "h1-section-headings-without-title",
        "# Format Reference\noutput/idempotency.md\n\n# Output Directory\noutput/\n\n"
        "# Content Rules\n- Rule one\n\n# Validation Checklist\n1. Check one\n\n# Phase 1\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),),
        sections={
            "format reference": (1, [("output/idempotency.md", 2)]),
            "output directory": (4, [("output/", 5)]),
            "content rules": (7, [("Rule one", 8)]),
            "validation checklist": (10, [("Check one", 11)]),
        },
        extra=_h1_sections_extra,
    ),
    # --- broken plans: the parser still reads them, and says what it saw ---------------
    Variant(
        "broken-table-without-status-column",
        HEAD + "## Phase 1\n| # | Title | Filename | Model |\n|---|---|---|---|\n"
        "| 2 | Quorum | quorum.md | haiku |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "", 20),),
        extra=_missing_column_extra,
    ),
    Variant(
        "broken-duplicate-section",
        HEAD + "## content rules\nA second rule list\n\n## Phase 1\n" + T
        + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", "| 2 |"),),
        extra=_duplicate_section_extra,
    ),
    Variant(
        "broken-no-sections-at-all",
        "Just a table.\n\n## Phase 1\n" + T + "| 2 | Quorum | quorum.md | haiku | pending |\n",
        ((1, "2", "Quorum", "quorum.md", "haiku", "pending", 6),),
        sections={},
        extra=_no_sections_extra,
    ),
    Variant(
        "broken-row-with-unescaped-pipe",
        HEAD + "## Phase 1\n" + T + "| 2 | A | B | quorum.md | haiku | pending |\n",
        ((1, "2", "A", "B", "quorum.md", "haiku", 20),),
        extra=_extra_cell_extra,
    ),
]


def _write(tmp_path: Path, variant: Variant) -> Path:
    data = variant.text.replace("\n", variant.newline)
    if variant.bom:
        data = "\ufeff" + data
    path = tmp_path / "plan.md"
    path.write_bytes(data.encode("utf-8"))
    return path


def test_there_are_at_least_30_variants() -> None:
    assert len(VARIANTS) >= 30
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_plan_variant(tmp_path: Path, variant: Variant) -> None:
    path = _write(tmp_path, variant)
    plan = read_plan(path)
    text = variant.text

    rows = [(r.phase, r.id, r.title, r.filename, r.model, r.status, r.line) for r in plan.rows()]
    expected = [(*spec[:6], line_of(text, spec[6])) for spec in variant.rows]
    assert rows == expected

    found = {
        key: (section.line, [(item.text, item.line) for item in section.items])
        for key, section in plan.sections.items()
    }
    wanted = {
        key: (line_of(text, heading), [(item, line_of(text, where)) for item, where in items])
        for key, (heading, items) in variant.sections.items()
    }
    assert found == wanted

    # The plan keeps the file exactly as read, BOM and line endings included.
    assert plan.text == path.read_bytes().decode("utf-8")
    assert plan.path == path
    if variant.extra is not None:
        variant.extra(plan, text)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.name for v in VARIANTS])
def test_every_row_line_holds_its_row(tmp_path: Path, variant: Variant) -> None:
    """A row's line is the source line its cells come from: the recorder edits that line."""
    plan = read_plan(_write(tmp_path, variant))
    lines = variant.text.split("\n")
    for row in plan.rows():
        cells = [c.text for c in split_cells(lines[row.line - 1])]
        assert row.id in cells, (row, cells)
        if row.filename:
            source = lines[row.line - 1]
            assert row.filename in source


def test_parse_plan_matches_read_plan(tmp_path: Path) -> None:
    variant = VARIANTS[0]
    path = _write(tmp_path, variant)
    from_file = read_plan(path)
    from_text = parse_plan(variant.text, path)
    assert from_text == from_file


def test_read_plan_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    from orchestrator.errors import PlanError

    with pytest.raises(PlanError) as info:
        read_plan(tmp_path / "nope.md")
    assert info.value.exit_code == 2
    assert "plan file not found" in info.value.message
    assert info.value.hint


def test_read_plan_not_utf8_names_the_line(tmp_path: Path) -> None:
    from orchestrator.errors import PlanError

    path = tmp_path / "plan.md"
    path.write_bytes(b"# Plan\n\n## Phase 1\n| 1 | caf\xe9 |\n")
    with pytest.raises(PlanError) as info:
        read_plan(path)
    assert info.value.line == 4
    assert "not valid UTF-8" in info.value.message


# --- table_syntax.split_cells ---------------------------------------------------------

SPLIT_CASES: list[tuple[str, list[str]]] = [
    ("| a | b |", ["a", "b"]),
    ("a | b", ["a", "b"]),
    ("| a | b", ["a", "b"]),
    ("a | b |", ["a", "b"]),
    ("|a|b|", ["a", "b"]),
    ("|  a  |   b   |", ["a", "b"]),
    ("| a |  |", ["a", ""]),
    ("|  |  |", ["", ""]),
    ("| a | | c |", ["a", "", "c"]),
    ("| A \\| B | c |", ["A | B", "c"]),
    ("| A \\\\| B | c |", ["A \\| B", "c"]),
    ("| x \\| |", ["x |"]),
    ("| \\|x | y |", ["|x", "y"]),
    ("| a | b |\r\n", ["a", "b"]),
    ("| a | b |\n", ["a", "b"]),
    ("\ufeff| a | b |", ["a", "b"]),
    ("  | a | b |  \t", ["a", "b"]),
    ("|\ta\t|\tb\t|", ["a", "b"]),
    ("plain text", ["plain text"]),
    ("|:---|---:|:-:|", [":---", "---:", ":-:"]),
    ("| é | 一致 | 🚦 |", ["é", "一致", "🚦"]),
    ("| `a|b` | c |", ["`a", "b`", "c"]),  # GFM: code spans do not protect a pipe
    ("|", [""]),
    ("||", [""]),
    ("|||", ["", ""]),
    ("> | a | b |", ["a", "b"]),  # a table in a blockquote: the marker is not a cell
    ("> > a | b", ["a", "b"]),
]


@pytest.mark.parametrize(("line", "texts"), SPLIT_CASES, ids=[repr(c[0]) for c in SPLIT_CASES])
def test_split_cells_texts(line: str, texts: list[str]) -> None:
    assert [c.text for c in split_cells(line)] == texts


@pytest.mark.parametrize(("line", "texts"), SPLIT_CASES, ids=[repr(c[0]) for c in SPLIT_CASES])
def test_split_cells_spans_round_trip(line: str, texts: list[str]) -> None:
    cells = split_cells(line)
    start, end = content_bounds(line)
    previous_end = start - 1
    for cell in cells:
        raw = line[cell.start : cell.end]
        assert unescape(raw.strip()) == cell.text
        # spans are ordered, inside the content, and delimited by a pipe or the content edge
        assert start <= cell.start <= cell.end <= end
        assert cell.start > previous_end
        assert cell.start == start or line[cell.start - 1] == "|"
        assert cell.end == end or line[cell.end] == "|"
        previous_end = cell.end


def test_split_cells_span_replacement_edits_one_cell_only() -> None:
    line = "| 2 | A \\| B | quorum.md | haiku | pending |  "
    status = split_cells(line)[4]
    rewritten = line[: status.start] + " complete " + line[status.end :]
    assert rewritten == "| 2 | A \\| B | quorum.md | haiku | complete |  "
    texts = [c.text for c in split_cells(rewritten)]
    assert texts == ["2", "A | B", "quorum.md", "haiku", "complete"]


def test_split_cells_exact_offsets() -> None:
    line = "| 2 |Quorum|  q.md  |"
    spans = [(c.start, c.end, c.text) for c in split_cells(line)]
    assert spans == [(1, 4, "2"), (5, 11, "Quorum"), (12, 20, "q.md")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("|---|---|", True),
        ("|:--|--:|", True),
        ("| :-: | --- |", True),
        ("---|---", True),
        ("|-|", True),
        ("| a | b |", False),
        ("|---| |", False),
        ("|:|---|", False),
        ("|-:-|---|", False),
        ("", False),
    ],
)
def test_is_delimiter_row(line: str, expected: bool) -> None:
    assert is_delimiter_row(line) is expected


@pytest.mark.parametrize("text", ["A | B", "a|b|c", "no pipes", "|"])
def test_escape_round_trips_through_a_cell(text: str) -> None:
    line = f"| 1 | {escape(text)} | x |"
    assert [c.text for c in split_cells(line)] == ["1", text, "x"]


def test_a_table_in_a_blockquote_has_no_marker_column(tmp_path: Path) -> None:
    text = HEAD + ("## Phase 1\n"
                   "> | # | Title | Filename | Model | Status |\n"
                   "> |---|---|---|---|---|\n"
                   "> | 1 | Quoted | quoted.md | haiku | pending |\n")
    plan = parse_plan(text, tmp_path / "plan.md")
    (row,) = plan.rows()
    assert (row.id, row.title, row.filename, row.model, row.status) == ("1", "Quoted", "quoted.md", "haiku", "pending")
    assert list(row.cells) == ["#", "Title", "Filename", "Model", "Status"]
    phase = plan.phase(1)
    assert phase is not None and phase.table is not None and phase.table.missing_columns == ()
