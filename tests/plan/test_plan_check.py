"""``check_plan`` and ``orchestrate check`` on broken plans, one problem each.

Every broken plan is a small variation of one clean plan, checked twice: in
process through ``check_plan`` (exact line, message, hint) and through the real
command line (``python -m orchestrator check PATH``: exit 2, ``path:line:
message`` and its hint on stderr, nothing written anywhere).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrator.errors import Problem
from orchestrator.models import load_model_table
from orchestrator.plan.check import check_plan
from orchestrator.plan.parser import read_plan

Where = int | str  # a 1-based line number, or a marker found on exactly one line


def line_of(text: str, where: Where) -> int:
    if isinstance(where, int):
        return where
    hits = [n for n, line in enumerate(text.split("\n"), start=1) if where in line]
    assert len(hits) == 1, f"marker {where!r} found on lines {hits}"
    return hits[0]


T = "| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"

BLOCKS: dict[str, str] = {
    "fr": "## Format Reference\nformat_refs/idempotency.md\n",
    "od": "## Output Directory\noutput/\n",
    "cr": "## Content Rules\n- Every output needs front matter: term, category, tags\n",
    "vc": "## Validation Checklist\n1. Front matter includes term, category, and at least 2 tags\n",
    "p1": "## Phase 1\n" + T + "| 1 | Idempotency | idempotency.md | haiku | complete |\n"
    "| 2 | Quorum | quorum.md | haiku | pending |\n",
    "p2": "## Phase 2\n" + T
    + "| 3 | CAP Theorem (synthesis) | cap-theorem.md | sonnet | pending |\n",
}


def build(**blocks: str | None) -> str:
    """The clean plan with some blocks replaced (a string) or removed (None); extra keys append."""
    parts = {**BLOCKS, **blocks}
    return "# Plan\n\n" + "\n".join(block for block in parts.values() if block is not None)


CLEAN = build()
# Lines of the clean plan, relied upon by the cases below.
assert CLEAN.split("\n")[14] == "## Phase 1"
assert CLEAN.split("\n")[18] == "| 2 | Quorum | quorum.md | haiku | pending |"
assert CLEAN.split("\n")[20] == "## Phase 2"


def p1_rows(*rows: str) -> str:
    return "## Phase 1\n" + T + "".join(f"{row}\n" for row in rows)


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    # (line, start of the message) of every problem, in the order reported
    problems: tuple[tuple[Where, str], ...]
    hint: str  # part of the first problem's hint
    setup: Callable[[Path], None] | None = None


def _symlink_out(project: Path) -> None:
    outside = project.parent / "outside"
    outside.mkdir()
    (project / "output" / "link").symlink_to(outside, target_is_directory=True)


def _no_format_reference(project: Path) -> None:
    (project / "format_refs" / "idempotency.md").unlink()


ROW2 = "| 2 | Quorum | quorum.md | haiku | pending |"

BACKLOG = (
    "## Backlog\n| No | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
    "| 9 | Later | later.md | haiku | pending |\n"
)


def one(name: str, text: str, where: Where, message: str, hint: str,
        setup: Callable[[Path], None] | None = None) -> Case:
    """A broken plan with exactly one problem."""
    return Case(name, text, ((where, message),), hint, setup)


def row4(row: str) -> str:
    """The clean plan with one more row in Phase 1."""
    return build(p1=p1_rows(ROW2, row))


CASES: list[Case] = [
    one("missing-format-reference", build(fr=None),
        1, "missing required section: Format Reference",
        "add `## Format Reference`"),
    one("missing-output-directory", build(od=None),
        1, "missing required section: Output Directory",
        "add `## Output Directory`"),
    one("missing-content-rules", build(cr=None),
        1, "missing required section: Content Rules",
        "add `## Content Rules`"),
    one("missing-validation-checklist", build(vc=None),
        1, "missing required section: Validation Checklist",
        "add `## Validation Checklist`"),
    one("empty-format-reference", build(fr="## Format Reference\n"),
        "## Format Reference", "section 'Format Reference' is empty",
        "hand-written example output"),
    one("format-reference-with-two-lines",
        build(fr="## Format Reference\nformat_refs/idempotency.md\nthe example everyone copies\n"),
        "the example everyone copies",
        "section 'Format Reference' must hold one path, found 2 lines",
        "keep only the path"),
    one("table-without-status-column",
        build(p1="## Phase 1\n| # | Title | Filename | Model  |\n|---|---|---|---|\n"
              "| 2 | Quorum | quorum.md | haiku |\n"),
        "| Model  |", "Phase 1 table has no 'Status' column",
        "must name the columns #, Title, Filename, Model and Status"),
    one("table-without-filename-column",
        build(p1="## Phase 1\n| # | Title | Model | Status |\n|---|---|---|---|\n"
              "| 2 | Quorum | haiku | pending |\n"),
        "| # | Title | Model | Status |", "Phase 1 table has no 'Filename' column",
        "must name the columns"),
    one("duplicate-id-across-phases",
        build(p2="## Phase 2\n" + T + "| 2 | CAP Theorem | cap-theorem.md | sonnet | pending |\n"),
        "| 2 | CAP Theorem", "duplicate # 2 (first at line 19)",
        "unique across the whole plan"),
    one("duplicate-filename-any-case",
        build(p2="## Phase 2\n" + T + "| 3 | CAP Theorem | Quorum.MD | sonnet | pending |\n"),
        "Quorum.MD", "duplicate Filename Quorum.MD (first at line 19)",
        "overwrite each other's output"),
    one("absolute-filename", row4("| 4 | Fencing | /tmp/fencing.md | haiku | pending |"),
        "/tmp/fencing.md", "Filename /tmp/fencing.md is absolute",
        "plain relative name"),
    one("windows-absolute-filename",
        row4("| 4 | Fencing | C:\\temp\\fencing.md | haiku | pending |"),
        "fencing.md", "Filename C:\\temp\\fencing.md is absolute",
        "plain relative name"),
    one("home-filename", row4("| 4 | Fencing | ~/fencing.md | haiku | pending |"),
        "~/fencing.md", "Filename ~/fencing.md is absolute",
        "plain relative name"),
    one("dotdot-filename", row4("| 4 | Fencing | notes/../../fencing.md | haiku | pending |"),
        "../fencing.md", "Filename notes/../../fencing.md contains '..'",
        "plain relative name"),
    one("filename-through-symlink-out-of-output",
        row4("| 4 | Fencing | link/fencing.md | haiku | pending |"),
        "link/fencing.md", "Filename link/fencing.md resolves outside the Output Directory",
        "plain relative name", setup=_symlink_out),
    one("empty-filename", row4("| 4 | Fencing |  | haiku | pending |"),
        "| 4 | Fencing |", "row has an empty Filename",
        "plain relative name"),
    one("unknown-model", row4("| 4 | Fencing | fencing.md | gpt-4o | pending |"),
        "gpt-4o", "model 'gpt-4o' has no entry in the model table",
        "add [models.gpt-4o] to orchestrate.toml"),
    one("empty-model", row4("| 4 | Fencing | fencing.md |  | pending |"),
        "| 4 | Fencing |", "row has an empty Model",
        "use one of: "),
    one("unknown-status", row4("| 4 | Fencing | fencing.md | haiku | done |"),
        "| done |", "unknown Status 'done'",
        "use one of: pending, complete, skipped"),
    one("empty-status", row4("| 4 | Fencing | fencing.md | haiku |  |"),
        "| 4 | Fencing |", "unknown Status '(empty)'",
        "use one of: pending, complete, skipped"),
    one("empty-id", row4("|  | Fencing | fencing.md | haiku | pending |"),
        "| Fencing |", "row has an empty '#' cell",
        "unique number"),
    one("empty-title", row4("| 4 |  | fencing.md | haiku | pending |"),
        "fencing.md", "row has an empty Title",
        "what the output covers"),
    one("missing-format-reference-file", build(),
        "format_refs/idempotency.md", "format reference not found: ",
        "write the hand-written example output first", setup=_no_format_reference),
    one("format-reference-is-a-folder", build(fr="## Format Reference\nformat_refs/\n"),
        "format_refs/", "format reference is not a file: ",
        "point it at a markdown file"),
    one("output-directory-is-a-file", build(od="## Output Directory\nformat_refs/idempotency.md\n"),
        7, "Output Directory is not a folder: ",
        "name a folder"),
    one("phase-heading-without-table", build(p2="## Phase 2\n\nTo be planned.\n"),
        "## Phase 2", "Phase 2 has no table",
        "add a table"),
    one("no-phase-at-all", build(p1=None, p2=None),
        1, "no `## Phase N` section found",
        "add `## Phase 1`"),
    one("duplicate-phase-number", build(p2=BLOCKS["p2"].replace("## Phase 2", "## Phase 1: again")),
        "## Phase 1: again", "duplicate Phase 1 (first at line 15)",
        "its own number"),
    one("row-with-an-extra-cell", row4("| 4 | Fencing | fencing.md | haiku | pending | x |"),
        "| x |", "row has 6 cells but the table has 5 columns",
        "escape a literal pipe in a cell as \\|"),
    Case("unescaped-pipe-in-title",
         row4("| 4 | Fencing | Tokens | fencing.md | haiku | pending |"),
         # the pipe shifts every later cell: all three problems are on the row's line
         (("| Tokens |", "row has 6 cells but the table has 5 columns"),
          ("| Tokens |", "unknown Status 'haiku'"),
          ("| Tokens |", "model 'fencing.md' has no entry in the model table")),
         "escape a literal pipe"),
    one("task-table-not-under-a-phase", build(extra=BACKLOG),
        "| No | Title |", "task table is never run: it is not the first table under a `## Phase N` heading",
        "give it its own heading"),
    one("second-table-under-a-phase",
        build(p2=BLOCKS["p2"] + "\n"
              + BACKLOG.replace("## Backlog\n", "").replace("| No |", "|  #  |")),
        "|  #  | Title |", "task table is never run: it is not the first table under a `## Phase N` heading",
        "merge it into that phase's table"),
    one("duplicate-section", build(extra="## Content rules\n- A second list\n"),
        "## Content rules", "duplicate section 'Content rules' (first at line 9)",
        "merge the two sections"),
]


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "format_refs").mkdir(parents=True)
    # the reference passes the clean plan's own rules (check holds it to them)
    (root / "format_refs" / "idempotency.md").write_text("---\nterm: Idempotency\ncategory: Reliability\n"
        "tags: [retries, apis]\n---\n", encoding="utf-8")
    (root / "output").mkdir()
    return root


def _write(project: Path, text: str, *, newline: str = "\n", bom: bool = False) -> Path:
    path = project / "plan.md"
    data = ("\ufeff" if bom else "") + text.replace("\n", newline)
    path.write_bytes(data.encode("utf-8"))
    return path


def _check(path: Path) -> list[Problem]:
    plan = read_plan(path)
    return check_plan(plan, load_model_table(plan.base_dir))


def _orchestrate_check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", "check", str(path)],
        cwd=path.parent, capture_output=True, text=True, timeout=60, env=os.environ.copy(),
    )


def _snapshot(root: Path) -> dict[str, tuple[int, int, bytes | str]]:
    """Every entry under ``root``: kind, mtime, and content (or link target)."""
    found: dict[str, tuple[int, int, bytes | str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        if path.is_symlink():
            body: bytes | str = os.readlink(path)
        elif path.is_file():
            body = path.read_bytes()
        else:
            body = ""
        found[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, body)
    return found


def test_cases_are_many_and_distinct() -> None:
    assert len(CASES) >= 18
    assert len({c.name for c in CASES}) == len(CASES)
    plain = [c.text for c in CASES if c.setup is None]
    assert len(set(plain)) == len(plain)
    # Distinct messages, counted without the values they quote.
    kinds = {c.problems[0][1].split(" ")[0] + " " + c.problems[0][1].split(" ")[-1] for c in CASES}
    assert len(kinds) >= 18, sorted(kinds)


def test_clean_plan_has_no_problem(project: Path) -> None:
    assert _check(_write(project, CLEAN)) == []


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_check_plan_reports_the_problem(project: Path, case: Case) -> None:
    if case.setup is not None:
        case.setup(project)
    path = _write(project, case.text)
    problems = _check(path)
    got = [(p.line, p.message) for p in problems]
    want = [(line_of(case.text, where), message) for where, message in case.problems]
    assert len(got) == len(want), got
    for (line, message), (want_line, want_start) in zip(got, want, strict=True):
        assert line == want_line, got
        assert message.startswith(want_start), got
    assert case.hint in problems[0].hint
    assert all(p.path == path and p.hint for p in problems)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_orchestrate_check_exits_2_with_file_line_message(project: Path, case: Case) -> None:
    if case.setup is not None:
        case.setup(project)
    path = _write(project, case.text)
    before = _snapshot(project.parent)
    result = _orchestrate_check(path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    for where, message in case.problems:
        head = f"{path}:{line_of(case.text, where)}: {message}"
        assert any(line.startswith(head) for line in lines), result.stderr
    first = next(i for i, line in enumerate(lines) if line.startswith(f"{path}:"))
    assert lines[first + 1].startswith("  hint: ")
    assert case.hint in lines[first + 1]
    assert lines[-1] == f"{path}: {len(case.problems)} problem(s)"
    assert result.stdout == ""
    # A broken plan makes `orchestrate check` write nothing, anywhere in the tree.
    assert _snapshot(project.parent) == before


SEVERAL = build(
    cr=None,
    p1=p1_rows(
        "| 1 | Idempotency | idempotency.md | haiku | complete |",
        "| 2 | Quorum | /abs/quorum.md | haiku | done |",
        "| 2 | Backpressure | backpressure.md | gpt-9 | pending |",
    ),
    p2="## Phase 2\n\nNothing yet.\n",
    extra="## Phase 1\n" + T.replace("Status", "State") + "| 5 | X | x.md | haiku | pending |\n",
)


def test_several_problems_reported_at_once_in_line_order(project: Path) -> None:
    path = _write(project, SEVERAL)
    want = [
        (1, "missing required section: Content Rules"),
        (line_of(SEVERAL, "/abs/quorum.md"), "unknown Status 'done'"),
        (line_of(SEVERAL, "/abs/quorum.md"), "Filename /abs/quorum.md is absolute"),
        (line_of(SEVERAL, "gpt-9"), f"duplicate # 2 (first at line {line_of(SEVERAL, '/abs/')})"),
        (line_of(SEVERAL, "gpt-9"), "model 'gpt-9' has no entry in the model table"),
        (line_of(SEVERAL, "## Phase 2"), "Phase 2 has no table"),
        (line_of(SEVERAL, "| State |") - 1, "duplicate Phase 1 (first at line 12)"),
        (line_of(SEVERAL, "| State |"), "Phase 1 table has no 'Status' column"),
    ]
    problems = _check(path)
    got = [(p.line, p.message) for p in problems]
    assert len(got) == len(want), got
    for (line, message), (want_line, want_start) in zip(got, want, strict=True):
        assert (line, message[: len(want_start)]) == (want_line, want_start), got
    assert [p.line for p in problems] == sorted(p.line or 0 for p in problems)

    result = _orchestrate_check(path)
    assert result.returncode == 2
    heads = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    # every problem line, in order, then the count
    assert [h.split(": ", 1)[0] for h in heads[:-1]] == [f"{path}:{line}" for line, _ in want]
    assert heads[-1] == f"{path}: {len(want)} problem(s)"
    assert result.stderr.count("  hint: ") == len(want)


def _summary(path: Path) -> str:
    return (f"{path}: OK: 2 phase(s), 3 row(s) (1 complete, 2 pending), "
            "1 content rule(s), 1 checklist item(s)")


def test_clean_plan_exits_0_with_a_one_line_summary(project: Path) -> None:
    path = _write(project, CLEAN)
    before = _snapshot(project.parent)
    result = _orchestrate_check(path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    summary = [line for line in result.stdout.splitlines() if ": OK: " in line]
    assert summary == [_summary(path)]
    assert result.stdout.splitlines()[-1] == _summary(path)
    assert _snapshot(project.parent) == before



def test_clean_plan_with_unchecked_rules_still_prints_one_stdout_line(project: Path) -> None:
    """Lines the validators cannot check are notes on stderr; stdout is the one summary line."""
    text = build(cr="## Content Rules\n- Every output needs front matter: term, category, tags\n- Be witty\n")
    path = _write(project, text)
    result = _orchestrate_check(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1
    assert result.stdout.startswith(f"{path}: OK: ")
    assert "1 line(s) not machine-checked" in result.stdout
    assert f"note: {path}:{line_of(text, 'Be witty')}: not machine-checked: Be witty" in result.stderr

EXOTIC_CLEAN = """\
# plan

## FORMAT REFERENCE:
`format_refs/idempotency.md`

## output directory
[outputs](output)

## Content Rules
- Every output needs front matter:
  term, category, tags

## validation checklist
1) Front matter includes term, category, and at least 2 tags

### Phase 1 — singles
Prose right above the table.
ID | Title | Filename | Model | Status | Notes
:-:|:--|--:|:-:|---|---
1 | Idempotency \\| retries | idempotency.md | Haiku | Complete | a \\\\| b
2|C:\\\\ |`quorum.md`|claude-haiku-5-5|PENDING|

## Phase 2: Synthesis
|   #  | Status  | Filename       | Model  | Title           |
|-----:|:-------:|:---------------|:-------|:----------------|
|   3  | skipped | cap-theorem.md | sonnet | CAP (synthesis) |
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_exotic_but_valid_plan_is_clean(project: Path, newline: str) -> None:
    """Every accepted form at once: no false positive, from the checker or the command."""
    path = _write(project, EXOTIC_CLEAN, newline=newline, bom=True)
    assert _check(path) == []
    plan = read_plan(path)
    assert [(r.id, r.title, r.filename, r.model, r.status) for r in plan.rows()] == [
        ("1", "Idempotency | retries", "idempotency.md", "Haiku", "complete"),
        ("2", "C:\\\\", "quorum.md", "claude-haiku-5-5", "pending"),
        ("3", "CAP (synthesis)", "cap-theorem.md", "sonnet", "skipped"),
    ]
    result = _orchestrate_check(path)
    assert result.returncode == 0, result.stderr
    assert f"{path}: OK: 2 phase(s), 3 row(s) (1 complete, 1 pending, 1 skipped)" in result.stdout


def test_cr_only_line_endings_are_checked_like_lf(project: Path) -> None:
    """The parser reads classic-Mac CR line ends; the row checks must see the same lines."""
    text = build(p1=p1_rows(ROW2, "| 4 | Fencing | fencing.md | haiku | pending | x |"),
                 extra=BACKLOG)
    lf = [(p.line, p.message) for p in _check(_write(project, text))]
    assert [line for line, _ in lf] == [line_of(text, "| x |"), line_of(text, "| No | Title |")]
    cr = [(p.line, p.message) for p in _check(_write(project, text, newline="\r"))]
    assert cr == lf


def test_duplicate_header_names_do_not_fake_an_extra_cell(project: Path) -> None:
    """A table may repeat an extra column's name; its rows are as wide as its header."""
    text = build(p1="## Phase 1\n| # | Title | Filename | Model | Status | Note | Note |\n"
                 "|---|---|---|---|---|---|---|\n"
                 "| 2 | Quorum | quorum.md | haiku | pending | a | b |\n")
    assert [(p.line, p.message) for p in _check(_write(project, text))] == []


def test_same_output_file_written_two_ways_is_a_duplicate(project: Path) -> None:
    """`./quorum.md` and `quorum.md` are one output file: two rows would overwrite each other."""
    text = build(p2="## Phase 2\n" + T + "| 3 | CAP Theorem | ./quorum.md | sonnet | pending |\n")
    problems = [(p.line, p.message) for p in _check(_write(project, text))]
    assert problems == [
        (line_of(text, "./quorum.md"), "duplicate Filename ./quorum.md (first at line 19)"),
    ]


def test_check_json_lists_the_same_problems(project: Path) -> None:
    import json

    case = next(c for c in CASES if c.name == "unknown-status")
    path = _write(project, case.text)
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator", "check", "--json", str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert [(p["line"], p["message"]) for p in payload["problems"]] == [
        (line_of(case.text, "| done |"), "unknown Status 'done'")
    ]


def test_missing_plan_file_exits_2(tmp_path: Path) -> None:
    result = _orchestrate_check(tmp_path / "nope.md")
    assert result.returncode == 2
    assert "plan file not found" in result.stderr
    assert "hint: " in result.stderr
    assert list(tmp_path.iterdir()) == []
